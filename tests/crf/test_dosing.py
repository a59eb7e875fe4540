"""BSA by the study's formula and doses from mg/m² or mg/kg, through save_form (domain.md §1.6.2)."""

import datetime as dt
from decimal import Decimal

import pytest

from crf.derived_items import bsa
from crf.rules import dosing
from crf.rules.dosing import BsaFormula, DosePer
from crf.services import WarningsNeedConfirmation, save_form
from edc.audit.context import ChangeContext

TODAY = dt.date.today()


def on(days_ago: int) -> str:
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


# ---- the formulas against hand-worked values ----------------------------------------------


@pytest.mark.parametrize(
    ("height", "weight", "mosteller", "stevenson"),
    [
        # √(170 × 70 / 3600) = √3.30556 = 1.8181; 0.0061×170 + 0.0128×70 − 0.1529 = 1.7801
        ("170", "70", "1.82", "1.78"),
        # √(160 × 55 / 3600) = √2.44444 = 1.5635; 0.976 + 0.704 − 0.1529 = 1.5271
        ("160", "55", "1.56", "1.53"),
        # √(190 × 110 / 3600) = √5.80556 = 2.4095; 1.159 + 1.408 − 0.1529 = 2.4141
        ("190", "110", "2.41", "2.41"),
    ],
)
def test_bsa_formulas_match_hand_worked_values(height, weight, mosteller, stevenson):
    h, w = Decimal(height), Decimal(weight)
    assert dosing.bsa(h, w, BsaFormula.MOSTELLER) == Decimal(mosteller)
    assert dosing.bsa(h, w, BsaFormula.STEVENSON) == Decimal(stevenson)
    value, note = bsa({"HEIGHT": height, "WEIGHT": weight}, BsaFormula.STEVENSON)
    assert value == stevenson and note.startswith("Stevenson: 0.0061 × 170") == (height == "170")


def test_planned_dose_per_m2_with_the_cap_and_per_kg():
    capped = dosing.planned_dose(
        Decimal(1000), DosePer.M2, bsa_m2=Decimal("2.41"), bsa_cap_m2=Decimal("2.0")
    )
    assert (capped.mg, capped.basis, capped.bsa_uncapped) == (
        Decimal(2000),
        Decimal("2.0"),
        Decimal("2.41"),
    )
    uncapped = dosing.planned_dose(Decimal(1000), DosePer.M2, bsa_m2=Decimal("1.78"))
    assert uncapped.mg == Decimal(1780) and uncapped.bsa_uncapped is None
    # 3 mg/kg × 62.5 kg = 187.5 mg, half-up to 188 mg.
    assert dosing.planned_dose(Decimal(3), DosePer.KG, weight_kg=Decimal("62.5")).mg == 188


def test_the_tolerance_boundary_is_exact():
    planned = Decimal(1780)
    # 1602 is exactly −10.0 %: not beyond a 10 % tolerance; 1601 is.
    assert dosing.deviation_percent(Decimal(1602), planned) == Decimal("-10.0")
    assert not dosing.exceeds_tolerance(Decimal(1602), planned, Decimal(10))
    assert dosing.exceeds_tolerance(Decimal(1601), planned, Decimal(10))
    assert dosing.exceeds_tolerance(Decimal(1959), planned, Decimal(10))
    assert not dosing.exceeds_tolerance(Decimal(1958), planned, Decimal(10))


# ---- through the forms ----------------------------------------------------------------------


def ctx(user, reason=""):
    return ChangeContext(user=user, channel="web", reason=reason)


def vitals(user, subject, repeat, day, **values):
    return save_form(
        ctx(user), subject, "UNSCHEDULED", repeat, "vs", 1, {"VSDAT": day, **values}, row_version=0
    )


def dose(user, subject, confirm=False, row_version=0, **values):
    data = {"INDDAT": on(2), "PD1GIVEN": "Y", **values}
    return save_form(
        ctx(user, "corrected" if row_version else ""),
        subject,
        "INDUCTION",
        1,
        "ind",
        1,
        data,
        row_version=row_version,
        confirm_warnings=confirm,
    )


@pytest.mark.django_db
def test_bsa_item_uses_the_study_formula(staff, subject):
    saved = vitals(staff, subject, 1, on(10), HEIGHT="170", WEIGHT="70")
    assert saved.data["BSA"] == "1.78"  # the study file chooses Stevenson
    assert saved.derived["BSA"].startswith("Stevenson")


