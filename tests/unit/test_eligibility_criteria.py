"""Every eligibility criterion of the four seed studies, evaluated from the studies' own YAML files.

Each criterion has at least one satisfied case, one failing (or excluding / attested-no) case and one
missing-data case. Thresholds and dates come from the domain spec (§1.2-1.6), not from the implementation.
"""

from __future__ import annotations

from datetime import date

import pytest

from crf.rules.eligibility import (
    Status,
    evaluate,
    evaluate_criterion,
    item_labels,
    randomization_allowed,
)
from crf.rules.expressions import SubjectData
from tests.unit.eligibility_subjects import (
    GOLDEN,
    Case,
    add_row,
    applied,
    as_stored,
    both,
    criteria_by_id,
    definition,
    drop,
    forget,
    forget_form,
    put,
    set_rows,
    unchanged,
)

PASS, FAIL, MISSING = Status.PASS, Status.FAIL, Status.MISSING
YES, NO = Status.ATTESTED_YES, Status.ATTESTED_NO
SATISFIED = {PASS, YES}
UNSATISFIED = {FAIL, NO}


def attestation_cases(cid: str, ref: str) -> list[Case]:
    return [
        Case(cid, YES, "investigator says yes", unchanged),
        Case(cid, NO, "investigator says no", put(ref, "N")),
        Case(cid, MISSING, "not answered", drop(ref)),
    ]


def age_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "age 55", unchanged),
        Case(cid, PASS, "70th birthday on the consent date", put("dm.BRTHDAT", date(1956, 3, 2))),
        Case(cid, FAIL, "71 years", put("dm.BRTHDAT", date(1955, 3, 2))),
        Case(cid, FAIL, "17 years", put("dm.BRTHDAT", date(2008, 3, 3))),
        Case(cid, MISSING, "no date of birth", drop("dm.BRTHDAT")),
    ]


def ecog_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "ECOG 1", unchanged),
        Case(cid, PASS, "ECOG 0", put("vs.ECOG", 0)),
        Case(cid, FAIL, "ECOG 2", put("vs.ECOG", 2)),
        Case(cid, MISSING, "ECOG not recorded", drop("vs.ECOG")),
    ]


def organ_function_cases(cid: str, lab_day: date, liver_mets: bool = False) -> list[Case]:
    too_old = date.fromordinal(lab_day.toordinal() - 30)
    ast_fail = (
        Case(cid, FAIL, "AST 5.1 x ULN with liver metastases", put("lb.AST", 204))
        if liver_mets
        else Case(cid, FAIL, "AST 2.6 x ULN without liver metastases", put("lb.AST", 104))
    )
    return [
        Case(cid, PASS, "all labs normal", unchanged),
        Case(cid, FAIL, "ANC 1.49", put("lb.ANC", 1.49)),
        Case(cid, FAIL, "platelets 99", put("lb.PLT", 99)),
        Case(cid, FAIL, "creatinine 1.6 x ULN and no clearance given", put("lb.CREAT", 166.4)),
        Case(cid, FAIL, "bilirubin 1.52 x ULN", put("lb.TBIL", 32.0)),
        ast_fail,
        Case(
            cid,
            PASS,
            "creatinine 1.6 x ULN but reported CrCl 61 mL/min",
            both(put("lb.CREAT", 166.4), put("lb.CRCL", 61), put("lb.CRCLMETH", "MEASURED")),
        ),
        Case(cid, MISSING, "haemoglobin not measured", drop("lb.HGB")),
        Case(cid, MISSING, "haematology older than the 14-day window", put("lb.LBHEMDT", too_old)),
        Case(cid, MISSING, "bilirubin ULN not recorded", drop("lb.TBILULN")),
    ]


def coagulation_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "PT, INR and APTT normal", unchanged),
        Case(cid, PASS, "PT 1.6 x ULN but INR 1.25 x ULN (INR or PT)", put("lb.PT", 21.6)),
        Case(
            cid,
            FAIL,
            "PT and INR both above 1.5 x ULN",
            both(put("lb.PT", 21.6), put("lb.INR", 1.9)),
        ),
        Case(cid, FAIL, "APTT 1.6 x ULN", put("lb.APTT", 64.0)),
        Case(
            cid,
            PASS,
            "anticoagulated, values in therapeutic range per investigator",
            both(
                put("lb.INR", 2.6),
                put("lb.PT", 30.0),
                put("lb.ANTICOAG", "Y"),
                put("elig.IECOAGRG", "Y"),
            ),
        ),
        Case(
            cid,
            FAIL,
            "anticoagulated but range not confirmed",
            both(
                put("lb.INR", 2.6),
                put("lb.PT", 30.0),
                put("lb.ANTICOAG", "Y"),
                put("elig.IECOAGRG", "N"),
            ),
        ),
        Case(cid, MISSING, "APTT not measured", drop("lb.APTT")),
    ]


def malignancy_5y_cases(cid: str) -> list[Case]:
    # consent 2026-03-02: the 5-year limit is 2021-03-02 (strict ">").
    def other(dx):
        return add_row(
            "mh.malig",
            {"MALTERM": "Breast cancer", "MALTYPE": "OTHER", "MALDXDAT": dx, "MALTRT": "Y"},
        )

    return [
        Case(cid, PASS, "only a treated basal cell carcinoma", unchanged),
        Case(cid, PASS, "other cancer exactly 5 years before consent", other(date(2021, 3, 2))),
        Case(cid, PASS, "other cancer in 2020 (partial date)", other("2020")),
        Case(cid, FAIL, "other cancer one day inside 5 years", other(date(2021, 3, 3))),
        Case(
            cid,
            FAIL,
            "untreated basal cell carcinoma",
            add_row(
                "mh.malig",
                {"MALTERM": "BCC", "MALTYPE": "BCC", "MALDXDAT": "2025-01", "MALTRT": "N"},
            ),
        ),
        Case(
            cid,
            MISSING,
            "other cancer in March 2021 (partial date straddles the limit)",
            other("2021-03"),
        ),
        Case(cid, MISSING, "medical history never entered", forget_form("mh")),
        Case(
            cid,
            PASS,
            "medical history saved without malignancy rows",
            both(put("mh.MHMALANY", "N"), forget("mh.malig")),
        ),
    ]


