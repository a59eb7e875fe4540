"""Units: UCUM codes through pint, molar-mass conversions, alternative units on a form, the
derivations that convert, and check_study refusing wiring that mixes dimensions."""

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from crf.rules import units
from crf.rules.eligibility import item_labels
from crf.rules.expressions import ItemLabel, SubjectData, evaluate_value, format_value
from crf.validation import clean_form
from edc.studies.protocol import validate

CREATININE = Decimal("113.12")
BILIRUBIN = Decimal("584.66")
MINIMAL = Path(__file__).parents[1] / "fixtures" / "minimal_study.yaml"


# ---- the unit module ------------------------------------------------------------------------


def test_every_code_of_the_table_is_read_by_pint():
    for code in units.UCUM_TO_PINT:
        assert units.conversion(code, code) is units.Conversion.SAME_DIMENSION


@pytest.mark.parametrize(
    ("value", "source", "target", "molar_mass", "expected", "places"),
    [
        # domain.md §1.6.2: 1 mg/dL creatinine = 88.4 µmol/L, bilirubin = 17.1 µmol/L.
        ("1", "mg/dL", "umol/L", CREATININE, "88.4", 1),
        ("1", "mg/dL", "umol/L", BILIRUBIN, "17.1", 1),
        ("88.4", "umol/L", "mg/dL", CREATININE, "1.00", 2),
        ("9.0", "g/dL", "g/L", None, "90", 0),
        ("1500", "/uL", "10*9/L", None, "1.5", 1),
        ("1.5", "10*9/L", "10*3/uL", None, "1.5", 1),
        ("2500", "m[IU]/L", "[IU]/L", None, "2.5", 1),
        ("1", "m2", "m2", None, "1", 0),
    ],
)
def test_conversions(value, source, target, molar_mass, expected, places):
    result = units.convert(Decimal(value), source, target, molar_mass)
    assert units.rounded(result, places) == Decimal(expected)


def test_mass_to_substance_needs_the_molar_mass_and_other_dimensions_refuse():
    assert units.conversion("mg/dL", "umol/L") is units.Conversion.NEEDS_MOLAR_MASS
    with pytest.raises(units.UnitError, match="molar mass"):
        units.convert(Decimal(1), "mg/dL", "umol/L")
    assert units.conversion("kg", "umol/L") is units.Conversion.INCOMPATIBLE
    with pytest.raises(units.UnitError, match="cannot be converted"):
        units.convert(Decimal(1), "kg", "umol/L", CREATININE)
    with pytest.raises(units.UnitError, match="unknown unit 'mg/dl'"):
        units.convert(Decimal(1), "mg/dl", "umol/L", CREATININE)


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("10*9/L", "10^9/L"),
        ("umol/L", "µmol/L"),
        ("m[IU]/L", "mIU/L"),
        ("mm[Hg]", "mmHg"),
        ("{ratio}", "ratio"),
        ("dB{HL}", "dB HL"),
        ("{copies}/mL", "copies/mL"),
        ("mL/min", "mL/min"),
    ],
)
def test_ucum_codes_are_shown_as_people_write_them(code, shown):
    assert units.display_unit(code) == shown


# ---- derivations convert: mg/dL gives what µmol/L gives -------------------------------------

# domain.md E6: male, 30 years, 95 kg, creatinine 160 µmol/L, ULN 104 µmol/L ⇒ 1.54 × ULN,
# CG 80.2 mL/min. 160 µmol/L = 1.81 mg/dL at 113.12 g/mol.
CG = {
    "crcl_cockcroft_gault": {
        "age": 30,
        "weight_kg": {"item": "vs.WEIGHT"},
        "creatinine_umol_l": {"item": "lb.CREAT"},
        "sex": "M",
    }
}
RATIO = {"ratio": [{"item": "lb.CREAT"}, {"item": "lb.CREATULN"}]}


def labels(creatinine_unit: str) -> dict[str, ItemLabel]:
    return {
        "vs.WEIGHT": ItemLabel("Weight", "kg", "decimal"),
        "lb.CREAT": ItemLabel("Creatinine", creatinine_unit, "decimal", CREATININE),
        "lb.CREATULN": ItemLabel("Creatinine ULN", "umol/L", "decimal", CREATININE),
    }


