"""Demo CRF data for `make run`: screening forms, eligibility, tumour assessments and adverse
events for the demo subjects of every seed study, entered through the real services.

Called explicitly by edc.demo.services.seed_demo as `seed_demo_crf(demo_studies, today)`. It
adds nothing to a study that already has forms, so re-running the demo is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model

from crf import services
from crf.definitions import study_forms
from crf.models import FormInstance
from crf.sample_values import sample_form
from crf.study_forms import StudyForms
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects import services as subject_services
from edc.subjects.lifecycle import Status
from edc.subjects.models import Subject

log = logging.getLogger(__name__)

# Baseline lesions of the demo (spec §2.2 example B1): id, class, site, location, node, size mm.
LESIONS = [
    ("T1", "TARGET", "LIVER", "Liver segment 7", "N", "32"),
    ("T2", "TARGET", "LIVER", "Liver segment 4", "N", "25"),
    ("T3", "TARGET", "LUNG", "Right lower lobe", "N", "12"),
    ("T4", "TARGET", "CN", "Cervical level II", "Y", "22"),
    ("T5", "TARGET", "RPN", "Retropharyngeal", "Y", "16"),
    ("NT1", "NON_TARGET", "BONE", "T10 vertebra", "N", None),
]
# Follow-up sizes of T1-T5 (spec §2.11 scenario S-A, first two time points): both partial responses.
FOLLOW_UPS = [("20", "15", "8", "12", "9"), ("14", "10", "0", "9", "8")]


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _overrides(
    code: str, study_code: str, forms: StudyForms, on: dt.date, consent: dt.date
) -> dict:
    """Clinically coherent values for the forms the seed studies share."""
    metastatic = study_code in {"T-LRRT", "T-RTV"}
    edition = str(forms.definition.get("staging_edition", 9))
    values: dict[str, dict[str, Any]] = {
        "consent": {"ICDAT": _iso(consent), "ICVER": "1.0", "SCRPRDAT": _iso(consent)},
        "dm": {"BRTHDAT": _iso(consent.replace(year=consent.year - 52)), "ETHNIC": "Han"},
        "dx": {
            "DXDAT": _iso(consent.replace(year=consent.year - 3))[:7],
            "DXHIST": "WHO3",
            "DXHISSRC": "HISTOLOGY",
            "DXSTAT": {"T-LRRT": "DENOVO_M1", "T-RTV": "DENOVO_M1", "T-REFR": "REC_MET"}.get(
                study_code, "RECURRENT"
            ),
            "DISTMET": "Y" if metastatic or study_code == "T-REFR" else "N",
            "RECSITE": "LOCAL",
            "RECDXDAT": _iso(consent - dt.timedelta(days=20)),
            "RADENDAT": _iso(consent.replace(year=consent.year - 2)),
            "ENDONEC": "N",
            "ICAINV": "N",
        },
        "stg": {
            "STEDIT": edition,
            "STCTX": "RECURRENT" if study_code in {"T-REIRR", "T-REFR"} else "INITIAL",
            "TSTAGE": "T3",
            "NSTAGE": "N1",
            "MSTAGE": ("M1" if edition == "8" else "M1A")
            if metastatic or study_code == "T-REFR"
            else "M0",
            "NDISTLES": "2" if metastatic or study_code == "T-REFR" else "0",
            "ADVENE": "N",
            "NODEXT": "UNILATERAL_OR_RPN",
            "EBVNODE": "N",
            "STOVRRSN": None,
        },
        "mh": {"NYHA": "0", "CHDGR": "0", "PNEUGR": "0", "TBSCRN": "NEGATIVE"},
        "lb": {
            "HGB": "132",
            "HGBLLN": "115",
            "ANC": "4.10",
            "ANCLLN": "2.00",
            "PLT": "221",
            "PLTLLN": "125",
            "WBC": "6.40",
            "WBCLLN": "3.50",
            "LYM": "1.80",
            "LYMLLN": "1.10",
            "CREAT": "72",
            "CREATULN": "97",
            "CRCL": "96.0",
            "TBIL": "10.2",
            "TBILULN": "20.5",
            "AST": "24",
            "ASTULN": "40",
            "ALT": "22",
            "ALTULN": "40",
            "PT": "12.1",
            "PTULN": "13.5",
            "INR": "1.02",
            "INRULN": "1.20",
            "APTT": "31.0",
            "APTTULN": "40.0",
            "ANTICOAG": "N",
            "TSH": None,
            "TSHULN": None,
            "TSHLLN": None,
            "FT4": None,
            "FT4ULN": None,
            "FT4LLN": None,
            "LBTHYDT": None,
        },
        "vir": {
            "HBSAG": "NEG",
            "ANTIHCV": "NEG",
            "HIV": "NEG",
            "HBVDNA": None,
            "HBVDNAU": None,
            "HCVRNA": None,
        },
        "vs": {
            "HEIGHT": "168",
            "WEIGHT": "62.0",
            "SYSBP": "122",
            "DIABP": "78",
            "PULSE": "76",
            "ECOG": "1",
        },
        "eg": {"QT": "400", "EGHR": "70", "EGINTP": "NORMAL"},
        "preg": {
            "WOCBP": "N",
            "BRSTFEED": "NA",
            "PREGPLAN": "NA",
            "PREGDAT": None,
            "PREGTYP": None,
            "PREGRES": None,
        },
        "ebv": {"EBVDNA": "0", "EBVLLOQ": "500"},
        "elig": {"IECOAGRG": "NA"},
        "fl": {
            "FLSTDAT": _iso(consent - dt.timedelta(days=150)),
            "FLENDAT": _iso(consent - dt.timedelta(days=25)),
            "FLPLDBL": "Y",
            "FLPD1": "Y",
            "FLCYC": "6",
            "FLRESP": "PR",
            "FLRSDAT": _iso(consent - dt.timedelta(days=10)),
        },
    }
    return values.get(code, {})


class DemoEntry:
    """Saves demo forms of one subject as one site user; a refused form is logged, not fatal."""

    def __init__(self, subject: Subject, user, forms: StudyForms):
        self.subject = subject
        self.ctx = ChangeContext(user=user, channel="web", reason="CRF demo data")
        self.forms = forms

    def save(
        self,
        event: str,
        form_code: str,
        values: Mapping[str, Any],
        *,
        repeat: int = 1,
        form_repeat: int = 1,
        complete: bool = True,
    ) -> FormInstance | None:
        if form_code not in self.forms.forms or form_code not in self.forms.events.get(
            event, {}
        ).get("forms", []):
            return None
        current = FormInstance.objects.filter(
            subject=self.subject,
            event_code=event,
            event_repeat=repeat,
            form_code=form_code,
            form_repeat=form_repeat,
        ).first()
        try:
            return services.save_form(
                self.ctx,
                self.subject,
                event,
                repeat,
                form_code,
                form_repeat,
                values,
                row_version=current.row_version if current else 0,
                confirm_warnings=True,
                complete=complete,
            )
        except DomainError as exc:
            log.warning(
                "demo %s %s/%s: %s %s",
                self.subject.subject_id,
                event,
                form_code,
                exc.message,
                exc.details[:3],
            )
            return None

    def sample(
        self, event: str, code: str, on: dt.date, consent: dt.date, *, repeat: int = 1, **extra
    ) -> FormInstance | None:
        form = self.forms.forms.get(code)
        if form is None:
            return None
        known = {item["code"] for item in form.get("items", [])} | {
            g["code"] for g in form.get("groups", [])
        }
        overrides = {
            k: v
            for k, v in {
                **_overrides(code, self.subject.study.code, self.forms, on, consent),
                **extra,
            }.items()
            if k in known
        }
        return self.save(
            event, code, sample_form(form, self.forms.codelists, on, overrides), repeat=repeat
        )


def _lesion_rows(sizes: tuple[str, ...] | None, follow_up: bool) -> list[dict]:
    rows = []
    for index, (lid, cls, site, loc, node, size) in enumerate(LESIONS):
        row = {"TULNKID": lid, "TUCLASS": cls, "TUSITE": site, "TULOC": loc, "TUNODE": node}
        value = sizes[index] if sizes is not None and cls == "TARGET" else size
        if cls == "TARGET" and value is not None:
            row["TRSA" if node == "Y" else "TRLD"] = value
        if follow_up and cls == "NON_TARGET":
            row["TRNTSTAT"] = "PRESENT"
        rows.append(row)
    return rows


SCREENING = "SCREENING"


def _screening(
    entry: DemoEntry, consent: dt.date, today: dt.date, *, partial: bool = False
) -> None:
    event = SCREENING
    codes = entry.forms.events[event]["forms"]
    day = consent + dt.timedelta(days=1)
    # Labs must lie within 14 days before enrolment; without induction on study that is now.
    lab_day = day if entry_point(entry.forms) == "registration" else today - dt.timedelta(days=3)
    for code in codes:
        if code in {"tu_bl", "elig"}:
            continue
        if code == "lb":
            entry.sample(event, code, lab_day, consent)
        elif code == "prior" and entry.subject.study.code == "T-REFR":
            entry.sample(event, code, day, consent, PTANY="Y", tx=[_prior_line(consent)])
        else:
            entry.sample(event, code, day, consent)
        if partial and code == "dx":
            return
    entry.save(
        event,
        "tu_bl",
        {
            "TUDAT": _iso(day),
            "TUMETH": ["MRI", "CT"],
            "TUSLICE": "3.0",
            "TUEPIS": "1",
            "lesions": _lesion_rows(None, False),
        },
    )
    entry.sample(event, "elig", day, consent, IEDAT=_iso(day + dt.timedelta(days=1)))
    if entry.subject.study.code == "T-REFR":
        # The single-agent chemotherapy is chosen before randomization (F-EX3).
        _randomization_form(entry)


# Strata levels agreeing with the demo's staging (T3 N1, M1a), response (PR) and EBV DNA (0).
RAND_STRATA = {
    "T-REIRR": {"RNDRESP": "PR", "RNDRT": "T1_3", "RNDEBV": "UNDETECTABLE"},
    "T-LRRT": {"RNDRESP": "PR", "RNDMCAT": "M1A", "RNDEBV": "UNDETECTABLE"},
    "T-RTV": {"RNDRESP": "PR", "RNDMCAT": "M1A", "RNDNCAT": "N0_1"},
    "T-REFR": {"PLCHEMO": "DOCETAXEL"},
}


def _randomization_form(entry: DemoEntry) -> None:
    values = RAND_STRATA.get(entry.subject.study.code)
    if (
        values is None
        or FormInstance.objects.filter(
            subject=entry.subject, event_code="RANDOMIZATION", form_code="rand"
        ).exists()
    ):
        return
    entry.save("RANDOMIZATION", "rand", values)


def _prior_line(consent: dt.date) -> dict:
    """T-REFR enrols after progression on a platinum doublet with a PD-1 inhibitor."""
    return {
        "PTTYPE": "SYSTEMIC",
        "PTSETTG": "METASTATIC",
        "PTLINE": "1",
        "PTDRUG": ["CISPLATIN", "GEMCITABINE", "ANTI_PD1"],
        "PTPLDBL": "Y",
        "PTCYC": "6",
        "PTSTDAT": _iso(consent - dt.timedelta(days=300))[:7],
        "PTENDAT": _iso(consent - dt.timedelta(days=120))[:7],
        "PTBOR": "PR",
        "PTPROG": "Y",
        "PTPDDAT": _iso(consent - dt.timedelta(days=60))[:7],
        "PTPROTI": "N",
    }


def _confirm(entry: DemoEntry, investigator, point: str, password: str) -> None:
    try:
        services.confirm_eligibility(
            ChangeContext(user=investigator, channel="web"), entry.subject, point, password=password
        )
    except DomainError as exc:
        log.warning(
            "demo %s eligibility at %s not confirmed: %s",
            entry.subject.subject_id,
            point,
            exc.message,
        )


def _induction_and_response(entry: DemoEntry, first_dose: dt.date, today: dt.date) -> None:
    for cycle in range(2):
        day = first_dose + dt.timedelta(days=21 * cycle)
        if day <= today:
            entry.sample(
                "INDUCTION",
                "ind",
                day,
                day,
                INDCYC=str(cycle + 1),
                INDACT="GIVEN",
                PD1GIVEN="Y",
                CHEMGIVN="Y",
            )
    assessed = [today - dt.timedelta(days=12), today - dt.timedelta(days=1)]
    event = "INDUCTION_TA" if "INDUCTION_TA" in entry.forms.events else "UNSCHEDULED"
    for repeat, (sizes, day) in enumerate(zip(FOLLOW_UPS, assessed, strict=True), start=1):
        entry.save(
            event,
            "tu",
            {
                "TUDAT": _iso(day),
                "TUMETH": ["MRI", "CT"],
                "RSORRES": "PR",
                "RSCONF": "Y",
                "lesions": _lesion_rows(sizes, True),
            },
            repeat=repeat,
        )


def _adverse_events(entry: DemoEntry, first_dose: dt.date) -> None:
    event = next(
        (
            e
            for e in ("INDUCTION", "MAINT", "UNSCHEDULED")
            if "ae" in entry.forms.events.get(e, {}).get("forms", [])
        ),
        None,
    )
    if event is None:
        return
    form = entry.forms.forms["ae"]
    relations = {i["code"]: "POSSIBLE" for i in form["items"] if i["code"].startswith("AEREL")}
    base = {
        **relations,
        "AESER": "N",
        "AEIMMUNE": "N",
        "AETRT": ["SYMPTOMATIC"],
        "AEOUT": "RECOVERED",
    }
    events = [
        {
            "AETERM": "Hypothyroidism",
            "AECTCD": "10021114",
            "AEOTHSP": "N",
            "AETOXGR": "2",
            "AESTDAT": _iso(first_dose + dt.timedelta(days=14)),
            "AEONGO": "Y",
            "AEOUT": "NOT_RECOVERED",
            "AEIMMUNE": "Y",
            "AETRT": ["HORMONE"],
            "AETSH": "12.400",
        },
        {
            "AETERM": "Platelet count decreased",
            "AECTCD": "10035528",
            "AEOTHSP": "N",
            "AETOXGR": "1",
            "AESTDAT": _iso(first_dose + dt.timedelta(days=9)),
            "AEENDAT": _iso(first_dose + dt.timedelta(days=16)),
        },
        {
            "AETERM": "Pharyngeal necrosis",
            "AECTCD": "10065706",
            "AEOTHSP": "N",
            "AETOXGR": "3",
            "AESTDAT": _iso(first_dose + dt.timedelta(days=20)),
            "AEONGO": "Y",
            "AEOUT": "RECOVERING",
            "AESER": "Y",
            "AESHOSP": "Y",
            "AENECDAT": _iso(first_dose + dt.timedelta(days=20)),
            "AENECEXT": "MUCOSA",
            "AENECINF": "N",
            "AENECDEB": "Y",
            "AETRT": ["PROCEDURE"],
        },
    ]
    known = {i["code"] for i in form["items"]}
    for number, values in enumerate(events, start=1):
        merged = {k: v for k, v in {**base, **values}.items() if k in known}
        entry.save(event, "ae", merged, form_repeat=number)


def _full_induction(entry: DemoEntry, first_dose: dt.date) -> None:
    """Four q3w induction cycles and the post-induction assessment (partial response, EBV DNA
    undetectable): what register-before-induction studies need before randomization."""
    for cycle in range(4):
        day = first_dose + dt.timedelta(days=21 * cycle)
        entry.sample(
            "INDUCTION",
            "ind",
            day,
            day,
            repeat=cycle + 1,
            INDCYC=str(cycle + 1),
            INDDAT=_iso(day),
            INDACT="GIVEN",
            PD1GIVEN="Y",
            CHEMGIVN="Y",
        )
    scan = first_dose + dt.timedelta(days=21 * 3 + 21)
    entry.save(
        "INDUCTION_RESP",
        "tu",
        {
            "TUDAT": _iso(scan),
            "TUMETH": ["MRI", "CT"],
            "RSORRES": "PR",
            "RSCONF": "N",
            "lesions": _lesion_rows(FOLLOW_UPS[1], True),
        },
    )
    entry.sample("INDUCTION_RESP", "ebv", scan, scan)
    entry.sample("INDUCTION_RESP", "indresp", scan, scan, INDRSDAT=_iso(scan), INDINVR="PR")


# Days from consent to today of the subjects made ready for randomization: four induction
# cycles and the post-induction scan fit, and today lies in the randomization window.
READY_CONSENT_DAYS = 110


def ready_for_randomization(
    site, coordinator, investigator, password: str, today: dt.date
) -> Subject:
    """A new subject at `site`, screened, eligible, (for register-before-induction studies)
    registered and through induction with a partial response, eligibility confirmed at the
    randomization point and the randomization form filled: what the Randomize button needs."""
    consent = today - dt.timedelta(days=READY_CONSENT_DAYS)
    staff = ChangeContext(user=coordinator, channel="web", reason="CRF demo data")
    subject = subject_services.screen_subject(
        staff,
        site,
        consent_date=consent,
        icf_version="1.0",
        screening_date=consent + dt.timedelta(days=1),
    )
    forms = study_forms(subject.protocol_version_id)
    entry = DemoEntry(subject, coordinator, forms)
    _screening(entry, consent, today)
    point = entry_point(forms)
    _confirm(entry, investigator, point, password)
    system = ChangeContext.system(reason="seed_demo")
    subject_services.transition(
        system, subject, Status.REGISTERED, on_date=consent + dt.timedelta(days=7)
    )
    if point == "registration":
        subject_services.transition(
            system, subject, Status.INDUCTION, on_date=consent + dt.timedelta(days=8)
        )
        _full_induction(entry, consent + dt.timedelta(days=10))
    _randomization_form(entry)
    if point == "registration":
        _confirm(entry, investigator, "randomization", password)
    subject.refresh_from_db()
    return subject


def entry_point(forms: StudyForms) -> str:
    """Where eligibility is first decided: registration when induction is on study,
    randomization when subjects enrol after induction."""
    if forms.definition.get("enrolment_model") == "register_before_induction":
        return "registration"
    return "randomization"


def _ready_subjects(demo, point: str, site01_staff, password: str, today: dt.date) -> None:
    """New subjects ready for randomization, added to the demo's subject lists: two at site 02
    (at site 01 where the exports demo locks site 02) and, where induction is on study (the
    seed subjects are not through it yet), two at site 01, so every study shows randomized
    subjects and keeps one ready at site 01."""
    User = get_user_model()
    site02_staff = (
        User.objects.filter(username="coordinator2").first(),
        User.objects.filter(username="investigator2").first(),
    )
    from edc.exports.demo import DEMO_SITE, DEMO_STUDY

    # The exports demo locks that site, which open queries on these subjects' forms would block.
    elsewhere = demo.study.code == DEMO_STUDY and DEMO_SITE == "02"
    wanted = [("01", site01_staff)] * ((2 if point == "registration" else 0) + 2 * elsewhere)
    wanted += [("02", site02_staff)] * (0 if elsewhere else 2)
    for code, (coordinator, investigator) in wanted:
        site = demo.sites.get(code)
        if site is None or coordinator is None or investigator is None:
            continue
        subject = ready_for_randomization(site, coordinator, investigator, password, today)
        demo.subjects.setdefault(code, []).append(subject)


def seed_demo_crf(demo_studies, today: dt.date) -> None:
    """Fill the CRFs of the demo subjects made by seed_demo (site 01 of every study).

    Subject 1 (screening): the first screening forms, as a visit in progress. Subject 2
    (registered): every screening form, eligibility confirmed by the investigator. Subject 3:
    the same, plus induction cycles, two tumour assessments (partial responses, with their
    derivation) and three adverse events, one serious. Subject 4 (screen failure): an age
    outside 18-70, so the eligibility page shows the failing criterion. Subjects eligible at
    randomization get their randomization form; new subjects made ready for randomization
    (see _ready_subjects) are appended to the demo's lists for the randomization demo."""
    from edc.demo.services import DEMO_PASSWORD

    User = get_user_model()
    coordinator = User.objects.filter(username="coordinator").first()
    investigator = User.objects.filter(username="investigator").first()
    if coordinator is None or investigator is None:
        return
    for demo in demo_studies:
        subjects = demo.subjects.get("01") or []
        if len(subjects) < 4 or FormInstance.objects.filter(study=demo.study).exists():
            continue
        for subject in subjects:
            subject.refresh_from_db()
        screening, registered, further, failed = subjects[:4]
        forms = study_forms(screening.protocol_version_id)
        if SCREENING not in forms.events:
            continue  # not laid out like the seed studies (e.g. a test fixture): no demo forms
        consent = screening.consents.order_by("consent_date").first().consent_date
        _screening(DemoEntry(screening, coordinator, forms), consent, today, partial=True)
        point = entry_point(forms)
        for subject in (registered, further):
            entry = DemoEntry(subject, coordinator, forms)
            _screening(entry, consent, today)
            _confirm(entry, investigator, point, DEMO_PASSWORD)
        entry = DemoEntry(further, coordinator, forms)
        first_dose = consent + dt.timedelta(days=10)
        _induction_and_response(entry, first_dose, today)
        _adverse_events(entry, first_dose)
        if point == "randomization":
            for subject in (registered, further):
                _randomization_form(DemoEntry(subject, coordinator, forms))
        _ready_subjects(demo, point, (coordinator, investigator), DEMO_PASSWORD, today)
        entry = DemoEntry(failed, coordinator, forms)
        entry.sample(
            "SCREENING",
            "dm",
            consent + dt.timedelta(days=1),
            consent,
            BRTHDAT=_iso(consent.replace(year=consent.year - 75)),
        )