def autoimmune_cases(cid: str) -> list[Case]:
    # consent 2026-03-02: systemic treatment on or after 2024-03-02 excludes.
    def disease(**row):
        return add_row("mh.autoimm", {"AITERM": "Lupus", "AITYPE": "OTHER", "AIACTIVE": "N"} | row)

    return [
        Case(cid, YES, "no disease or an allowed exception", unchanged),
        Case(
            cid,
            YES,
            "lupus treated systemically until 2023",
            disease(AISYSTX="Y", AISYSONG="N", AISYSDT="2023"),
        ),
        Case(
            cid,
            FAIL,
            "lupus treated until June 2024",
            disease(AISYSTX="Y", AISYSONG="N", AISYSDT="2024-06"),
        ),
        Case(cid, FAIL, "active lupus", disease(AIACTIVE="Y", AISYSTX="N")),
        Case(
            cid,
            YES,
            "active type 1 diabetes (allowed)",
            add_row(
                "mh.autoimm",
                {
                    "AITERM": "T1DM",
                    "AITYPE": "T1DM",
                    "AIACTIVE": "Y",
                    "AISYSTX": "Y",
                    "AISYSONG": "Y",
                },
            ),
        ),
        Case(cid, NO, "investigator does not confirm", put("elig.IEAUTOIM", "N")),
        Case(
            cid, MISSING, "last systemic treatment date unknown", disease(AISYSTX="Y", AISYSONG="N")
        ),
    ]


def tb_cases(cid: str) -> list[Case]:
    return [
        Case(cid, YES, "TB screen negative", unchanged),
        Case(cid, FAIL, "known active TB", put("mh.ACTTB", "Y")),
        Case(cid, FAIL, "suspected TB not excluded", put("mh.TBSCRN", "SUSPECT_NOT_EXCLUDED")),
        Case(cid, YES, "suspected TB excluded", put("mh.TBSCRN", "SUSPECT_EXCLUDED")),
        Case(cid, NO, "investigator does not confirm", put("elig.IETB", "N")),
        Case(cid, MISSING, "TB screen not recorded", drop("mh.TBSCRN")),
    ]


def hbv_cases(cid: str) -> list[Case]:
    def hbv(value, unit):
        return both(put("vir.HBSAG", "POS"), put("vir.HBVDNA", value), put("vir.HBVDNAU", unit))

    return [
        Case(cid, PASS, "HBsAg negative (no DNA needed)", unchanged),
        Case(cid, PASS, "HBsAg positive, 999 copies/mL", hbv(999, "COPIES_ML")),
        Case(cid, FAIL, "HBsAg positive, 1000 copies/mL", hbv(1000, "COPIES_ML")),
        Case(cid, FAIL, "HBsAg positive, 200 IU/mL = 1000 copies/mL", hbv(200, "IU_ML")),
        Case(cid, PASS, "HBsAg positive, 199 IU/mL = 995 copies/mL", hbv(199, "IU_ML")),
        Case(cid, MISSING, "HBsAg positive, DNA not measured", put("vir.HBSAG", "POS")),
    ]


def hcv_rna_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "anti-HCV negative", unchanged),
        Case(
            cid,
            PASS,
            "anti-HCV positive, RNA negative",
            both(put("vir.ANTIHCV", "POS"), put("vir.HCVRNA", "NEG")),
        ),
        Case(
            cid,
            FAIL,
            "anti-HCV positive, RNA positive",
            both(put("vir.ANTIHCV", "POS"), put("vir.HCVRNA", "POS")),
        ),
        Case(cid, MISSING, "anti-HCV positive, RNA not done", put("vir.ANTIHCV", "POS")),
    ]


def hiv_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "HIV negative", unchanged),
        Case(cid, FAIL, "HIV positive", put("vir.HIV", "POS")),
        Case(cid, MISSING, "HIV not tested", drop("vir.HIV")),
    ]


def cardiovascular_cases(cid: str) -> list[Case]:
    # consent 2026-03-02: a myocardial infarction on or after 2025-09-02 excludes.
    return [
        Case(cid, YES, "no cardiovascular disease", unchanged),
        Case(
            cid,
            FAIL,
            "MI exactly 6 months before consent",
            both(put("mh.MIHX", "Y"), put("mh.MIDAT", date(2025, 9, 2))),
        ),
        Case(
            cid,
            YES,
            "MI 6 months and 1 day before consent",
            both(put("mh.MIHX", "Y"), put("mh.MIDAT", date(2025, 9, 1))),
        ),
        Case(cid, FAIL, "heart failure NYHA II", put("mh.NYHA", 2)),
        Case(cid, FAIL, "unstable angina", put("mh.UNSTANG", "Y")),
        Case(cid, FAIL, "serious arrhythmia", put("mh.ARRHY", "Y")),
        Case(
            cid,
            FAIL,
            "SBP 141 despite antihypertensives",
            both(put("vs.ANTIHTN", "Y"), put("vs.SYSBP", 141)),
        ),
        Case(cid, YES, "SBP 141 without treatment", put("vs.SYSBP", 141)),
        Case(cid, NO, "investigator reports significant CVD", put("elig.IECVD", "N")),
        Case(cid, MISSING, "MI reported without a date", put("mh.MIHX", "Y")),
    ]


def pneumonitis_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "no lung disease", unchanged),
        Case(cid, PASS, "prior grade 1 pneumonitis", put("mh.PNEUGR", 1)),
        Case(cid, FAIL, "prior grade 2 pneumonitis", put("mh.PNEUGR", 2)),
        Case(cid, FAIL, "interstitial lung disease", put("mh.ILD", "Y")),
        Case(cid, FAIL, "non-infectious pneumonitis", put("mh.NIPNEU", "Y")),
        Case(cid, MISSING, "pneumonitis grade not recorded", drop("mh.PNEUGR")),
    ]


def surgery_cases(cid: str, enrol: date, days: int) -> list[Case]:
    def surgery(n):
        return both(
            put("mh.SURGHX", "Y"), put("mh.MAJSURDT", date.fromordinal(enrol.toordinal() - n))
        )

    return [
        Case(cid, PASS, "no surgery", unchanged),
        Case(cid, FAIL, f"major surgery {days} days before enrolment", surgery(days)),
        Case(cid, PASS, f"major surgery {days + 1} days before enrolment", surgery(days + 1)),
        Case(cid, FAIL, "unhealed wound", put("mh.WOUND", "Y")),
        Case(cid, MISSING, "surgery reported without a date", put("mh.SURGHX", "Y")),
    ]


def pregnancy_cases(cid: str, enrol: date, planning: bool) -> list[Case]:
    def woman(test_days_before, result):
        day = date.fromordinal(enrol.toordinal() - test_days_before)
        return both(
            put("dm.SEX", "F"),
            put("preg.WOCBP", "Y"),
            put("preg.PREGDAT", day),
            put("preg.PREGRES", result),
            put("preg.BRSTFEED", "N"),
            put("preg.PREGPLAN", "N"),
        )

    cases = [
        Case(cid, PASS, "man", unchanged),
        Case(cid, PASS, "negative test 7 days before enrolment", woman(7, "NEG")),
        Case(cid, FAIL, "positive test", woman(2, "POS")),
        Case(cid, FAIL, "breastfeeding", both(woman(2, "NEG"), put("preg.BRSTFEED", "Y"))),
        Case(cid, MISSING, "negative test 8 days before enrolment", woman(8, "NEG")),
        Case(cid, MISSING, "childbearing potential not recorded", drop("preg.WOCBP")),
    ]
    if planning:
        cases.append(
            Case(
                cid, FAIL, "planning a pregnancy", both(woman(2, "NEG"), put("preg.PREGPLAN", "Y"))
            )
        )
    return cases