def outcome(creatinine: str, unit: str) -> tuple[str, str]:
    data = SubjectData(
        forms={"vs": {"WEIGHT": "95"}, "lb": {"CREAT": creatinine, "CREATULN": "104"}}
    )
    crcl = evaluate_value(CG, data, labels(unit)).value
    ratio = evaluate_value(RATIO, data, labels(unit)).value
    return format_value(crcl, 1), format_value(ratio, 2)


def test_creatinine_in_mg_dl_gives_the_same_clearance_and_uln_ratio_as_micromoles():
    assert outcome("160", "umol/L") == ("80.2", "1.54")
    assert outcome("1.81", "mg/dL") == ("80.2", "1.54")


def test_a_ratio_converts_the_uln_to_the_value_unit_not_the_other_way_round():
    data = SubjectData(forms={"lb": {"CREAT": "1.81", "CREATULN": "104"}})
    result = evaluate_value(RATIO, data, labels("mg/dL"))
    # Without conversion 1.81 / 104 would read 0.02 × ULN: 88 times too low.
    assert format_value(result.value, 2) == "1.54"


LAB_FORM = {
    "code": "lb",
    "name": "Lab",
    "domain": "LB",
    "items": [
        {
            "code": "CREAT",
            "label": "Creatinine",
            "type": "decimal",
            "unit": "umol/L",
            "alt_units": ["mg/dL"],
            "analyte": "creatinine",
            "decimals": 2,
            "range": {"min": 5, "max": 3000},
        },
        {"code": "CREATULN", "label": "Creatinine ULN", "type": "decimal", "unit": "umol/L"},
    ],
}
ANALYTES = {"creatinine": {"name": "Creatinine", "molar_mass": 113.12}}


def clean(values: dict):
    return clean_form(LAB_FORM, {}, values, today=dt.date(2026, 5, 1), analytes=ANALYTES)


def test_a_value_entered_in_an_alternative_unit_is_stored_in_both_units():
    result = clean({"CREAT": "1.81", "CREAT__unit": "mg/dL", "CREATULN": "104"})
    assert result.ok, result.errors
    assert result.values["CREAT"] == "160.0071"
    assert result.values["CREAT__entered"] == {"value": "1.81", "unit": "mg/dL"}
    same = clean({"CREAT": "160", "CREATULN": "104"})
    assert same.values["CREAT"] == "160"
    assert same.values["CREAT__entered"] == {"value": "160", "unit": "umol/L"}
    # The stored values give the same derived results whichever unit was entered.
    definition = {"forms": [LAB_FORM], "analytes": ANALYTES}
    names = item_labels(definition)
    for values in (result.values, same.values):
        ratio = evaluate_value(RATIO, SubjectData(forms={"lb": values}), names)
        assert format_value(ratio.value, 2) == "1.54"


def test_a_unit_the_item_does_not_accept_is_refused_naming_the_item():
    result = clean({"CREAT": "1.81", "CREAT__unit": "g/L"})
    assert [(i.item, i.code) for i in result.errors] == [("CREAT", "unit")]
    assert "Creatinine (CREAT)" in result.errors[0].message
    assert "CREAT" not in result.values


def test_the_range_applies_in_the_item_unit_after_conversion():
    # 40 mg/dL = 3536 µmol/L, above the 3000 µmol/L maximum although 40 < 3000.
    result = clean({"CREAT": "40", "CREAT__unit": "mg/dL"})
    assert [(i.item, i.code) for i in result.errors] == [("CREAT", "range")]


# ---- check_study --------------------------------------------------------------------------


def minimal_with_lab(creatinine: dict, analytes: dict | None = None) -> dict:
    data = copy.deepcopy(yaml.safe_load(MINIMAL.read_text()))
    data["forms"].append(
        {
            "code": "lb",
            "name": "Lab",
            "domain": "LB",
            "items": [
                {"code": "CREAT", "label": "Creatinine", "type": "decimal", **creatinine},
                {"code": "CREATULN", "label": "ULN", "type": "decimal", "unit": "umol/L"},
            ],
        }
    )
    data["eligibility"].append(
        {
            "id": "M-IN3",
            "kind": "inclusion",
            "text": "Renal function",
            "evaluated_at": ["registration"],
            "type": "rule",
            "rule": {
                "any": [
                    {
                        "cmp": [
                            {"ratio": [{"item": "lb.CREAT"}, {"item": "lb.CREATULN"}]},
                            "<=",
                            1.5,
                        ]
                    },
                    {
                        "cmp": [
                            {
                                "crcl_cockcroft_gault": {
                                    "age": 40,
                                    "weight_kg": {"item": "demographics.WEIGHT"},
                                    "creatinine_umol_l": {"item": "lb.CREAT"},
                                    "sex": {"item": "demographics.SEX"},
                                }
                            },
                            ">=",
                            60,
                        ]
                    },
                ]
            },
        }
    )
    if analytes is not None:
        data["analytes"] = analytes
    return data


