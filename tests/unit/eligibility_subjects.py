"""Fully eligible example subjects for the four seed studies, and small edits that break one criterion.

The studies' own YAML files are loaded, so the definitions and the engine are tested together.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from crf.rules.eligibility import Status
from crf.rules.expressions import SubjectData

STUDIES_DIR = Path(__file__).resolve().parents[2] / "edc" / "studies"
STUDY_FILES = {
    "T-REIRR": "t-reirr.yaml",
    "T-LRRT": "t-lrrt.yaml",
    "T-REFR": "t-refr.yaml",
    "T-RTV": "t-rtv.yaml",
}


@cache
def definition(study: str) -> dict:
    return yaml.safe_load((STUDIES_DIR / STUDY_FILES[study]).read_text(encoding="utf-8"))


def criteria_by_id(study: str) -> dict[str, dict]:
    return {c["id"]: c for c in definition(study)["eligibility"]}


@dataclass
class Subject:
    forms: dict[str, dict[str, Any]]
    rows: dict[str, list[dict[str, Any]]]
    context: dict[str, date]
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def data(self) -> SubjectData:
        return SubjectData(self.forms, self.rows, self.context, self.history)

    def copy(self) -> Subject:
        return copy.deepcopy(self)


Change = Callable[[Subject], None]


class Case(NamedTuple):
    criterion: str
    expected: Status
    why: str
    change: Change


def put(ref: str, value: Any) -> Change:
    """Set form.ITEM (None removes it)."""
    form, item = ref.split(".")

    def apply(subject: Subject) -> None:
        values = subject.forms.setdefault(form, {})
        if value is None:
            values.pop(item, None)
        else:
            values[item] = value

    return apply


def drop(ref: str) -> Change:
    return put(ref, None)


def set_rows(group: str, *rows: dict[str, Any]) -> Change:
    def apply(subject: Subject) -> None:
        subject.rows[group] = [dict(r) for r in rows]

    return apply


def add_row(group: str, row: dict[str, Any]) -> Change:
    def apply(subject: Subject) -> None:
        subject.rows.setdefault(group, []).append(dict(row))

    return apply


def forget(group: str) -> Change:
    """The form holding the group was never entered."""

    def apply(subject: Subject) -> None:
        subject.rows.pop(group, None)

    return apply


def forget_form(form: str) -> Change:
    """The form (and so its repeating groups) was never entered."""

    def apply(subject: Subject) -> None:
        subject.forms.pop(form, None)
        for group in [g for g in subject.rows if g.startswith(f"{form}.")]:
            del subject.rows[group]

    return apply


def context(name: str, value: date | None) -> Change:
    def apply(subject: Subject) -> None:
        if value is None:
            subject.context.pop(name, None)
        else:
            subject.context[name] = value

    return apply


def both(*changes: Change) -> Change:
    def apply(subject: Subject) -> None:
        for change in changes:
            change(subject)

    return apply


def unchanged(subject: Subject) -> None:
    return None


def applied(subject: Subject, change: Change) -> Subject:
    out = subject.copy()
    change(out)
    return out


def as_stored(subject: Subject, definition: dict) -> Subject:
    """The subject as the CRF layer stores form data: numbers as decimal strings, dates as ISO text."""
    types: dict[str, str] = {}
    for form in definition["forms"]:
        for item in form.get("items", []) + [i for g in form.get("groups", []) for i in g["items"]]:
            types[f"{form['code']}.{item['code']}"] = item["type"]

    def store(form: str, values: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for code, value in values.items():
            kind = types.get(f"{form}.{code}")
            if kind in ("integer", "decimal") and value is not None:
                value = str(value)
            elif isinstance(value, date):
                value = value.isoformat()
            out[code] = value
        return out

    return Subject(
        forms={form: store(form, values) for form, values in subject.forms.items()},
        rows={
            group: [store(group.split(".")[0], row) for row in rows]
            for group, rows in subject.rows.items()
        },
        context=dict(subject.context),
        history=subject.history,
    )


# ---- golden subjects ------------------------------------------------------------------------------

NO_HISTORY = {
    "MIHX": "N",
    "UNSTANG": "N",
    "NYHA": 0,
    "ARRHY": "N",
    "UNCHTN": "N",
    "CHDGR": 0,
    "HF": "N",
    "ILD": "N",
    "NIPNEU": "N",
    "PNEUGR": 0,
    "ACTTB": "N",
    "TBSCRN": "NEGATIVE",
    "TBTXHX": "N",
    "SURGHX": "N",
    "WOUND": "N",
}


def _labs(day: date) -> dict[str, Any]:
    return {
        "LBHEMDT": day,
        "HGB": 128,
        "HGBLLN": 130,
        "ANC": 3.2,
        "ANCLLN": 1.8,
        "PLT": 210,
        "PLTLLN": 125,
        "LBCHMDT": day,
        "CREAT": 80,
        "CREATULN": 104,
        "TBIL": 12.0,
        "TBILULN": 21.0,
        "AST": 25,
        "ASTULN": 40,
        "ALT": 30,
        "ALTULN": 40,
        "LBCOADT": day,
        "PT": 12.1,
        "PTULN": 13.5,
        "INR": 1.0,
        "INRULN": 1.2,
        "APTT": 31.0,
        "APTTULN": 40.0,
        "ANTICOAG": "N",
    }


def _common_forms(consent_day: date, lab_day: date) -> dict[str, dict[str, Any]]:
    return {
        "consent": {"ICDAT": consent_day, "ICVER": "1.0", "ICSIGN": "Y", "SCRPRDAT": consent_day},
        "dm": {"BRTHDAT": date(1970, 6, 15), "SEX": "M"},
        "lb": _labs(lab_day),
        "vir": {"VIRDAT": lab_day, "HBSAG": "NEG", "ANTIHCV": "NEG", "HIV": "NEG"},
        "vs": {
            "VSDAT": lab_day,
            "WEIGHT": 62.0,
            "SYSBP": 126,
            "DIABP": 78,
            "ANTIHTN": "N",
            "ECOG": 1,
        },
        "eg": {"EGDAT": lab_day, "QT": 400, "EGHR": 70, "EGINTP": "NORMAL"},
        "preg": {"WOCBP": "N", "BRSTFEED": "NA", "PREGPLAN": "NA"},
        "cm": {"CMANY": "N"},
    }


def _induction_cycles(first: date, n: int = 6) -> list[dict[str, Any]]:
    return [
        {
            "INDCYC": i + 1,
            "INDDAT": date.fromordinal(first.toordinal() + 21 * i),
            "PD1GIVEN": "Y",
            "PD1AGT": "TORIPALIMAB",
            "PD1DOSE": 240,
            "CHEMGIVN": "Y",
            "INDACT": "GIVEN",
        }
        for i in range(n)
    ]


def _target(site: str, ld: float, node: bool = False) -> dict[str, Any]:
    row = {
        "TULNKID": f"T-{site}",
        "TUCLASS": "TARGET",
        "TUSITE": site,
        "TULOC": site,
        "TUNODE": "Y" if node else "N",
    }
    row["TRSA" if node else "TRLD"] = ld
    return row


def t_reirr() -> Subject:
    """Recurrent rT3N1M0, six induction cycles, PR; evaluated at the randomization attempt."""
    forms = _common_forms(date(2026, 3, 2), date(2026, 3, 5))
    forms |= {
        "dx": {
            "DXDAT": "2019-04",
            "DXHIST": "WHO3",
            "DXHISSRC": "HISTOLOGY",
            "DXSTAT": "RECURRENT",
            "DISTMET": "N",
            "RECSITE": "LOCAL_REGIONAL",
            "RECDXDAT": date(2026, 2, 20),
            "RADENDAT": date(2019, 9, 30),
        },
        "stg": {
            "STEDIT": 8,
            "STCTX": "RECURRENT",
            "TSTAGE": "T3",
            "NSTAGE": "N1",
            "MSTAGE": "M0",
            "NDISTLES": 0,
        },
        "mh": NO_HISTORY | {"MHLTANY": "Y", "MHAIANY": "Y", "MHMALANY": "Y"},
        "prior": {"PTANY": "Y"},
        "elig": {
            "IEUNRES": "Y",
            "IELIFE": "Y",
            "IENOCI": "Y",
            "IECOAGRG": "NA",
            "IEAUTOIM": "Y",
            "IETB": "Y",
            "IECVD": "Y",
            "IEHYPER": "Y",
            "IEINVJ": "Y",
        },
        "indresp": {"INDRSDAT": date(2026, 7, 14), "INDORES": "PR", "INDINVR": "PR"},
        "tu_bl": {"TUDAT": date(2026, 3, 3), "TUMETH": ["MRI", "CT"], "TUEPIS": 1},
    }
    rows = {
        # Grade 3 skin toxicity is one of the allowed exceptions of R-EX1.
        "mh.latetox": [
            {"LTTERM": "Dry mouth", "LTCAT": "XEROSTOMIA", "LTGRADE": 2},
            {"LTTERM": "Skin induration", "LTCAT": "SKIN", "LTGRADE": 3},
        ],
        "mh.autoimm": [
            {
                "AITERM": "Hashimoto thyroiditis",
                "AITYPE": "HYPOTHY_STABLE",
                "AIACTIVE": "Y",
                "AISYSTX": "N",
            }
        ],
        "mh.malig": [
            {
                "MALTERM": "Basal cell carcinoma, nose",
                "MALTYPE": "BCC",
                "MALDXDAT": "2023-05",
                "MALTRT": "Y",
            }
        ],
        "prior.tx": [
            {
                "PTTYPE": "RT",
                "PTSETTG": "INITIAL",
                "PTRTNP": "Y",
                "PTRTDOSE": 70,
                "PTSTDAT": "2019-08",
                "PTENDAT": date(2019, 9, 30),
                "PTPROTI": "N",
            },
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "INITIAL",
                "PTDRUG": ["CISPLATIN"],
                "PTPLDBL": "N",
                "PTSTDAT": "2019-08",
                "PTENDAT": "2019-09",
                "PTPROTI": "N",
            },
            # The protocol's own induction, recorded in the log: exempt from the prior-therapy rules.
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "RECURRENT",
                "PTDRUG": ["GEMCITABINE", "CISPLATIN", "ANTI_PD1"],
                "PTPLDBL": "Y",
                "PTSTDAT": date(2026, 3, 12),
                "PTPROTI": "Y",
            },
        ],
        "cm.meds": [],
        "ind": _induction_cycles(date(2026, 3, 12)),
        "tu_bl.lesions": [_target("NP", 32.0), _target("CN", 18.0, node=True)],
    }
    ctx = {
        "consent_date": date(2026, 3, 2),
        "registration_date": date(2026, 3, 9),
        "enrol_date": date(2026, 3, 9),
        "first_dose_date": date(2026, 3, 12),
        "randomization_date": date(2026, 7, 27),
    }
    return Subject(forms, rows, ctx)


def t_lrrt() -> Subject:
    """De novo metastatic (9th edition M1a), no prior therapy, six induction cycles, CR."""
    forms = _common_forms(date(2026, 3, 2), date(2026, 3, 5))
    forms |= {
        "dx": {
            "DXDAT": date(2026, 2, 10),
            "DXHIST": "WHO2",
            "DXHISSRC": "HISTOLOGY",
            "DXSTAT": "DENOVO_M1",
            "DISTMET": "Y",
            "METBX": "Y",
        },
        "stg": {
            "STEDIT": 9,
            "STCTX": "INITIAL",
            "TSTAGE": "T3",
            "NSTAGE": "N2",
            "MSTAGE": "M1A",
            "NDISTLES": 2,
        },
        "mh": NO_HISTORY | {"MHLTANY": "N", "MHAIANY": "N", "MHMALANY": "N"},
        "prior": {"PTANY": "Y"},
        "elig": {
            "IELIFE": "Y",
            "IECOAGRG": "NA",
            "IEAUTOIM": "Y",
            "IETB": "Y",
            "IECVD": "Y",
            "IEHYPER": "Y",
            "IEINVJ": "Y",
        },
        "indresp": {"INDRSDAT": date(2026, 7, 14), "INDORES": "CR", "INDINVR": "CR"},
        "tu_bl": {"TUDAT": date(2026, 3, 3), "TUMETH": ["MRI", "CT"], "TUEPIS": 1},
    }
    rows = {
        "mh.latetox": [],
        "mh.autoimm": [],
        "mh.malig": [],
        "cm.meds": [],
        "prior.tx": [
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "METASTATIC",
                "PTDRUG": ["GEMCITABINE", "CISPLATIN", "ANTI_PD1"],
                "PTPLDBL": "Y",
                "PTSTDAT": date(2026, 3, 12),
                "PTPROTI": "Y",
            }
        ],
        "ind": _induction_cycles(date(2026, 3, 12)),
        "tu_bl.lesions": [_target("NP", 41.0), _target("LUNG", 14.0), _target("BONE", 22.0)],
    }
    ctx = {
        "consent_date": date(2026, 3, 2),
        "registration_date": date(2026, 3, 9),
        "enrol_date": date(2026, 3, 9),
        "first_dose_date": date(2026, 3, 12),
        "randomization_date": date(2026, 7, 27),
    }
    return Subject(forms, rows, ctx)


def t_refr() -> Subject:
    """Metastatic after radical CCRT, progressed on first-line GP + toripalimab; docetaxel planned."""
    forms = _common_forms(date(2026, 3, 2), date(2026, 3, 10))
    forms |= {
        "dx": {
            "DXDAT": "2018-05",
            "DXHIST": "WHO3",
            "DXHISSRC": "HISTOLOGY",
            "DXSTAT": "METASTATIC",
            "DISTMET": "Y",
            "ENDODAT": date(2026, 3, 4),
            "ENDONEC": "N",
            "ICAINV": "N",
        },
        "stg": {
            "STEDIT": 8,
            "STCTX": "RECURRENT",
            "TSTAGE": "T3",
            "NSTAGE": "N0",
            "MSTAGE": "M1",
            "NDISTLES": 3,
        },
        "mh": NO_HISTORY
        | {
            "MHLTANY": "N",
            "MHAIANY": "N",
            "MHMALANY": "N",
            "DEMENT": "N",
            "SEIZURE": "N",
            "ACTBLEED": "N",
            "ULCER": "N",
            "PERFOR": "N",
            "MHBLANY": "N",
        },
        "prior": {"PTANY": "Y"},
        "elig": {
            "IELIFE12": "Y",
            "IECOAGRG": "NA",
            "IENORAD": "Y",
            "IEAUTOIM": "Y",
            "IEORAL": "Y",
            "IEIMSUP": "Y",
            "IEBLEED": "Y",
            "IEINVJ": "Y",
        },
        "rand": {"PLCHEMO": "DOCETAXEL"},
        "tu_bl": {"TUDAT": date(2026, 3, 6), "TUMETH": ["CT"], "TUEPIS": 1},
    }
    rows = {
        "mh.latetox": [],
        "mh.autoimm": [],
        "mh.malig": [],
        "mh.bleed": [],
        "cm.meds": [],
        "prior.tx": [
            {
                "PTTYPE": "RT",
                "PTSETTG": "INITIAL",
                "PTRTNP": "Y",
                "PTRTDOSE": 70,
                "PTSTDAT": "2018-06",
                "PTENDAT": "2018-08",
                "PTPROTI": "N",
            },
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "INITIAL",
                "PTDRUG": ["CISPLATIN"],
                "PTPLDBL": "N",
                "PTSTDAT": "2018-06",
                "PTENDAT": "2018-08",
                "PTPROTI": "N",
            },
            {
                "PTTYPE": "SYSTEMIC",
                "PTSETTG": "METASTATIC",
                "PTLINE": 1,
                "PTDRUG": ["GEMCITABINE", "CISPLATIN", "ANTI_PD1"],
                "PTPLDBL": "Y",
                "PTSTDAT": "2024-02",
                "PTENDAT": "2026-01",
                "PTBOR": "PR",
                "PTPROG": "Y",
                "PTPDDAT": "2026-01",
                "PTPROTI": "N",
            },
        ],
        "tu_bl.lesions": [_target("LIVER", 35.0), _target("LUNG", 15.0)],
    }
    ctx = {
        "consent_date": date(2026, 3, 2),
        "enrol_date": date(2026, 3, 20),
        "randomization_date": date(2026, 3, 20),
        "first_dose_date": date(2026, 3, 23),
    }
    return Subject(forms, rows, ctx)


def t_rtv() -> Subject:
    """De novo M1b after 6 cycles of GP + tislelizumab with PR; a woman of childbearing potential."""
    forms = _common_forms(date(2026, 3, 2), date(2026, 3, 10))
    forms |= {
        "dx": {
            "DXDAT": date(2025, 8, 20),
            "DXHIST": "WHO2",
            "DXHISSRC": "CYTOLOGY",
            "DXSTAT": "DENOVO_M1",
            "DISTMET": "Y",
        },
        "stg": {
            "STEDIT": 9,
            "STCTX": "INITIAL",
            "TSTAGE": "T2",
            "NSTAGE": "N3",
            "MSTAGE": "M1B",
            "NDISTLES": 5,
        },
        "mh": NO_HISTORY | {"MHLTANY": "N", "MHAIANY": "N", "MHMALANY": "N"},
        "fl": {
            "FLSTDAT": date(2025, 9, 1),
            "FLENDAT": date(2025, 12, 15),
            "FLPLDBL": "Y",
            "FLPLAT": "CISPLATIN",
            "FLPARTN": "GEMCITABINE",
            "FLPD1": "Y",
            "FLPD1AGT": "TISLELIZUMAB",
            "FLCYC": 6,
            "FLRESP": "PR",
            "FLRSDAT": date(2026, 1, 5),
        },
        "elig": {"IEWILL": "Y", "IEADEQFL": "Y", "IECONTR": "Y", "IEMALEC": "Y"},
        "tu_bl": {"TUDAT": date(2026, 3, 6), "TUMETH": ["MRI", "CT"], "TUEPIS": 1},
    }
    forms["dm"] = {"BRTHDAT": date(1984, 11, 3), "SEX": "F"}
    forms["preg"] = {
        "WOCBP": "Y",
        "PREGDAT": date(2026, 3, 16),
        "PREGTYP": "SERUM",
        "PREGRES": "NEG",
        "BRSTFEED": "N",
        "PREGPLAN": "N",
    }
    rows = {
        "mh.latetox": [],
        "mh.autoimm": [],
        "mh.malig": [],
        "cm.meds": [],
        "prior.tx": [],
        "tu_bl.lesions": [_target("NP", 16.0), _target("LIVER", 21.0)],
    }
    ctx = {
        "consent_date": date(2026, 3, 2),
        "enrol_date": date(2026, 3, 20),
        "randomization_date": date(2026, 3, 20),
        "first_dose_date": date(2026, 3, 23),
    }
    return Subject(forms, rows, ctx)


GOLDEN = {"T-REIRR": t_reirr, "T-LRRT": t_lrrt, "T-REFR": t_refr, "T-RTV": t_rtv}
