"""The worked examples E1-E10 of domain spec §1.6.3, run through the criteria of the study files."""

from __future__ import annotations

from datetime import date

import pytest

from crf.rules.eligibility import Status, evaluate_criterion, item_labels
from crf.rules.expressions import cockcroft_gault
from tests.unit.eligibility_subjects import (
    GOLDEN,
    Subject,
    add_row,
    applied,
    both,
    context,
    criteria_by_id,
    definition,
    put,
)


def run(study: str, cid: str, subject: Subject):
    return evaluate_criterion(
        criteria_by_id(study)[cid], subject.data(), labels=item_labels(definition(study))
    )


@pytest.mark.parametrize(
    ("example", "born", "consent", "expected"),
    [
        ("E1", date(1955, 5, 2), date(2026, 5, 1), Status.PASS),
        ("E2", date(1955, 5, 1), date(2026, 5, 1), Status.FAIL),
        ("E3 age 17", date(2008, 5, 2), date(2026, 5, 1), Status.FAIL),
        ("E3 age 18", date(2008, 5, 1), date(2026, 5, 1), Status.PASS),
        ("E3b 28 Feb", date(2008, 2, 29), date(2026, 2, 28), Status.FAIL),
        ("E3b 1 Mar", date(2008, 2, 29), date(2026, 3, 1), Status.PASS),
    ],
)
def test_age_examples(example, born, consent, expected):
    subject = applied(
        GOLDEN["T-REIRR"](), both(put("dm.BRTHDAT", born), context("consent_date", consent))
    )
    assert run("T-REIRR", "R-IN1", subject).status == expected


def test_e4_boundaries_are_inclusive():
    subject = applied(
        GOLDEN["T-REIRR"](), both(put("lb.HGB", 90), put("lb.ANC", 1.5), put("lb.PLT", 100))
    )
    result = run("T-REIRR", "R-IN9", subject)
    assert result.status == Status.PASS
    assert "Haemoglobin 90 g/L ≥ 90 g/L" in result.reason
    assert "Absolute neutrophil count 1.5 10^9/L ≥ 1.5 10^9/L" in result.reason
    assert "Platelet count 100 10^9/L ≥ 100 10^9/L" in result.reason


def test_e5_haemoglobin_89_fails():
    result = run("T-REIRR", "R-IN9", applied(GOLDEN["T-REIRR"](), put("lb.HGB", 89)))
    assert result.status == Status.FAIL
    assert result.reason == "Haemoglobin 89 g/L < 90 g/L ⇒ fail"


def renal(born: date, sex: str, weight: float, creatinine: float, uln: float):
    return both(
        put("dm.BRTHDAT", born),
        put("dm.SEX", sex),
        put("vs.WEIGHT", weight),
        put("lb.CREAT", creatinine),
        put("lb.CREATULN", uln),
    )


def test_e6_high_creatinine_passes_on_clearance():
    # Male, 30 years at consent (2026-03-02), 95 kg, creatinine 160 µmol/L, ULN 104.
    subject = applied(GOLDEN["T-REIRR"](), renal(date(1995, 6, 15), "M", 95, 160, 104))
    result = run("T-REIRR", "R-IN9", subject)
    assert result.status == Status.PASS
    assert "Creatinine 1.54×ULN > 1.5" in result.reason
    assert "CrCl (Cockcroft–Gault) 80.2 mL/min ≥ 60 mL/min" in result.reason


def test_e7_creatinine_within_limit_passes_whatever_the_clearance():
    subject = applied(GOLDEN["T-REIRR"](), renal(date(1959, 6, 15), "M", 58, 150, 104))
    result = run("T-REIRR", "R-IN9", subject)
    assert result.status == Status.PASS
    assert "Creatinine 1.44×ULN ≤ 1.5" in result.reason
    assert "35.1 mL/min" in result.reason


def test_e8_female_creatinine_ratio_passes():
    subject = applied(GOLDEN["T-REIRR"](), renal(date(1963, 6, 15), "F", 52, 88.4, 84))
    result = run("T-REIRR", "R-IN9", subject)
    assert result.status == Status.PASS
    assert "Creatinine 1.05×ULN ≤ 1.5" in result.reason
    assert "47.9 mL/min" in result.reason


@pytest.mark.parametrize(
    ("age", "weight", "creatinine", "female", "expected"),
    [
        (30, 95, "160", False, "80.2"),
        (66, 58, "150", False, "35.1"),
        (62, 52, "88.4", True, "47.9"),
    ],
)
def test_cockcroft_gault_values_of_e6_to_e8(age, weight, creatinine, female, expected):
    from decimal import Decimal

    value = cockcroft_gault(Decimal(age), Decimal(weight), Decimal(creatinine), female)
    assert f"{value:.1f}" == expected


def liver_lesion(subject: Subject) -> None:
    add_row(
        "tu_bl.lesions",
        {
            "TULNKID": "L1",
            "TUCLASS": "TARGET",
            "TUSITE": "LIVER",
            "TULOC": "liver",
            "TUNODE": "N",
            "TRLD": 25,
        },
    )(subject)


def test_e9_alt_3_75_uln_fails_without_liver_metastases():
    subject = applied(GOLDEN["T-LRRT"](), both(put("lb.ALT", 150), put("lb.ALTULN", 40)))
    result = run("T-LRRT", "L-IN9", subject)
    assert result.status == Status.FAIL
    assert "ALT 3.75×ULN > 2.5" in result.reason


def test_e9_alt_3_75_uln_passes_with_liver_metastases():
    subject = applied(
        GOLDEN["T-LRRT"](), both(put("lb.ALT", 150), put("lb.ALTULN", 40), liver_lesion)
    )
    result = run("T-LRRT", "L-IN9", subject)
    assert result.status == Status.PASS
    assert "ALT 3.75×ULN ≤ 5" in result.reason


@pytest.mark.parametrize(
    ("sampled", "expected"),
    [
        (date(2026, 4, 6), Status.PASS),
        (date(2026, 4, 5), Status.MISSING),
        (date(2026, 4, 20), Status.PASS),
        (date(2026, 4, 21), Status.MISSING),
    ],
)
def test_e10_fourteen_day_window_before_the_first_dose(sampled, expected):
    subject = applied(
        GOLDEN["T-REIRR"](),
        both(
            context("first_dose_date", date(2026, 4, 20)),
            put("lb.LBHEMDT", sampled),
            put("lb.LBCHMDT", sampled),
            put("lb.LBCOADT", sampled),
            put("vs.VSDAT", date(2026, 4, 6)),
        ),
    )
    result = run("T-REIRR", "R-IN9", subject)
    assert result.status == expected
    if expected == Status.MISSING:
        assert "no value dated 0–14 days before first dose date 2026-04-20" in result.reason