def messages(data: dict) -> list[str]:
    return [str(p) for p in validate(data)]


def test_check_study_refuses_mg_dl_creatinine_in_cockcroft_gault_without_a_molar_mass():
    problems = messages(minimal_with_lab({"unit": "mg/dL"}))
    rule = "eligibility[2].rule.any"
    assert any(
        p.startswith(f"{rule}[1].cmp[0].crcl_cockcroft_gault.creatinine_umol_l: lb.CREAT is in ")
        and "needs a molar mass" in p
        for p in problems
    ), problems
    # The ULN beside it (µmol/L) cannot be converted to the value's mg/dL either.
    assert any(p.startswith(f"{rule}[0].cmp[0].ratio[1]: lb.CREATULN") for p in problems)


def test_check_study_accepts_the_same_wiring_with_the_analyte_declared():
    data = minimal_with_lab(
        {"unit": "mg/dL", "analyte": "creatinine"},
        {"creatinine": {"name": "Creatinine", "molar_mass": 113.12}},
    )
    assert messages(data) == []


def test_check_study_refuses_other_dimensions_unknown_units_and_undeclared_analytes():
    assert any(
        p.startswith("eligibility[2].rule.any[1].cmp[0].crcl_cockcroft_gault.creatinine_umol_l")
        and "cannot be converted" in p
        for p in messages(minimal_with_lab({"unit": "kg"}))
    )
    assert "forms[3].items[0].unit: unknown unit 'mg/dl'" in " ".join(
        messages(minimal_with_lab({"unit": "mg/dl"}))
    )
    undeclared = messages(minimal_with_lab({"unit": "umol/L", "analyte": "creatinine"}))
    assert "forms[3].items[0].analyte: names undeclared analyte 'creatinine'" in undeclared
    alt = messages(minimal_with_lab({"unit": "umol/L", "alt_units": ["mg/dL"]}))
    assert any(p.startswith("forms[3].items[0].alt_units[0]: alternative unit mg/dL") for p in alt)


# ---- the seed studies ------------------------------------------------------------------------

SEEDS = sorted((Path(__file__).parents[2] / "edc" / "studies").glob("t-*.yaml"))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_studies_declare_ucum_units_and_the_molar_masses_their_labs_need(path):
    data = yaml.safe_load(path.read_text())
    assert messages(data) == []
    numeric = [
        item
        for form in data["forms"]
        for item in form.get("items", []) + [i for g in form.get("groups", []) for i in g["items"]]
        if item.get("unit")
    ]
    assert numeric and all(units.is_known(item["unit"]) for item in numeric)
    lab = next(f for f in data["forms"] if f["code"] == "lb")
    items = {i["code"]: i for i in lab["items"]}
    for code, analyte, mass in (("CREAT", "creatinine", 113.12), ("TBIL", "bilirubin", 584.66)):
        assert items[code]["analyte"] == analyte
        assert data["analytes"][analyte]["molar_mass"] == mass
        assert items[code]["alt_units"] == ["mg/dL"]


