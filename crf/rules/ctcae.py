"""CTCAE v5.0 grade suggestions from laboratory values (§3.4); the investigator confirms the grade.

Exact interval semantics: for increases ">a - b x ULN" means a*ULN < value <= b*ULN; for decreases
"<a - b" means b <= value < a (the lower bound belongs to the milder grade). Values are compared as
exact rationals; floats are rejected because they cannot represent e.g. 20.5 x 1.5 reliably.
Units: count thresholds in 10^9/L, haemoglobin in g/L; ULN/LLN/baseline in the value's unit.
A suggestion's reason is a translatable phrase (edc/phrases.py); as a string it is its English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

from crf.rules.exact_numbers import ExactNumber, round_half_up, to_fraction
from edc.phrases import Phrase, gettext_noop, phrase


class LabTerm(StrEnum):
    ALT = "ALT"
    AST = "AST"
    BILIRUBIN = "TBIL"
    CREATININE = "CREAT"
    NEUTROPHILS = "ANC"
    PLATELETS = "PLT"
    WBC = "WBC"
    LYMPHOCYTES = "LYMPH"
    HAEMOGLOBIN = "HGB"


TERM_NAMES: dict[LabTerm, str] = {
    LabTerm.ALT: gettext_noop("Alanine aminotransferase increased"),
    LabTerm.AST: gettext_noop("Aspartate aminotransferase increased"),
    LabTerm.BILIRUBIN: gettext_noop("Blood bilirubin increased"),
    LabTerm.CREATININE: gettext_noop("Creatinine increased"),
    LabTerm.NEUTROPHILS: gettext_noop("Neutrophil count decreased"),
    LabTerm.PLATELETS: gettext_noop("Platelet count decreased"),
    LabTerm.WBC: gettext_noop("White blood cell decreased"),
    LabTerm.LYMPHOCYTES: gettext_noop("Lymphocyte count decreased"),
    LabTerm.HAEMOGLOBIN: gettext_noop("Anemia"),
}


def _term(term: LabTerm) -> Phrase:
    return phrase(TERM_NAMES[term])


# What a multiple is of: the ULN (an abbreviation read as such in Chinese too) or the baseline.
_ULN = "ULN"
_BASELINE = phrase(gettext_noop("baseline"))


@dataclass(frozen=True)
class GradeSuggestion:
    """`grade` 0 means no lab criterion met; None means the value cannot be graded from the inputs."""

    grade: int | None
    reason: Phrase


@dataclass(frozen=True)
class _MultipleBand:
    """`grade` when low x ref < value <= high x ref (low inclusive when `low_inclusive`).

    Bounds are kept as the decimal text CTCAE prints, so reasons read like the grading table.
    """

    grade: int
    low: str
    high: str | None
    low_inclusive: bool = False

    def lower_bound(self, reference: Fraction) -> Fraction:
        return Fraction(self.low) * reference

    def describe(self, ref_name: str) -> Phrase:
        # Symbols and numbers only: the same in every language, so not marked for translation.
        if self.high is None:
            return phrase(">{low}×{ref}", low=self.low, ref=ref_name)
        return phrase(
            "{sign}{low}–{high}×{ref}",
            sign="" if self.low_inclusive else ">",
            low=ref_name if self.low == "1.0" else self.low,
            high=self.high,
            ref=ref_name,
        )


# Each band list is ordered from the mildest grade; the highest band whose lower bound is passed wins.
_ENZYMES_NORMAL_BASELINE = (
    _MultipleBand(1, "1.0", "3.0"),
    _MultipleBand(2, "3.0", "5.0"),
    _MultipleBand(3, "5.0", "20.0"),
    _MultipleBand(4, "20.0", None),
)
_ENZYMES_ABNORMAL_BASELINE = (
    _MultipleBand(1, "1.5", "3.0", low_inclusive=True),
    _MultipleBand(2, "3.0", "5.0"),
    _MultipleBand(3, "5.0", "20.0"),
    _MultipleBand(4, "20.0", None),
)
_BILIRUBIN_NORMAL_BASELINE = (
    _MultipleBand(1, "1.0", "1.5"),
    _MultipleBand(2, "1.5", "3.0"),
    _MultipleBand(3, "3.0", "10.0"),
    _MultipleBand(4, "10.0", None),
)
_CREATININE_ULN = (
    _MultipleBand(1, "1.0", "1.5"),
    _MultipleBand(2, "1.5", "3.0"),
    _MultipleBand(3, "3.0", "6.0"),
    _MultipleBand(4, "6.0", None),
)
_CREATININE_BASELINE = (
    _MultipleBand(2, "1.5", "3.0"),
    _MultipleBand(3, "3.0", None),
)

# Decreases: thresholds t1 > t2 > t3; G1 = [t1, LLN), G2 = [t2, t1), G3 = [t3, t2), G4 = below t3.
_DECREASE_THRESHOLDS: dict[LabTerm, tuple[str, ...]] = {
    LabTerm.NEUTROPHILS: ("1.5", "1.0", "0.5"),
    LabTerm.PLATELETS: ("75", "50", "25"),
    LabTerm.WBC: ("3.0", "2.0", "1.0"),
    LabTerm.LYMPHOCYTES: ("0.8", "0.5", "0.2"),
    # Grade 4 anaemia is clinical (life-threatening), so the lab suggestion stops at grade 3.
    LabTerm.HAEMOGLOBIN: ("100", "80"),
}


class _Lab(NamedTuple):
    """An exact value with the text the user entered, so reasons echo the input unchanged."""

    value: Fraction
    text: str


def _lab(raw: ExactNumber) -> _Lab:
    value = to_fraction(raw)
    if isinstance(raw, Fraction):
        text = str(raw) if raw.denominator == 1 else str(raw.numerator / Decimal(raw.denominator))
    else:
        text = str(raw).strip()
    return _Lab(value, text)


def _ratio(value: Fraction, reference: Fraction) -> str:
    return f"{round_half_up(value / reference, 2)}×"


def _band_for(
    value: Fraction, reference: Fraction, bands: Sequence[_MultipleBand]
) -> _MultipleBand | None:
    reached = None
    for band in bands:
        bound = band.lower_bound(reference)
        if value > bound or (band.low_inclusive and value == bound):
            reached = band
    return reached


def _grade_by_multiple(
    heading: Phrase, lab: _Lab, reference: _Lab, ref_name: str, bands: Sequence[_MultipleBand]
) -> GradeSuggestion:
    band = _band_for(lab.value, reference.value, bands)
    shown = phrase(
        gettext_noop("{heading}: {value} = {ratio}{ref} {reference}"),
        heading=heading,
        value=lab.text,
        ratio=_ratio(lab.value, reference.value),
        ref=ref_name,
        reference=reference.text,
    )
    if band is None:
        return GradeSuggestion(
            0, phrase(gettext_noop("{shown}: no grade criterion met ⇒ grade 0"), shown=shown)
        )
    return GradeSuggestion(
        band.grade,
        phrase(
            gettext_noop("{shown} ({band}) ⇒ grade {grade}"),
            shown=shown,
            band=band.describe(ref_name),
            grade=band.grade,
        ),
    )


def _grade_decrease(term: LabTerm, lab: _Lab, lln: _Lab | None) -> GradeSuggestion:
    thresholds = _DECREASE_THRESHOLDS[term]
    shown = phrase(gettext_noop("{term}: {value}"), term=_term(term), value=lab.text)
    below = sum(1 for threshold in thresholds if lab.value < Fraction(threshold))
    if below:
        grade = 1 + below
        upper = thresholds[below - 1]
        lower = thresholds[below] if below < len(thresholds) else None
        interval = f"<{upper}" + (f"–{lower}" if lower is not None else "")
        template = (
            gettext_noop("{shown} ({interval}) ⇒ grade {grade}; grade 4 is a clinical judgement")
            if term is LabTerm.HAEMOGLOBIN and grade == len(thresholds) + 1
            else gettext_noop("{shown} ({interval}) ⇒ grade {grade}")
        )
        return GradeSuggestion(grade, phrase(template, shown=shown, interval=interval, grade=grade))
    if lln is None:
        return GradeSuggestion(
            None,
            phrase(
                gettext_noop("{shown} ≥ {threshold}: LLN needed to decide grade 0 or 1"),
                shown=shown,
                threshold=thresholds[0],
            ),
        )
    if lab.value < lln.value:
        return GradeSuggestion(
            1,
            phrase(
                gettext_noop("{shown} (<LLN {lln}–{threshold}) ⇒ grade 1"),
                shown=shown,
                lln=lln.text,
                threshold=thresholds[0],
            ),
        )
    return GradeSuggestion(
        0, phrase(gettext_noop("{shown} ≥ LLN {lln} ⇒ grade 0"), shown=shown, lln=lln.text)
    )


def suggest_grade(
    term_code: str,
    value: ExactNumber,
    uln: ExactNumber | None = None,
    lln: ExactNumber | None = None,
    baseline: ExactNumber | None = None,
) -> GradeSuggestion:
    """Suggested CTCAE v5.0 grade for one lab value.

    ALT/AST use the baseline-abnormal table when `baseline` > ULN. Creatinine takes the highest grade
    of its ULN-based and baseline-based criteria. Bilirubin with an abnormal baseline is left to the
    investigator (grade None). Raises ValueError for an unknown term code or a negative value.
    """
    term = LabTerm(term_code)
    lab = _lab(value)
    if lab.value < 0:
        raise ValueError("lab value cannot be negative")
    upper = _lab(uln) if uln is not None else None
    lower = _lab(lln) if lln is not None else None
    base = _lab(baseline) if baseline is not None else None
    name = _term(term)

    if term in _DECREASE_THRESHOLDS:
        return _grade_decrease(term, lab, lower)
    if upper is None or upper.value <= 0:
        return GradeSuggestion(None, phrase(gettext_noop("{term}: ULN needed"), term=name))
    baseline_abnormal = base is not None and base.value > upper.value

    if term in (LabTerm.ALT, LabTerm.AST):
        if base is not None and baseline_abnormal:
            return _grade_by_multiple(
                phrase(gettext_noop("{term} (baseline abnormal)"), term=name),
                lab,
                base,
                _BASELINE,
                _ENZYMES_ABNORMAL_BASELINE,
            )
        return _grade_by_multiple(name, lab, upper, _ULN, _ENZYMES_NORMAL_BASELINE)
    if term is LabTerm.BILIRUBIN:
        if base is not None and baseline_abnormal:
            return GradeSuggestion(
                None,
                phrase(
                    gettext_noop(
                        "{term}: baseline {baseline} above ULN; grade by the investigator"
                    ),
                    term=name,
                    baseline=base.text,
                ),
            )
        return _grade_by_multiple(name, lab, upper, _ULN, _BILIRUBIN_NORMAL_BASELINE)

    by_uln = _grade_by_multiple(name, lab, upper, _ULN, _CREATININE_ULN)
    if base is None or base.value <= 0:
        return by_uln
    by_baseline = _grade_by_multiple(name, lab, base, _BASELINE, _CREATININE_BASELINE)
    winner = by_baseline if (by_baseline.grade or 0) > (by_uln.grade or 0) else by_uln
    return GradeSuggestion(
        winner.grade,
        phrase(
            gettext_noop("{by_uln}; {by_baseline}; highest applicable grade {grade}"),
            by_uln=by_uln.reason,
            by_baseline=by_baseline.reason,
            grade=winner.grade,
        ),
    )