def prior_io_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "PD-1 only within the protocol induction", unchanged),
        Case(
            cid,
            FAIL,
            "PD-1 inhibitor before the study",
            add_row(
                "prior.tx",
                {
                    "PTTYPE": "SYSTEMIC",
                    "PTSETTG": "INITIAL",
                    "PTDRUG": ["ANTI_PD1"],
                    "PTSTDAT": "2019-06",
                    "PTPROTI": "N",
                },
            ),
        ),
        Case(
            cid,
            FAIL,
            "CTLA-4 inhibitor before the study",
            add_row(
                "prior.tx",
                {
                    "PTTYPE": "SYSTEMIC",
                    "PTSETTG": "INITIAL",
                    "PTDRUG": ["ANTI_CTLA4"],
                    "PTSTDAT": "2019-06",
                    "PTPROTI": "N",
                },
            ),
        ),
        Case(
            cid,
            MISSING,
            "PD-1 course without the protocol-induction flag",
            add_row(
                "prior.tx",
                {
                    "PTTYPE": "SYSTEMIC",
                    "PTSETTG": "INITIAL",
                    "PTDRUG": ["ANTI_PD1"],
                    "PTSTDAT": "2019-06",
                },
            ),
        ),
    ]


def induction_response_cases(cid: str) -> list[Case]:
    def cycles(n):
        def apply(subject):
            subject.rows["ind"] = subject.rows["ind"][:n]

        return apply

    def chemo_skipped(subject):
        subject.rows["ind"][0]["CHEMGIVN"] = "N"

    def seventh(subject):
        subject.rows["ind"].append(dict(subject.rows["ind"][-1], INDCYC=7))

    return [
        Case(cid, PASS, "six cycles and a PR/CR", unchanged),
        Case(cid, PASS, "four full cycles", cycles(4)),
        Case(
            cid,
            FAIL,
            "three full cycles (one of four without chemotherapy)",
            both(cycles(4), chemo_skipped),
        ),
        Case(cid, FAIL, "seven cycles", seventh),
        Case(cid, FAIL, "stable disease after induction", put("indresp.INDORES", "SD")),
        Case(cid, MISSING, "response not yet calculated", drop("indresp.INDORES")),
        Case(cid, MISSING, "induction cycles never recorded", forget("ind")),
    ]


def measurable_cases(cid: str) -> list[Case]:
    return [
        Case(cid, PASS, "target lesions at baseline", unchanged),
        Case(
            cid,
            FAIL,
            "only non-target lesions",
            set_rows(
                "tu_bl.lesions",
                {
                    "TULNKID": "NT1",
                    "TUCLASS": "NON_TARGET",
                    "TUSITE": "BONE",
                    "TULOC": "T10",
                    "TUNODE": "N",
                },
            ),
        ),
        Case(cid, MISSING, "baseline tumour assessment not entered", forget_form("tu_bl")),
    ]


def qtc_cardiac_cases(cid: str) -> list[Case]:
    # QT 400 ms at 90/min: Fridericia 457.9 ms (Bazett would give 489.9 ms); QT 430 ms at 84/min: 481.0 ms.
    return [
        Case(cid, PASS, "QTcF 421 ms", unchanged),
        Case(cid, FAIL, "man with QTcF 457.9 ms", both(put("dm.SEX", "M"), put("eg.EGHR", 90))),
        Case(cid, PASS, "woman with QTcF 457.9 ms", both(put("dm.SEX", "F"), put("eg.EGHR", 90))),
        Case(
            cid,
            FAIL,
            "woman with QTcF 481.0 ms",
            both(put("dm.SEX", "F"), put("eg.QT", 430), put("eg.EGHR", 84)),
        ),
        Case(cid, FAIL, "coronary heart disease grade II", put("mh.CHDGR", 2)),
        Case(cid, PASS, "coronary heart disease grade I", put("mh.CHDGR", 1)),
        Case(cid, FAIL, "heart failure", put("mh.HF", "Y")),
        Case(cid, MISSING, "no ECG heart rate", drop("eg.EGHR")),
    ]


# ---- T-REIRR ------------------------------------------------------------------------------------

REIRR_ENROL = date(2026, 3, 9)