@pytest.mark.django_db
def test_planned_dose_uses_the_latest_weight_and_height_before_the_dose(staff, subject):
    vitals(staff, subject, 1, on(20), HEIGHT="170", WEIGHT="80")
    vitals(staff, subject, 2, on(10), WEIGHT="70")  # latest weight; height from the earlier visit
    vitals(staff, subject, 3, on(1), WEIGHT="90")  # after the dose date: not used
    saved = dose(staff, subject, GEMMG="1780", CBMG="210")
    assert saved.derived["GEMMG"]["planned_mg"] == "1780"  # 1000 mg/m² × 1.78 m² (Stevenson)
    assert saved.derived["CBMG"]["planned_mg"] == "210"  # 3 mg/kg × 70 kg
    lines = " | ".join(saved.derived["GEMMG"]["derivation"])
    assert f"height 170 cm ({on(20)})" in lines and f"weight 70 kg ({on(10)})" in lines
    assert "1000 mg/m² × 1.78 m² = 1780 mg" in lines


@pytest.mark.django_db
def test_a_dose_beyond_the_tolerance_is_a_warning_with_the_reason(staff, subject):
    vitals(staff, subject, 1, on(10), HEIGHT="170", WEIGHT="70")
    within = dose(staff, subject, GEMMG="1610")  # −9.6 %: within the 10 % tolerance
    assert within.confirmed_warnings == []
    assert within.derived["GEMMG"]["deviation_percent"] == "-9.6"
    with pytest.raises(WarningsNeedConfirmation) as caught:
        dose(staff, subject, row_version=1, GEMMG="1500")
    (warning,) = caught.value.warnings
    assert (warning.item, warning.code) == ("GEMMG", "dose_deviation")
    assert "1500 mg differs from the planned 1780 mg by -15.7%" in warning.message
    assert "give the reason in Reason the dose differs" in warning.message
    saved = dose(
        staff, subject, confirm=True, row_version=1, GEMMG="1500", DOSERSN="dose reduced for G3 ANC"
    )
    assert saved.derived["GEMMG"]["deviation_percent"] == "-15.7"
    assert "reason given: dose reduced for G3 ANC" in saved.confirmed_warnings[0].message


@pytest.mark.django_db
def test_the_bsa_cap_limits_the_planned_dose(staff, subject):
    vitals(staff, subject, 1, on(10), HEIGHT="190", WEIGHT="110")
    saved = dose(staff, subject, GEMMG="2000")
    assert saved.derived["GEMMG"]["planned_mg"] == "2000"
    assert any("capped" in line for line in saved.derived["GEMMG"]["derivation"])
    assert saved.confirmed_warnings == []


def test_height_and_weight_in_other_units_are_converted_for_the_formulas():
    from crf.derivations import body_size

    form = {
        "items": [
            {"code": "HEIGHT", "type": "decimal", "unit": "m"},
            {"code": "WEIGHT", "type": "decimal", "unit": "g"},
        ]
    }
    values = body_size(form, {"HEIGHT": "1.70", "WEIGHT": "70000"})
    assert (values["HEIGHT"], values["WEIGHT"]) == ("170", "70")
    assert bsa(values, BsaFormula.MOSTELLER)[0] == "1.82"


# ---- platinum by agent: cisplatin mg/m², carboplatin AUC by Calvert ------------------------


@pytest.mark.parametrize(
    ("auc", "crcl", "mg", "used", "uncapped"),
    [
        ("5", "80", 525, "80", None),  # 5 × (80 + 25) = 525
        ("6", "60", 510, "60", None),  # 6 × (60 + 25) = 510
        ("5", "140", 750, "125", "140"),  # CrCl capped: 5 × (125 + 25) = 750, not 825
        ("4", "125", 600, "125", None),  # at the cap: not capped
        ("5", "33.3", 292, "33.3", None),  # 5 × 58.3 = 291.5, half-up to 292
    ],
)
def test_calvert_matches_hand_worked_values(auc, crcl, mg, used, uncapped):
    planned = dosing.calvert_dose(Decimal(auc), Decimal(crcl))
    assert planned.mg == mg and planned.basis == Decimal(used) and planned.per is DosePer.AUC
    assert planned.crcl_uncapped == (Decimal(uncapped) if uncapped else None)


