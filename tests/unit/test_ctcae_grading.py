"""CTCAE v5.0 lab-based grade suggestions against domain spec §3.4 (vectors and interval semantics)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from crf.rules.ctcae import suggest_grade

ALT_ULN = 40
TBIL_ULN = "20.5"
ANC_LLN = "2.0"
# The spec gives no LLN for platelets or haemoglobin; these are typical adult reference limits.
PLT_LLN = 125
HB_LLN = 130


@pytest.mark.parametrize(
    ("value", "grade"),
    [(40, 0), (41, 1), (120, 1), (121, 2), (200, 2), (201, 3), (800, 3), (801, 4)],
)
@pytest.mark.parametrize("term", ["ALT", "AST"])
def test_transaminases_with_normal_baseline(term: str, value: int, grade: int) -> None:
    assert suggest_grade(term, value, uln=ALT_ULN).grade == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [(89, 0), (90, 1), (180, 1), (181, 2), (300, 2), (301, 3), (1200, 3), (1201, 4)],
)
@pytest.mark.parametrize("term", ["ALT", "AST"])
def test_transaminases_with_abnormal_baseline_use_multiples_of_baseline(
    term: str, value: int, grade: int
) -> None:
    # Baseline 60 > ULN 40: G1 starts at exactly 1.5 x baseline = 90 (inclusive lower bound).
    assert suggest_grade(term, value, uln=ALT_ULN, baseline=60).grade == grade


def test_transaminases_with_normal_baseline_value_use_uln() -> None:
    assert suggest_grade("ALT", 41, uln=ALT_ULN, baseline=40).grade == 1


@pytest.mark.parametrize(
    ("value", "grade", "ratio"),
    [(30, 1, "1.46×"), (31, 2, "1.51×"), (62, 3, "3.02×"), (205, 3, "10.00×"), (206, 4, "10.05×")],
)
def test_bilirubin(value: int, grade: int, ratio: str) -> None:
    suggestion = suggest_grade("TBIL", value, uln=TBIL_ULN)
    assert suggestion.grade == grade
    assert ratio in suggestion.reason


def test_bilirubin_exact_boundaries_with_decimal_uln() -> None:
    # 1.5 x 20.5 = 30.75 and 3 x 20.5 = 61.5: the upper bound of each band is inclusive.
    assert suggest_grade("TBIL", "30.75", uln=TBIL_ULN).grade == 1
    assert suggest_grade("TBIL", "30.76", uln=TBIL_ULN).grade == 2
    assert suggest_grade("TBIL", Decimal("61.5"), uln=Decimal(TBIL_ULN)).grade == 2
    assert suggest_grade("TBIL", Fraction(1231, 20), uln=Fraction(41, 2)).grade == 3


def test_bilirubin_with_abnormal_baseline_is_left_to_the_investigator() -> None:
    suggestion = suggest_grade("TBIL", 50, uln=TBIL_ULN, baseline=30)
    assert suggestion.grade is None
    assert "investigator" in suggestion.reason


@pytest.mark.parametrize(
    ("value", "grade"), [("1.5", 1), ("1.0", 2), ("0.99", 3), ("0.5", 3), ("0.49", 4), ("2.0", 0)]
)
def test_neutrophils(value: str, grade: int) -> None:
    assert suggest_grade("ANC", value, lln=ANC_LLN).grade == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [(PLT_LLN, 0), (124, 1), (75, 1), (74, 2), (50, 2), (49, 3), (25, 3), (24, 4)],
)
def test_platelets(value: int, grade: int) -> None:
    assert suggest_grade("PLT", value, lln=PLT_LLN).grade == grade


@pytest.mark.parametrize(
    ("value", "grade"), [(HB_LLN, 0), (129, 1), (100, 1), (99, 2), (80, 2), (79, 3), (40, 3)]
)
def test_haemoglobin_lab_suggestion_stops_at_grade_3(value: int, grade: int) -> None:
    assert suggest_grade("HGB", value, lln=HB_LLN).grade == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        ("4.0", 0),
        ("3.9", 1),
        ("3.0", 1),
        ("2.9", 2),
        ("2.0", 2),
        ("1.9", 3),
        ("1.0", 3),
        ("0.9", 4),
    ],
)
def test_white_blood_cells(value: str, grade: int) -> None:
    assert suggest_grade("WBC", value, lln="4.0").grade == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        ("1.1", 0),
        ("1.0", 1),
        ("0.8", 1),
        ("0.79", 2),
        ("0.5", 2),
        ("0.49", 3),
        ("0.2", 3),
        ("0.19", 4),
    ],
)
def test_lymphocytes(value: str, grade: int) -> None:
    assert suggest_grade("LYMPH", value, lln="1.1").grade == grade


def test_creatinine_highest_applicable_grade_wins() -> None:
    suggestion = suggest_grade("CREAT", 220, uln=97, baseline=70)
    assert suggestion.grade == 3
    assert "3.14×baseline" in suggestion.reason
    assert "2.27×ULN" in suggestion.reason
    assert suggest_grade("CREAT", 220, uln=97).grade == 2


@pytest.mark.parametrize(
    ("value", "baseline", "grade"),
    [
        (97, None, 0),
        (98, None, 1),
        ("145.5", None, 1),
        ("145.6", None, 2),
        (291, None, 2),
        (292, None, 3),
        (582, None, 3),
        (583, None, 4),
        (105, 70, 1),
        (106, 70, 2),
        (210, 70, 2),
        (211, 70, 3),
        (600, 70, 4),
    ],
)
def test_creatinine_uln_and_baseline_criteria(
    value: object, baseline: int | None, grade: int
) -> None:
    assert suggest_grade("CREAT", value, uln=97, baseline=baseline).grade == grade  # type: ignore[arg-type]


def test_missing_reference_limits_give_no_grade_unless_decisive() -> None:
    assert suggest_grade("ALT", 100).grade is None
    assert suggest_grade("ANC", "1.8").grade is None
    # Below the grade 2 threshold the LLN is not needed.
    assert suggest_grade("ANC", "1.2").grade == 2


def test_reason_explains_the_interval() -> None:
    assert suggest_grade("ALT", 121, uln=ALT_ULN).reason.endswith("(>3.0–5.0×ULN) ⇒ grade 2")
    assert suggest_grade("ANC", "0.99", lln=ANC_LLN).reason.endswith("(<1.0–0.5) ⇒ grade 3")


def test_floats_and_unknown_terms_are_rejected() -> None:
    with pytest.raises(TypeError):
        suggest_grade("ALT", 41.0, uln=ALT_ULN)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        suggest_grade("TBIL", 31, uln=20.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        suggest_grade("GGT", 100, uln=50)
    with pytest.raises(ValueError):
        suggest_grade("ANC", "-1", lln=ANC_LLN)