T_REIRR_CASES = [
    *age_cases("R-IN1"),
    Case("R-IN2a", PASS, "local and regional recurrence", unchanged),
    Case("R-IN2a", FAIL, "regional recurrence only", put("dx.RECSITE", "REGIONAL")),
    Case("R-IN2a", FAIL, "distant metastases", put("dx.DISTMET", "Y")),
    Case("R-IN2a", MISSING, "recurrence site not recorded", drop("dx.RECSITE")),
    Case(
        "R-IN2b",
        PASS,
        "recurrence one year and one day after radical treatment",
        put("dx.RECDXDAT", date(2020, 10, 1)),
    ),
    Case(
        "R-IN2b",
        FAIL,
        "recurrence exactly one year after (strict)",
        put("dx.RECDXDAT", date(2020, 9, 30)),
    ),
    Case(
        "R-IN2b",
        FAIL,
        "treatment ended 29 Feb 2024, recurrence 28 Feb 2025",
        both(put("dx.RADENDAT", date(2024, 2, 29)), put("dx.RECDXDAT", date(2025, 2, 28))),
    ),
    Case(
        "R-IN2b",
        PASS,
        "treatment ended 29 Feb 2024, recurrence 1 Mar 2025",
        both(put("dx.RADENDAT", date(2024, 2, 29)), put("dx.RECDXDAT", date(2025, 3, 1))),
    ),
    Case("R-IN2b", MISSING, "end of radical treatment unknown", drop("dx.RADENDAT")),
    *attestation_cases("R-IN2c", "elig.IEUNRES"),
    Case("R-IN3", PASS, "WHO III on histology", unchanged),
    Case("R-IN3", FAIL, "keratinizing carcinoma", put("dx.DXHIST", "KERATINIZING")),
    Case("R-IN3", FAIL, "cytology only", put("dx.DXHISSRC", "CYTOLOGY")),
    Case("R-IN3", MISSING, "histology not recorded", drop("dx.DXHIST")),
    *induction_response_cases("R-IN4"),
    *ecog_cases("R-IN5"),
    *attestation_cases("R-IN6", "elig.IELIFE"),
    Case("R-IN7", PASS, "only the protocol induction in the recurrent setting", unchanged),
    Case(
        "R-IN7",
        FAIL,
        "radiotherapy for the recurrence before the study",
        add_row(
            "prior.tx",
            {
                "PTTYPE": "RT",
                "PTSETTG": "RECURRENT",
                "PTRTNP": "Y",
                "PTSTDAT": "2026-01",
                "PTPROTI": "N",
            },
        ),
    ),
    Case(
        "R-IN7",
        PASS,
        "salvage surgery for the recurrence (only R-EX2 forbids surgery)",
        add_row(
            "prior.tx",
            {"PTTYPE": "SURGERY", "PTSETTG": "RECURRENT", "PTSTDAT": "2026-01", "PTPROTI": "N"},
        ),
    ),
    Case(
        "R-IN7",
        MISSING,
        "recurrent-setting chemotherapy without the protocol-induction flag",
        add_row(
            "prior.tx",
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "RECURRENT",
                "PTDRUG": ["GEMCITABINE"],
                "PTSTDAT": "2026-01",
            },
        ),
    ),
    *attestation_cases("R-IN8", "elig.IENOCI"),
    *organ_function_cases("R-IN9", date(2026, 3, 5)),
    *coagulation_cases("R-IN10"),
    Case("R-EX1", PASS, "grade 3 skin toxicity only (allowed)", unchanged),
    Case(
        "R-EX1",
        FAIL,
        "grade 3 temporal-lobe necrosis",
        add_row(
            "mh.latetox",
            {"LTTERM": "Central nervous system necrosis", "LTCAT": "CNS", "LTGRADE": 3},
        ),
    ),
    Case(
        "R-EX1",
        PASS,
        "grade 2 trismus",
        add_row("mh.latetox", {"LTTERM": "Trismus", "LTCAT": "TRISMUS", "LTGRADE": 2}),
    ),
    Case(
        "R-EX1",
        MISSING,
        "necrosis logged without a grade",
        add_row("mh.latetox", {"LTTERM": "Pharyngeal necrosis", "LTCAT": "NECROSIS"}),
    ),
    Case("R-EX2", PASS, "only the protocol induction", unchanged),
    Case(
        "R-EX2",
        FAIL,
        "salvage surgery for the recurrence",
        add_row(
            "prior.tx",
            {"PTTYPE": "SURGERY", "PTSETTG": "RECURRENT", "PTSTDAT": "2026-01", "PTPROTI": "N"},
        ),
    ),
    Case(
        "R-EX2",
        MISSING,
        "recurrent-setting therapy without the protocol-induction flag",
        add_row("prior.tx", {"PTTYPE": "SURGERY", "PTSETTG": "RECURRENT", "PTSTDAT": "2026-01"}),
    ),
    *prior_io_cases("R-EX3"),
    *malignancy_5y_cases("R-EX4"),
    *autoimmune_cases("R-EX5"),
    *tb_cases("R-EX6"),
    *hbv_cases("R-EX7"),
    *hcv_rna_cases("R-EX8"),
    *hiv_cases("R-EX9"),
    *cardiovascular_cases("R-EX10"),
    *pneumonitis_cases("R-EX11"),
    *surgery_cases("R-EX12", REIRR_ENROL, 28),
    *pregnancy_cases("R-EX13", REIRR_ENROL, planning=True),
    *attestation_cases("R-EX14", "elig.IEHYPER"),
    *attestation_cases("R-EX15", "elig.IEINVJ"),
]

# ---- T-LRRT -------------------------------------------------------------------------------------

T_LRRT_CASES = [
    *age_cases("L-IN1"),
    Case("L-IN2", PASS, "WHO II on a tissue biopsy with metastases on imaging", unchanged),
    Case("L-IN2", FAIL, "cytology only", put("dx.DXHISSRC", "CYTOLOGY")),
    Case("L-IN2", FAIL, "no metastases on imaging", put("dx.DISTMET", "N")),
    Case("L-IN2", MISSING, "histology source not recorded", drop("dx.DXHISSRC")),
    *ecog_cases("L-IN3"),
    Case("L-IN4", PASS, "9th edition M1a", unchanged),
    Case("L-IN4", PASS, "9th edition M1b", both(put("stg.MSTAGE", "M1B"), put("stg.NDISTLES", 5))),
    Case(
        "L-IN4",
        FAIL,
        "staged with the 8th edition",
        both(put("stg.STEDIT", 8), put("stg.MSTAGE", "M1")),
    ),
    Case("L-IN4", FAIL, "M0", put("stg.MSTAGE", "M0")),
    Case("L-IN4", MISSING, "M category not recorded", drop("stg.MSTAGE")),
    Case("L-IN5", PASS, "only the protocol induction", unchanged),
    Case(
        "L-IN5",
        FAIL,
        "palliative radiotherapy to a bone metastasis before the study",
        add_row(
            "prior.tx",
            {
                "PTTYPE": "RT",
                "PTSETTG": "METASTATIC",
                "PTRTNP": "N",
                "PTSTDAT": "2026-02",
                "PTPROTI": "N",
            },
        ),
    ),
    Case(
        "L-IN5",
        MISSING,
        "a therapy row without the protocol-induction flag",
        add_row("prior.tx", {"PTTYPE": "SURGERY", "PTSETTG": "METASTATIC", "PTSTDAT": "2026-02"}),
    ),
    *attestation_cases("L-IN6", "elig.IELIFE"),
    *measurable_cases("L-IN7"),
    *induction_response_cases("L-IN8"),
    *organ_function_cases("L-IN9", date(2026, 3, 5)),
    Case(
        "L-IN9",
        PASS,
        "AST 4.9 x ULN with a liver metastasis at baseline",
        both(
            put("lb.AST", 196),
            add_row(
                "tu_bl.lesions",
                {
                    "TULNKID": "L1",
                    "TUCLASS": "NON_TARGET",
                    "TUSITE": "LIVER",
                    "TULOC": "liver",
                    "TUNODE": "N",
                },
            ),
        ),
    ),
    Case(
        "L-IN9",
        FAIL,
        "AST 5.1 x ULN with a liver metastasis at baseline",
        both(
            put("lb.AST", 204),
            add_row(
                "tu_bl.lesions",
                {
                    "TULNKID": "L1",
                    "TUCLASS": "NON_TARGET",
                    "TUSITE": "LIVER",
                    "TULOC": "liver",
                    "TUNODE": "N",
                },
            ),
        ),
    ),
    *coagulation_cases("L-IN10"),
    *prior_io_cases("L-EX1"),
    *malignancy_5y_cases("L-EX2"),
    *autoimmune_cases("L-EX3"),
    *tb_cases("L-EX4"),
    *hbv_cases("L-EX5"),
    *hcv_rna_cases("L-EX6"),
    *hiv_cases("L-EX7"),
    *cardiovascular_cases("L-EX8"),
    *pneumonitis_cases("L-EX9"),
    *surgery_cases("L-EX10", REIRR_ENROL, 28),
    *pregnancy_cases("L-EX11", REIRR_ENROL, planning=True),
    *attestation_cases("L-EX12", "elig.IEHYPER"),
    *attestation_cases("L-EX13", "elig.IEINVJ"),
]