def test_ctcae_grading_sees_the_value_and_its_uln_in_one_unit():
    from crf.ae_form import graded_value
    from crf.rules.ctcae import LabTerm, suggest_grade

    creat = {"code": "CREAT", "unit": "mg/dL", "analyte": "creatinine", "uln_item": "CREATULN"}
    items = {"CREAT": creat, "CREATULN": {"code": "CREATULN", "unit": "umol/L"}}
    graded = graded_value(
        LabTerm.CREATININE, creat, items, {"CREAT": "1.81", "CREATULN": "104"}, ANALYTES
    )
    # 1.81 mg/dL over a 104 µmol/L (1.1765 mg/dL) ULN is 1.54 × ULN: grade 2 (>1.5-3.0 × ULN).
    assert suggest_grade(LabTerm.CREATININE, graded.value, graded.uln).grade == 2
    hgb = {"code": "HGB", "unit": "g/dL", "lln_item": "HGBLLN"}
    counts = graded_value(
        LabTerm.HAEMOGLOBIN, hgb, {"HGB": hgb, "HGBLLN": {"unit": "g/L"}}, {"HGB": "7.5"}, {}
    )
    assert counts.value == "75"  # CTCAE's anaemia thresholds are in g/L


# ---- dose items: by agent, and carboplatin by AUC --------------------------------------------


def minimal_with_platinum(doses: dict, dosing: dict | None = None) -> dict:
    data = minimal_with_lab({"unit": "umol/L"})
    data["forms"][-1]["items"].append(
        {"code": "CRCL", "label": "CrCl", "type": "decimal", "unit": "mL/min"}
    )
    data["forms"].append(
        {
            "code": "ind",
            "name": "Induction",
            "domain": "EX",
            "items": [
                {"code": "INDDAT", "label": "Date", "type": "date"},
                {
                    "code": "PLATAGT",
                    "label": "Platinum agent",
                    "type": "choice",
                    "choices": [
                        {"code": "CISPLATIN", "label": "Cisplatin"},
                        {"code": "CARBOPLATIN", "label": "Carboplatin"},
                    ],
                },
                {
                    "code": "PLATDOSE",
                    "label": "Platinum dose",
                    "type": "decimal",
                    "unit": "mg",
                    "planned_dose": {"by_agent": {"item": "PLATAGT", "doses": doses}},
                },
            ],
        }
    )
    if dosing is not None:
        data["dosing"] = dosing
    return data


def test_check_study_accepts_platinum_by_agent_with_the_clearance_declared():
    doses = {"CISPLATIN": {"amount": 80, "per": "m2"}, "CARBOPLATIN": {"amount": 5, "per": "auc"}}
    assert messages(minimal_with_platinum(doses, {"crcl_item": "CRCL"})) == []


def test_check_study_refuses_dose_wiring_it_cannot_compute():
    where = "forms[4].items[2].planned_dose"
    carboplatin = {"CARBOPLATIN": {"amount": 5, "per": "auc"}}
    assert f"{where}.by_agent.doses.CARBOPLATIN.per: a dose by AUC (Calvert) needs the study's " \
        "dosing.crcl_item" in messages(minimal_with_platinum(carboplatin))  # fmt: skip
    unknown = messages(minimal_with_platinum({"OXALIPLATIN": {"amount": 85, "per": "m2"}}))
    assert (
        f"{where}.by_agent.doses.OXALIPLATIN: 'OXALIPLATIN' is not a choice of PLATAGT" in unknown
    )
    wrong_unit = minimal_with_platinum(carboplatin, {"crcl_item": "CREAT"})
    assert "dosing.crcl_item: CREAT needs a unit of mL/min" in messages(wrong_unit)
    missing = minimal_with_platinum(carboplatin, {"crcl_item": "GFR"})
    assert "dosing.crcl_item: names unknown item 'GFR'" in messages(missing)
    not_choice = minimal_with_platinum({"CISPLATIN": {"amount": 80, "per": "m2"}})
    not_choice["forms"][-1]["items"][2]["planned_dose"]["by_agent"]["item"] = "INDDAT"
    assert f"{where}.by_agent.item: names 'INDDAT', not a choice item on this form" in messages(
        not_choice
    )


def test_seed_platinum_doses_follow_the_agent():
    for name in ("t-reirr", "t-lrrt"):
        data = yaml.safe_load((SEEDS[0].parent / f"{name}.yaml").read_text())
        ind = next(f for f in data["forms"] if f["code"] == "ind")
        platinum = next(i for i in ind["items"] if i["code"] == "PLATDOSE")
        assert platinum["unit"] == "mg"
        assert platinum["planned_dose"]["by_agent"]["doses"] == {
            "CISPLATIN": {"amount": 80, "per": "m2"}
        }
        assert data["dosing"]["crcl_item"] == "CRCL"
