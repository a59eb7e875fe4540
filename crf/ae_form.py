"""Adverse event form rules that need the CTCAE term table or lab values (spec §3.2-§3.4).

Pure Python: no Django import. Items of an adverse event form (kind `adverse_event`): AETERM
the CTCAE term, AECTCD its MedDRA code, AEOTHSP whether it is a '<SOC> - Other, specify' term,
AEVERB the verbatim text, AETOXGR the grade, AESTDAT the onset, AESER serious, AERTPH the derived
radiation phase. Seriousness, outcome and date consistency are edit checks in the study file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crf.rules import units
from crf.rules.ctcae import GradeSuggestion, LabTerm, suggest_grade
from crf.validation import Issue, Severity
from edc.phrases import gettext_noop, phrase

# MedDRA codes of the CTCAE v5.0 terms graded from a lab value (spec §3.4).
LAB_TERM_BY_MEDDRA: dict[str, LabTerm] = {
    "10001551": LabTerm.ALT,
    "10003481": LabTerm.AST,
    "10005364": LabTerm.BILIRUBIN,
    "10011368": LabTerm.CREATININE,
    "10029366": LabTerm.NEUTROPHILS,
    "10035528": LabTerm.PLATELETS,
    "10049182": LabTerm.WBC,
    "10025256": LabTerm.LYMPHOCYTES,
    "10002272": LabTerm.HAEMOGLOBIN,
}
# Lab form item codes that hold each graded test.
LAB_ITEM_CODES: dict[LabTerm, tuple[str, ...]] = {
    LabTerm.ALT: ("ALT",),
    LabTerm.AST: ("AST",),
    LabTerm.BILIRUBIN: ("TBIL",),
    LabTerm.CREATININE: ("CREAT",),
    LabTerm.NEUTROPHILS: ("ANC",),
    LabTerm.PLATELETS: ("PLT",),
    LabTerm.WBC: ("WBC",),
    LabTerm.LYMPHOCYTES: ("LYM", "LYMPH"),
    LabTerm.HAEMOGLOBIN: ("HGB",),
}
ACUTE_MAX_DAYS = 90
# The units CTCAE's absolute thresholds are written in (crf.rules.ctcae); terms graded against
# the ULN are graded in the value's own unit, with the limits converted to it.
GRADING_UNITS: dict[LabTerm, str] = {
    LabTerm.NEUTROPHILS: "10*9/L",
    LabTerm.PLATELETS: "10*9/L",
    LabTerm.WBC: "10*9/L",
    LabTerm.LYMPHOCYTES: "10*9/L",
    LabTerm.HAEMOGLOBIN: "g/L",
}


def graded_value(
    term: LabTerm,
    item: Mapping[str, Any],
    form_items: Mapping[str, Mapping[str, Any]],
    data: Mapping[str, Any],
    analytes: Mapping[str, Any],
) -> LabValue | None:
    """The result of `item` and its limits from a form's data, all in one unit: the unit CTCAE
    grades the term in, or the result's own. None when the result is missing."""
    raw = data.get(item["code"])
    if raw in (None, ""):
        return None
    own = item.get("unit") or ""
    target = GRADING_UNITS.get(term, own)
    analyte = analytes.get(item.get("analyte", ""))
    molar_mass = Decimal(str(analyte["molar_mass"])) if analyte else None

    def expressed(value: Any, unit: str) -> str | None:
        if value in (None, ""):
            return None
        if not unit or not target or unit == target:
            return str(value)
        return units.stored_text(units.convert(Decimal(str(value)), unit, target, molar_mass), 6)

    def limit(key: str) -> str | None:
        code = item.get(key, "")
        return expressed(data.get(code), (form_items.get(code) or {}).get("unit") or own)

    return LabValue(None, expressed(raw, own) or "", limit("uln_item"), limit("lln_item"))


def is_serious(data: Mapping[str, Any]) -> bool:
    return data.get("AESER") in ("Y", True)