# ---- T-REFR -------------------------------------------------------------------------------------

REFR_ENROL = date(2026, 3, 20)


def rm_line(line, drugs, progressed="Y", doublet="N", start="2026-01"):
    return {
        "PTTYPE": "SYSTEMIC",
        "PTSETTG": "METASTATIC",
        "PTLINE": line,
        "PTDRUG": drugs,
        "PTPLDBL": doublet,
        "PTSTDAT": start,
        "PTPROG": progressed,
        "PTPROTI": "N",
    }


def np_rt(end):
    return {
        "PTTYPE": "RT",
        "PTSETTG": "RECURRENT",
        "PTRTNP": "Y",
        "PTSTDAT": "2025-01",
        "PTENDAT": end,
        "PTPROTI": "N",
    }


def bleed(kind, days_before, volume=None):
    row = {"BLTYPE": kind, "BLDAT": date.fromordinal(REFR_ENROL.toordinal() - days_before)}
    if volume is not None:
        row["BLVOL"] = volume
    return add_row("mh.bleed", row)


def steroid(dose, ongoing, end=None):
    row = {
        "CMTRT": "Prednisone",
        "CMCLASS": "STEROID_SYSTEMIC",
        "CMPREDEQ": dose,
        "CMSTDAT": "2025-12",
        "CMONGO": ongoing,
    }
    if end is not None:
        row["CMENDAT"] = end
    return add_row("cm.meds", row)