def test_calvert_cap_is_the_studys_and_bad_inputs_are_refused():
    lower_cap = dosing.calvert_dose(Decimal(5), Decimal(120), crcl_cap_ml_min=Decimal(100))
    assert lower_cap.mg == 625  # 5 × (100 + 25)
    with pytest.raises(ValueError):
        dosing.calvert_dose(Decimal(0), Decimal(80))
    with pytest.raises(ValueError):
        dosing.calvert_dose(Decimal(5), Decimal(-1))
    with pytest.raises(ValueError):
        dosing.planned_dose(Decimal(5), DosePer.AUC, bsa_m2=Decimal("1.8"))


def lab(user, subject, repeat, day, **values):
    return save_form(
        ctx(user), subject, "UNSCHEDULED", repeat, "lb", 1, {"LBHEMDT": day, **values},
        row_version=0, confirm_warnings=True,
    )  # fmt: skip


@pytest.mark.django_db
def test_carboplatin_dose_by_calvert_from_the_latest_clearance(staff, subject):
    vitals(staff, subject, 1, on(10), HEIGHT="170", WEIGHT="70")
    lab(staff, subject, 1, on(20), CRCL="95")
    lab(staff, subject, 2, on(5), CRCL="80")  # the latest before the dose
    lab(staff, subject, 3, on(1), CRCL="40")  # after the dose date: not used
    saved = dose(staff, subject, PLATAGT="CARBOPLATIN", PLATMG="525")
    note = saved.derived["PLATMG"]
    assert note["planned_mg"] == "525" and note["deviation_percent"] == "0.0"
    lines = " | ".join(note["derivation"])
    assert f"Creatinine clearance 80 mL/min ({on(5)})" in lines
    assert "AUC 5 × (80 + 25) = 525 mg" in lines
    assert saved.confirmed_warnings == []


@pytest.mark.django_db
def test_a_platinum_dose_beyond_the_tolerance_is_a_warning_with_the_reason(staff, subject):
    vitals(staff, subject, 1, on(10), HEIGHT="170", WEIGHT="70")
    lab(staff, subject, 1, on(5), CRCL="140")  # capped at 125 mL/min: 5 × 150 = 750 mg
    with pytest.raises(WarningsNeedConfirmation) as caught:
        dose(staff, subject, PLATAGT="CARBOPLATIN", PLATMG="850")  # +13.3 %
    (warning,) = caught.value.warnings
    assert (warning.item, warning.code) == ("PLATMG", "dose_deviation")
    assert "850 mg differs from the planned 750 mg by +13.3%" in warning.message
    assert "give the reason in Reason the dose differs" in warning.message
    saved = dose(
        staff, subject, confirm=True, PLATAGT="CARBOPLATIN", PLATMG="850", DOSERSN="CrCl measured"
    )
    assert any("capped at 125 mL/min" in line for line in saved.derived["PLATMG"]["derivation"])
    assert "reason given: CrCl measured" in saved.confirmed_warnings[0].message


@pytest.mark.django_db
def test_cisplatin_is_dosed_per_m2_and_an_agent_without_a_protocol_dose_has_none(staff, subject):
    vitals(staff, subject, 1, on(10), HEIGHT="170", WEIGHT="70")
    # 75 mg/m² × 1.78 m² (Stevenson) = 133.5 mg, half-up to 134 mg; 120 mg is −10.4 %.
    with pytest.raises(WarningsNeedConfirmation):
        dose(staff, subject, PLATAGT="CISPLATIN", PLATMG="120")
    saved = dose(staff, subject, PLATAGT="CISPLATIN", PLATMG="134")
    assert saved.derived["PLATMG"]["planned_mg"] == "134"
    assert "75 mg/m² × 1.78 m² = 134 mg" in saved.derived["PLATMG"]["derivation"][-1]
    other = dose(staff, subject, row_version=1, PLATAGT="NEDAPLATIN", PLATMG="120")
    assert other.derived["PLATMG"] == (
        "No planned dose for NEDAPLATIN: the protocol names no dose for it"
    )
    assert other.confirmed_warnings == []


@pytest.mark.django_db
def test_carboplatin_without_a_clearance_says_why_there_is_no_planned_dose(staff, subject):
    vitals(staff, subject, 1, on(10), HEIGHT="170", WEIGHT="70")
    saved = dose(staff, subject, PLATAGT="CARBOPLATIN", PLATMG="500")
    assert saved.derived["PLATMG"] == (
        f"Planned dose not computed: no creatinine clearance recorded on or before {on(2)}"
    )