@dataclass(frozen=True)
class TermInfo:
    meddra_code: str
    term: str
    grades: tuple[int, ...]
    is_other_specify: bool


@dataclass(frozen=True)
class LabValue:
    """One lab result with its reference limits, from a lab form."""

    sampled_on: dt.date | None
    value: str
    uln: str | None
    lln: str | None


def check_term_and_grade(values: Mapping[str, Any], term: TermInfo | None) -> list[Issue]:
    """The term must be a CTCAE v5.0 term, named as in CTCAE, and the grade one it defines."""
    code = values.get("AECTCD")
    if code is None:
        return []
    if term is None:
        return [
            Issue(
                "AECTCD",
                "ctcae_term",
                phrase(
                    gettext_noop("{code} is not the MedDRA code of a CTCAE v5.0 term"), code=code
                ),
            )
        ]
    issues = []
    if values.get("AETERM") not in (None, term.term):
        issues.append(
            Issue(
                "AETERM",
                "ctcae_term",
                phrase(
                    gettext_noop(
                        "the term “{given}” does not match MedDRA code {code}, which is “{term}”"
                    ),
                    given=values["AETERM"],
                    code=code,
                    term=term.term,
                ),
            )
        )
    other = "Y" if term.is_other_specify else "N"
    if values.get("AEOTHSP") not in (None, other):
        issues.append(
            Issue(
                "AEOTHSP",
                "ctcae_other_specify",
                phrase(
                    gettext_noop("{term} is an “Other, specify” term")
                    if term.is_other_specify
                    else gettext_noop("{term} is not an “Other, specify” term"),
                    term=term.term,
                ),
            )
        )
    grade = values.get("AETOXGR")
    if grade is not None and int(grade) not in term.grades:
        allowed = ", ".join(str(g) for g in term.grades)
        issues.append(
            Issue(
                "AETOXGR",
                "ctcae_grade",
                phrase(
                    gettext_noop("{term} has no CTCAE grade {grade}; its grades are {allowed}"),
                    term=term.term,
                    grade=grade,
                    allowed=allowed,
                ),
            )
        )
    return issues


def lab_grade(
    term: TermInfo | None, latest: LabValue | None, baseline: LabValue | None
) -> GradeSuggestion | None:
    """The grade suggested by the latest lab value of a lab-graded term."""
    if term is None or term.meddra_code not in LAB_TERM_BY_MEDDRA or latest is None:
        return None
    base = baseline.value if baseline is not None and baseline is not latest else None
    return suggest_grade(
        LAB_TERM_BY_MEDDRA[term.meddra_code], latest.value, latest.uln, latest.lln, base
    )


def grade_suggestion_issue(grade: Any, suggestion: GradeSuggestion | None) -> Issue | None:
    """A grade other than the lab's suggestion needs the investigator's confirmation (a query)."""
    if grade is None or suggestion is None or suggestion.grade in (None, 0):
        return None
    if int(grade) == suggestion.grade:
        return None
    return Issue(
        "AETOXGR",
        "grade_differs_from_lab",
        phrase(
            gettext_noop(
                "grade {grade} differs from the grade the latest lab value suggests: {reason}"
            ),
            grade=grade,
            reason=suggestion.reason,
        ),
        Severity.WARNING,
    )


def radiation_phase(onset: Any, rt_starts: Sequence[dt.date]) -> str | None:
    """ACUTE when onset is at most 90 days after the start of the latest RT course before it,
    LATE after that, NA without radiotherapy before onset; None when a partial onset date
    leaves it open."""
    if not onset:
        return None
    if not rt_starts:
        return "NA"
    if len(str(onset)) != 10:
        return None
    onset_date = dt.date.fromisoformat(str(onset))
    before = [start for start in rt_starts if start <= onset_date]
    if not before:
        return "NA"
    return "ACUTE" if (onset_date - max(before)).days <= ACUTE_MAX_DAYS else "LATE"