T_REFR_CASES = [
    *age_cases("F-IN1"),
    Case("F-IN2", PASS, "metastatic after radical treatment, 8th edition", unchanged),
    Case("F-IN2", PASS, "de novo metastatic", put("dx.DXSTAT", "DENOVO_M1")),
    Case("F-IN2", FAIL, "localised disease", put("dx.DXSTAT", "LOCALISED")),
    Case(
        "F-IN2",
        FAIL,
        "staged with the 9th edition",
        both(put("stg.STEDIT", 9), put("stg.MSTAGE", "M1A")),
    ),
    Case("F-IN2", FAIL, "keratinizing carcinoma", put("dx.DXHIST", "KERATINIZING")),
    Case("F-IN2", MISSING, "disease status not recorded", drop("dx.DXSTAT")),
    *ecog_cases("F-IN3"),
    Case("F-IN4", PASS, "progressed after first-line GP + PD-1", unchanged),
    Case(
        "F-IN4",
        FAIL,
        "no progression recorded after the doublet",
        set_rows(
            "prior.tx",
            rm_line(1, ["GEMCITABINE", "CISPLATIN", "ANTI_PD1"], progressed="N", doublet="Y"),
        ),
    ),
    Case(
        "F-IN4",
        MISSING,
        "progression status of the doublet line unknown",
        set_rows(
            "prior.tx",
            {**rm_line(1, ["GEMCITABINE", "CISPLATIN", "ANTI_PD1"], doublet="Y"), "PTPROG": None},
        ),
    ),
    Case("F-IN5", PASS, "progressed on a PD-1 inhibitor", unchanged),
    Case(
        "F-IN5",
        FAIL,
        "never received a PD-1 inhibitor",
        set_rows("prior.tx", rm_line(1, ["GEMCITABINE", "CISPLATIN"], doublet="Y")),
    ),
    Case(
        "F-IN5",
        MISSING,
        "PD-1 line without progression status",
        set_rows("prior.tx", {**rm_line(1, ["ANTI_PD1"]), "PTPROG": None}),
    ),
    Case("F-IN6", PASS, "one recurrent/metastatic line", unchanged),
    Case(
        "F-IN6",
        FAIL,
        "only curative-intent therapy",
        set_rows(
            "prior.tx",
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "INITIAL",
                "PTDRUG": ["CISPLATIN"],
                "PTSTDAT": "2018-06",
                "PTPROTI": "N",
            },
        ),
    ),
    Case("F-IN6", MISSING, "therapy log never entered", forget_form("prior")),
    *measurable_cases("F-IN7"),
    *organ_function_cases("F-IN8", date(2026, 3, 10), liver_mets=True),
    Case("F-IN8", PASS, "AST 4.9 x ULN with liver metastases", put("lb.AST", 196)),
    Case("F-IN8", FAIL, "APTT 1.6 x ULN (coagulation folded in)", put("lb.APTT", 64.0)),
    *attestation_cases("F-IN9", "elig.IELIFE12"),
    Case("F-IN10", PASS, "consent signed the day of the first procedure", unchanged),
    Case(
        "F-IN10",
        FAIL,
        "consent signed after the first procedure",
        put("consent.SCRPRDAT", date(2026, 3, 1)),
    ),
    Case("F-IN10", FAIL, "consent not signed by the subject", put("consent.ICSIGN", "N")),
    Case("F-IN10", MISSING, "consent date missing", drop("consent.ICDAT")),
    *attestation_cases("F-EX1", "elig.IENORAD"),
    Case("F-EX2", PASS, "two prior lines", add_row("prior.tx", rm_line(2, ["CAPECITABINE"]))),
    Case(
        "F-EX2",
        FAIL,
        "three prior lines",
        both(
            add_row("prior.tx", rm_line(2, ["CAPECITABINE"])),
            add_row("prior.tx", rm_line(3, ["PACLITAXEL"])),
        ),
    ),
    Case("F-EX2", MISSING, "therapy log never entered", forget_form("prior")),
    Case("F-EX3", PASS, "docetaxel planned, never given", unchanged),
    Case(
        "F-EX3",
        FAIL,
        "gemcitabine planned after a gemcitabine line",
        put("rand.PLCHEMO", "GEMCITABINE"),
    ),
    Case(
        "F-EX3",
        FAIL,
        "all three agents already given",
        both(
            add_row("prior.tx", rm_line(2, ["CAPECITABINE"])),
            add_row("prior.tx", rm_line(3, ["DOCETAXEL"])),
            put("rand.PLCHEMO", "CAPECITABINE"),
        ),
    ),
    Case(
        "F-EX3",
        MISSING,
        "planned agent not yet chosen (gemcitabine already given)",
        drop("rand.PLCHEMO"),
    ),
    Case("F-EX4", PASS, "no anti-angiogenic agent", unchanged),
    Case("F-EX4", FAIL, "prior anlotinib", add_row("prior.tx", rm_line(2, ["VEGFR_TKI"]))),
    Case(
        "F-EX4",
        FAIL,
        "prior endostatin",
        add_row("prior.tx", rm_line(2, ["ANTI_VEGF", "DOCETAXEL"])),
    ),
    Case("F-EX4", MISSING, "therapy log never entered", forget_form("prior")),
    Case("F-EX5", PASS, "no other malignancy", unchanged),
    Case(
        "F-EX5",
        FAIL,
        "basal cell carcinoma 10 years ago (no time limit, no exception)",
        put("mh.MHMALANY", "Y"),
    ),
    Case("F-EX5", MISSING, "question not answered", drop("mh.MHMALANY")),
    Case("F-EX6", PASS, "rT3, one nasopharyngeal course 8 years ago", unchanged),
    Case("F-EX6", FAIL, "necrosis on endoscopy", put("dx.ENDONEC", "Y")),
    Case(
        "F-EX6",
        FAIL,
        "rT3 with a second nasopharyngeal course",
        add_row("prior.tx", np_rt("2025-03")),
    ),
    Case(
        "F-EX6",
        FAIL,
        "rT4, one nasopharyngeal course ended 365 days before enrolment",
        both(put("stg.TSTAGE", "T4"), set_rows("prior.tx", np_rt(date(2025, 3, 20)))),
    ),
    Case(
        "F-EX6",
        PASS,
        "rT4, one nasopharyngeal course ended 366 days before enrolment",
        both(put("stg.TSTAGE", "T4"), set_rows("prior.tx", np_rt(date(2025, 3, 19)))),
    ),
    Case(
        "F-EX6",
        FAIL,
        "rT1 with two courses, the last within a year",
        both(put("stg.TSTAGE", "T1"), add_row("prior.tx", np_rt(date(2025, 6, 1)))),
    ),
    Case(
        "F-EX6",
        PASS,
        "rT1 with two courses, the last 366 days ago",
        both(put("stg.TSTAGE", "T1"), add_row("prior.tx", np_rt(date(2025, 3, 19)))),
    ),
    Case("F-EX6", MISSING, "endoscopy not recorded", drop("dx.ENDONEC")),
    Case("F-EX7", PASS, "no events", unchanged),
    Case(
        "F-EX7",
        FAIL,
        "31 mL haemorrhage 2 months ago",
        both(put("mh.MHBLANY", "Y"), bleed("HAEMORRHAGE", 60, 31)),
    ),
    Case(
        "F-EX7",
        PASS,
        "30 mL haemorrhage 2 months ago",
        both(put("mh.MHBLANY", "Y"), bleed("HAEMORRHAGE", 60, 30)),
    ),
    Case(
        "F-EX7",
        FAIL,
        "6 mL haemoptysis 28 days ago",
        both(put("mh.MHBLANY", "Y"), bleed("HAEMOPTYSIS", 28, 6)),
    ),
    Case(
        "F-EX7",
        PASS,
        "6 mL haemoptysis 29 days ago",
        both(put("mh.MHBLANY", "Y"), bleed("HAEMOPTYSIS", 29, 6)),
    ),
    Case(
        "F-EX7",
        FAIL,
        "TIA 11 months ago",
        both(put("mh.MHBLANY", "Y"), bleed("THROMBOEMBOLIC", 330)),
    ),
    Case(
        "F-EX7",
        MISSING,
        "recent haemorrhage of unknown volume",
        both(put("mh.MHBLANY", "Y"), bleed("HAEMORRHAGE", 10)),
    ),
    Case("F-EX8", PASS, "normal cardiac history", unchanged),
    Case(
        "F-EX8",
        FAIL,
        "DBP 91 despite antihypertensives",
        both(put("vs.ANTIHTN", "Y"), put("vs.DIABP", 91)),
    ),
    *qtc_cardiac_cases("F-EX8"),
    Case("F-EX9", YES, "no autoimmune disease", unchanged),
    Case(
        "F-EX9", FAIL, "any autoimmune history, even stable hypothyroidism", put("mh.MHAIANY", "Y")
    ),
    Case("F-EX9", FAIL, "seizure disorder", put("mh.SEIZURE", "Y")),
    Case("F-EX9", NO, "suspected autoimmune disease", put("elig.IEAUTOIM", "N")),
    Case("F-EX9", MISSING, "dementia question not answered", drop("mh.DEMENT")),
    *attestation_cases("F-EX10", "elig.IEORAL"),
    Case("F-EX11", PASS, "no corticosteroids", unchanged),
    Case("F-EX11", FAIL, "prednisone 15 mg/day ongoing", steroid(15, "Y")),
    Case("F-EX11", PASS, "prednisone 10 mg/day ongoing", steroid(10, "Y")),
    Case(
        "F-EX11",
        FAIL,
        "prednisone 20 mg/day stopped 28 days before enrolment",
        steroid(20, "N", date(2026, 2, 20)),
    ),
    Case(
        "F-EX11",
        PASS,
        "prednisone 20 mg/day stopped 29 days before enrolment",
        steroid(20, "N", date(2026, 2, 19)),
    ),
    Case("F-EX11", MISSING, "stopped steroid course without an end date", steroid(20, "N")),
    Case("F-EX12", YES, "no immunosuppression", unchanged),
    Case(
        "F-EX12",
        FAIL,
        "ongoing tacrolimus",
        add_row(
            "cm.meds",
            {
                "CMTRT": "Tacrolimus",
                "CMCLASS": "IMMUNOSUPPRESSANT",
                "CMSTDAT": "2024",
                "CMONGO": "Y",
            },
        ),
    ),
    Case(
        "F-EX12",
        NO,
        "investigator reports a condition needing immunosuppression",
        put("elig.IEIMSUP", "N"),
    ),
    Case(
        "F-EX12",
        MISSING,
        "ongoing systemic steroid without a dose",
        add_row(
            "cm.meds",
            {
                "CMTRT": "Prednisone",
                "CMCLASS": "STEROID_SYSTEMIC",
                "CMSTDAT": "2024",
                "CMONGO": "Y",
            },
        ),
    ),
    Case("F-EX13", PASS, "no tuberculosis", unchanged),
    Case(
        "F-EX13",
        FAIL,
        "anti-TB treatment ended exactly 1 year before consent",
        both(put("mh.TBTXHX", "Y"), put("mh.TBTXONG", "N"), put("mh.TBTXEND", date(2025, 3, 2))),
    ),
    Case(
        "F-EX13",
        PASS,
        "anti-TB treatment ended 1 year and 1 day before consent",
        both(put("mh.TBTXHX", "Y"), put("mh.TBTXONG", "N"), put("mh.TBTXEND", date(2025, 3, 1))),
    ),
    Case("F-EX13", FAIL, "active TB", put("mh.ACTTB", "Y")),
    Case(
        "F-EX13",
        MISSING,
        "anti-TB treatment without end date or ongoing flag",
        put("mh.TBTXHX", "Y"),
    ),
    Case("F-EX14", PASS, "all serology negative", unchanged),
    Case(
        "F-EX14",
        FAIL,
        "anti-HCV positive although RNA negative (stricter than T-REIRR)",
        both(put("vir.ANTIHCV", "POS"), put("vir.HCVRNA", "NEG")),
    ),
    Case("F-EX14", FAIL, "HIV positive", put("vir.HIV", "POS")),
    Case(
        "F-EX14",
        FAIL,
        "HBsAg positive, 250 IU/mL",
        both(put("vir.HBSAG", "POS"), put("vir.HBVDNA", 250), put("vir.HBVDNAU", "IU_ML")),
    ),
    Case("F-EX14", MISSING, "HBsAg positive, DNA not measured", put("vir.HBSAG", "POS")),
    Case("F-EX15", PASS, "no vaccine", unchanged),
    Case(
        "F-EX15",
        FAIL,
        "influenza vaccine 28 days before enrolment",
        add_row(
            "cm.meds",
            {
                "CMTRT": "Influenza vaccine",
                "CMCLASS": "VACCINE",
                "CMSTDAT": date(2026, 2, 20),
                "CMONGO": "N",
                "CMENDAT": date(2026, 2, 20),
            },
        ),
    ),
    Case(
        "F-EX15",
        PASS,
        "influenza vaccine 29 days before enrolment",
        add_row(
            "cm.meds",
            {
                "CMTRT": "Influenza vaccine",
                "CMCLASS": "VACCINE",
                "CMSTDAT": date(2026, 2, 19),
                "CMONGO": "N",
                "CMENDAT": date(2026, 2, 19),
            },
        ),
    ),
    Case(
        "F-EX15",
        MISSING,
        "vaccine given in February 2026 (day unknown)",
        add_row(
            "cm.meds",
            {
                "CMTRT": "Varicella vaccine",
                "CMCLASS": "VACCINE",
                "CMSTDAT": "2026-02",
                "CMONGO": "N",
                "CMENDAT": "2026-02",
            },
        ),
    ),
    *pregnancy_cases("F-EX16", REFR_ENROL, planning=False),
    Case(
        "F-EX16",
        PASS,
        "planning a pregnancy is not an exclusion here",
        both(
            put("dm.SEX", "F"),
            put("preg.WOCBP", "Y"),
            put("preg.PREGDAT", date(2026, 3, 18)),
            put("preg.PREGRES", "NEG"),
            put("preg.BRSTFEED", "N"),
            put("preg.PREGPLAN", "Y"),
        ),
    ),
    Case("F-EX17", YES, "no bleeding risk", unchanged),
    Case("F-EX17", FAIL, "tumour abuts the internal carotid artery", put("dx.ICAINV", "Y")),
    Case(
        "F-EX17",
        FAIL,
        "major surgery 30 days before enrolment",
        both(put("mh.SURGHX", "Y"), put("mh.MAJSURDT", date(2026, 2, 18))),
    ),
    Case(
        "F-EX17",
        YES,
        "major surgery 31 days before enrolment",
        both(put("mh.SURGHX", "Y"), put("mh.MAJSURDT", date(2026, 2, 17))),
    ),
    Case("F-EX17", FAIL, "active peptic ulcer", put("mh.ULCER", "Y")),
    Case("F-EX17", NO, "investigator judges the bleeding risk high", put("elig.IEBLEED", "N")),
    Case("F-EX17", MISSING, "active bleeding not recorded", drop("mh.ACTBLEED")),
    *attestation_cases("F-EX18", "elig.IEINVJ"),
]

# ---- T-RTV --------------------------------------------------------------------------------------

RTV_ENROL = date(2026, 3, 20)

T_RTV_CASES = [
    *age_cases("V-IN1"),
    Case("V-IN2", YES, "consent signed, willing to comply", unchanged),
    Case("V-IN2", FAIL, "consent dated after enrolment", put("consent.ICDAT", date(2026, 3, 21))),
    Case("V-IN2", NO, "not able to follow the schedule", put("elig.IEWILL", "N")),
    Case("V-IN2", MISSING, "consent date missing", drop("consent.ICDAT")),
    Case("V-IN3", YES, "six cycles GP + tislelizumab with PR, judged adequate", unchanged),
    Case("V-IN3", YES, "CR after four cycles", both(put("fl.FLCYC", 4), put("fl.FLRESP", "CR"))),
    Case("V-IN3", FAIL, "three cycles", put("fl.FLCYC", 3)),
    Case("V-IN3", FAIL, "stable disease", put("fl.FLRESP", "SD")),
    Case("V-IN3", FAIL, "no PD-1 antibody", put("fl.FLPD1", "N")),
    Case(
        "V-IN3", FAIL, "metastatic recurrence, not newly diagnosed", put("dx.DXSTAT", "METASTATIC")
    ),
    Case(
        "V-IN3", NO, "investigator does not judge the therapy adequate", put("elig.IEADEQFL", "N")
    ),
    Case("V-IN3", MISSING, "first-line response not recorded", drop("fl.FLRESP")),
    Case("V-IN4", PASS, "WHO II on cytology (allowed here)", unchanged),
    Case("V-IN4", FAIL, "no pathological confirmation", put("dx.DXHISSRC", "NONE")),
    Case("V-IN4", FAIL, "keratinizing", put("dx.DXHIST", "KERATINIZING")),
    Case("V-IN4", MISSING, "histology not recorded", drop("dx.DXHIST")),
    Case("V-IN5", PASS, "M1b, 9th edition", unchanged),
    Case(
        "V-IN5",
        PASS,
        "M1a (stage IVA in the 9th edition) also qualifies",
        both(put("stg.MSTAGE", "M1A"), put("stg.NDISTLES", 2)),
    ),
    Case("V-IN5", FAIL, "M0", put("stg.MSTAGE", "M0")),
    Case("V-IN5", FAIL, "8th edition M1", both(put("stg.STEDIT", 8), put("stg.MSTAGE", "M1"))),
    Case("V-IN5", MISSING, "edition not recorded", drop("stg.STEDIT")),
    *ecog_cases("V-IN6"),
    Case("V-IN7", YES, "negative serum test 4 days before enrolment", unchanged),
    Case(
        "V-IN7",
        YES,
        "not of childbearing potential, no test",
        both(put("preg.WOCBP", "N"), drop("preg.PREGDAT"), drop("preg.PREGRES")),
    ),
    Case(
        "V-IN7", YES, "negative test exactly 7 days before", put("preg.PREGDAT", date(2026, 3, 13))
    ),
    Case("V-IN7", FAIL, "positive test", put("preg.PREGRES", "POS")),
    Case("V-IN7", MISSING, "test 8 days before enrolment", put("preg.PREGDAT", date(2026, 3, 12))),
    Case("V-IN7", NO, "no agreement to contraception", put("elig.IECONTR", "N")),
    *attestation_cases("V-IN8", "elig.IEMALEC"),
    *qtc_cardiac_cases("V-EX1"),
    Case(
        "V-EX1",
        PASS,
        "uncontrolled blood pressure is not part of V-EX1",
        both(put("vs.ANTIHTN", "Y"), put("vs.SYSBP", 165)),
    ),
]

ALL_CASES = {
    "T-REIRR": T_REIRR_CASES,
    "T-LRRT": T_LRRT_CASES,
    "T-REFR": T_REFR_CASES,
    "T-RTV": T_RTV_CASES,
}


def _params():
    for study, cases in ALL_CASES.items():
        for case in cases:
            yield pytest.param(study, case, id=f"{study}:{case.criterion}:{case.why}")


@pytest.mark.parametrize(("study", "case"), list(_params()))
@pytest.mark.parametrize("storage", ["python", "stored"])
def test_criterion(study, case, storage):
    """Python values, and the CRF layer's stored form (decimal strings, ISO dates), read alike."""
    criterion = criteria_by_id(study)[case.criterion]
    subject = applied(GOLDEN[study](), case.change)
    if storage == "stored":
        subject = as_stored(subject, definition(study))
    result = evaluate_criterion(criterion, subject.data(), labels=item_labels(definition(study)))
    assert result.status == case.expected, result.reason
    assert result.reason


@pytest.mark.parametrize("study", ALL_CASES)
def test_every_criterion_has_a_satisfied_an_unsatisfied_and_a_missing_case(study):
    ids = set(criteria_by_id(study))
    statuses: dict[str, set[Status]] = {cid: set() for cid in ids}
    for case in ALL_CASES[study]:
        statuses[case.criterion].add(case.expected)
    for cid, seen in statuses.items():
        assert seen & SATISFIED, f"{cid} has no satisfied case"
        assert seen & UNSATISFIED, f"{cid} has no failing case"
        assert MISSING in seen, f"{cid} has no missing-data case"


@pytest.mark.parametrize("study", ALL_CASES)
def test_golden_subject_may_be_randomized(study):
    results = evaluate(definition(study)["eligibility"], GOLDEN[study]().data(), "randomization")
    allowed, blocking = randomization_allowed(results)
    assert allowed, blocking
    assert {r.id for r in results} == set(criteria_by_id(study))


def test_one_failing_criterion_blocks_randomization_and_is_named():
    subject = applied(GOLDEN["T-REIRR"](), put("lb.HGB", 89))
    results = evaluate(
        definition("T-REIRR")["eligibility"],
        subject.data(),
        "randomization",
        labels=item_labels(definition("T-REIRR")),
    )
    allowed, blocking = randomization_allowed(results)
    assert not allowed
    assert len(blocking) == 1
    assert blocking[0].startswith("R-IN9 fail")
    assert "Haemoglobin 89 g/L < 90 g/L" in blocking[0]


def test_missing_and_attested_no_also_block_randomization():
    subject = applied(GOLDEN["T-REFR"](), both(drop("vs.ECOG"), put("elig.IEORAL", "N")))
    allowed, blocking = randomization_allowed(
        evaluate(definition("T-REFR")["eligibility"], subject.data(), "randomization")
    )
    assert not allowed
    assert sorted(b.split(" ")[0] for b in blocking) == ["F-EX10", "F-IN3"]
    assert any("attested_no" in b for b in blocking) and any("missing" in b for b in blocking)


def test_registration_checks_only_registration_criteria_in_the_two_stage_design():
    results = evaluate(
        definition("T-REIRR")["eligibility"], GOLDEN["T-REIRR"]().data(), "registration"
    )
    ids = {r.id for r in results}
    assert {"R-IN4", "R-IN9", "R-IN10"}.isdisjoint(ids)
    assert {"R-IN1", "R-IN5", "R-EX15"} <= ids


def test_first_induction_dose_gate_checks_the_labs_only():
    results = evaluate(
        definition("T-LRRT")["eligibility"],
        GOLDEN["T-LRRT"]().data(),
        "first_dose",
        only_at_point=True,
    )
    assert {r.id for r in results} == {"L-IN9", "L-IN10"}


def test_hbv_conversion_near_the_threshold_asks_for_review():
    subject = applied(
        GOLDEN["T-REIRR"](),
        both(put("vir.HBSAG", "POS"), put("vir.HBVDNA", 199), put("vir.HBVDNAU", "IU_ML")),
    )
    result = evaluate_criterion(criteria_by_id("T-REIRR")["R-EX7"], subject.data())
    assert result.status == PASS
    assert result.review and "IU/mL" in result.review[0]
    far = applied(
        GOLDEN["T-REIRR"](),
        both(put("vir.HBSAG", "POS"), put("vir.HBVDNA", 20), put("vir.HBVDNAU", "IU_ML")),
    )
    assert evaluate_criterion(criteria_by_id("T-REIRR")["R-EX7"], far.data()).review == ()


@pytest.mark.parametrize(
    ("kind", "value", "answer", "expected"),
    [
        ("inclusion", 5, "N", FAIL),
        ("inclusion", None, "N", NO),
        ("inclusion", 1, None, MISSING),
        ("inclusion", 1, "Y", YES),
        ("exclusion", 1, "N", FAIL),
        ("exclusion", 5, "N", NO),
        ("exclusion", 5, "Y", YES),
        ("exclusion", None, "Y", MISSING),
    ],
)
def test_rule_and_attestation_precedence(kind, value, answer, expected):
    # Inclusion rule "X <= 2"; the exclusion rule "X <= 2" excludes when true.
    criterion = {
        "id": "T-IN1" if kind == "inclusion" else "T-EX1",
        "kind": kind,
        "text": "test",
        "evaluated_at": ["registration"],
        "type": "rule_and_attestation",
        "rule": {"cmp": [{"item": "f.X"}, "<=", 2]},
        "attestation": {"form": "elig", "item": "OK"},
    }
    forms = {
        "f": {} if value is None else {"X": value},
        "elig": {} if answer is None else {"OK": answer},
    }
    assert evaluate_criterion(criterion, SubjectData(forms=forms)).status == expected
