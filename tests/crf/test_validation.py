"""Item validation from the form definition: pure functions, no database."""

import datetime as dt

import pytest

from crf.validation import (
    Severity,
    clean_form,
    run_edit_checks,
    validate_form,
    values_from_post,
)

TODAY = dt.date(2026, 5, 20)
CODELISTS = {"NY": [{"code": "Y", "label": "Yes"}, {"code": "N", "label": "No"}]}

FORM = {
    "code": "demo",
    "name": "Demo",
    "items": [
        {"code": "BRTHDAT", "label": "Date of birth", "type": "date", "required": True},
        {
            "code": "SEX",
            "label": "Sex",
            "type": "choice",
            "choices": [{"code": "M", "label": "Male"}, {"code": "F", "label": "Female"}],
        },
        {
            "code": "WEIGHT",
            "label": "Weight",
            "type": "decimal",
            "unit": "kg",
            "decimals": 1,
            "range": {"min": 20, "max": 250},
            "soft_range": {"min": 35, "max": 150},
        },
        {"code": "ECOG", "label": "ECOG", "type": "integer", "range": {"min": 0, "max": 4}},
        {"code": "DIAGDAT", "label": "Diagnosis", "type": "partial_date"},
        {"code": "SMOKER", "label": "Smoker", "type": "boolean"},
        {"code": "NOTE", "label": "Note", "type": "text", "max_length": 5},
        {"code": "SMOKE", "label": "Smoking status", "type": "choice", "codelist": "NY"},
        {
            "code": "METH",
            "label": "Methods",
            "type": "multichoice",
            "choices": [{"code": "CT", "label": "CT"}, {"code": "MRI", "label": "MRI"}],
        },
        {"code": "TIME", "label": "Time", "type": "time"},
        {"code": "WHEN", "label": "When", "type": "datetime"},
        {
            "code": "GRADE",
            "label": "Grade",
            "type": "choice",
            "choices": [{"code": 1, "label": "1"}],
        },
        {"code": "STAGE", "label": "Stage", "type": "text", "derived": True},
    ],
    "groups": [
        {
            "code": "results",
            "name": "Results",
            "max": 2,
            "min": 1,
            "items": [
                {"code": "LBTEST", "label": "Test", "type": "text", "required": True},
                {"code": "LBORRES", "label": "Result", "type": "decimal"},
            ],
        }
    ],
}


def clean(raw, complete=True):
    return clean_form(FORM, CODELISTS, raw, today=TODAY, complete=complete)


def base(**extra):
    return {"BRTHDAT": "1970-01-31", "results": [{"LBTEST": "ALT"}], **extra}


def codes(issues):
    return [(i.path, i.code) for i in issues]


def test_clean_values_take_the_stored_representation():
    result = clean(
        base(
            WEIGHT=" 070.5 ",
            ECOG="01",
            DIAGDAT="2019-03",
            SMOKER="yes",
            SMOKE="N",
            METH=["MRI", "CT"],
            TIME="08:05",
            WHEN="2026-05-01 08:05",
            GRADE="1",
        )
    )
    assert result.ok, result.errors
    assert result.values == {
        "BRTHDAT": "1970-01-31",
        "WEIGHT": "70.5",
        "ECOG": "1",
        "DIAGDAT": "2019-03",
        "SMOKER": True,
        "SMOKE": "N",
        "METH": ["CT", "MRI"],
        "TIME": "08:05",
        "WHEN": "2026-05-01T08:05",
        "GRADE": 1,
        "results": [{"LBTEST": "ALT"}],
    }


def test_json_numbers_and_booleans_are_accepted_exactly():
    result = clean(base(WEIGHT=70.3, ECOG=2, SMOKER=False))
    assert result.ok
    assert result.values["WEIGHT"] == "70.3"
    assert result.values["ECOG"] == "2"
    assert result.values["SMOKER"] is False


@pytest.mark.parametrize(
    ("item", "raw", "code"),
    [
        ("WEIGHT", "seventy", "type"),
        ("WEIGHT", "1e3", "type"),
        ("WEIGHT", "70,5", "type"),
        ("WEIGHT", True, "type"),
        ("WEIGHT", "70.55", "decimals"),
        ("ECOG", "1.5", "type"),
        ("ECOG", 1.0, "type"),
        ("BRTHDAT", "2026-02-30", "date"),
        ("BRTHDAT", "31/01/1970", "date"),
        ("BRTHDAT", "1970-01", "partial_date_not_allowed"),
        ("DIAGDAT", "2019-13", "date"),
        ("DIAGDAT", "2019-02-29", "date"),
        ("DIAGDAT", "19-02", "date"),
        ("SEX", "X", "choice"),
        ("SMOKER", "maybe", "type"),
        ("NOTE", "too long", "max_length"),
        ("TIME", "25:00", "time"),
        ("WHEN", "2026-05-01", "datetime"),
        ("METH", ["CT", "PET"], "choice"),
    ],
)
def test_wrong_values_are_hard_errors_naming_item_and_rule(item, raw, code):
    result = clean(base(**{item: raw}))
    assert codes(result.errors) == [(item, code)]
    assert item in result.errors[0].message
    assert item not in result.values


def test_hard_range_blocks_and_names_the_bounds():
    result = clean(base(WEIGHT="250.1"))
    assert codes(result.errors) == [("WEIGHT", "range")]
    assert "250.1 kg is above 250 kg" in result.errors[0].message
    assert "allowed 20–250 kg" in result.errors[0].message
    assert clean(base(WEIGHT="250")).ok
    assert clean(base(WEIGHT="20")).ok
    assert codes(clean(base(ECOG="5")).errors) == [("ECOG", "range")]
    assert codes(clean(base(ECOG="-1")).errors) == [("ECOG", "range")]


def test_soft_range_is_a_warning_with_the_expected_range():
    result = clean(base(WEIGHT="150.1"))
    assert result.ok
    assert codes(result.warnings) == [("WEIGHT", "soft_range")]
    assert result.warnings[0].severity is Severity.WARNING
    assert "expected 35–150 kg" in result.warnings[0].message
    assert result.values["WEIGHT"] == "150.1"
    assert not clean(base(WEIGHT="150")).warnings
    assert not clean(base(WEIGHT="35")).warnings
    assert codes(clean(base(WEIGHT="34.9")).warnings) == [("WEIGHT", "soft_range")]


def test_future_dates_are_refused_including_partial_ones():
    assert codes(clean(base(BRTHDAT="2026-05-21")).errors) == [("BRTHDAT", "future_date")]
    assert clean(base(BRTHDAT="2026-05-20")).ok
    assert clean(base(DIAGDAT="2026-05")).ok
    assert codes(clean(base(DIAGDAT="2026-06")).errors) == [("DIAGDAT", "future_date")]
    assert codes(clean(base(DIAGDAT="2027")).errors) == [("DIAGDAT", "future_date")]


def test_partial_dates_only_where_the_item_allows_them():
    assert clean(base(DIAGDAT="2019")).values["DIAGDAT"] == "2019"
    assert clean(base(DIAGDAT="2019-03-04")).values["DIAGDAT"] == "2019-03-04"
    assert codes(clean(base(BRTHDAT="1970")).errors) == [("BRTHDAT", "partial_date_not_allowed")]


def test_required_items_block_complete_forms_but_not_drafts():
    result = clean({"results": [{"LBTEST": "ALT"}]})
    assert codes(result.errors) == [("BRTHDAT", "required")]
    assert result.errors[0].message == "Date of birth (BRTHDAT) is required"
    assert clean({}, complete=False).ok
    assert codes(clean({"WEIGHT": "x"}, complete=False).errors) == [("WEIGHT", "type")]


def test_unknown_and_derived_items_are_refused():
    result = clean(base(HACK="1", STAGE="IVB"))
    assert codes(result.errors) == [("HACK", "unknown_item"), ("STAGE", "derived_item")]
    assert "STAGE" not in result.values


def test_group_rows_are_cleaned_with_their_row_number():
    result = clean(
        base(
            results=[
                {"LBTEST": "ALT", "LBORRES": "41"},
                {"LBTEST": "", "LBORRES": ""},
                {"LBTEST": "", "LBORRES": "x"},
            ]
        )
    )
    assert codes(result.errors) == [
        ("results[3].LBTEST", "required"),
        ("results[3].LBORRES", "type"),
    ]
    assert result.values["results"] == [{"LBTEST": "ALT", "LBORRES": "41"}]


def test_group_row_counts_and_shapes():
    too_many = clean(base(results=[{"LBTEST": "A"}, {"LBTEST": "B"}, {"LBTEST": "C"}]))
    assert codes(too_many.errors) == [("results", "max_rows")]
    assert codes(clean(base(results=[])).errors) == [("results", "min_rows")]
    assert codes(clean(base(results="ALT")).errors) == [("results", "type")]
    assert codes(clean(base(results=[{"LBTEST": "A", "XX": "1"}])).errors) == [
        ("results[1].XX", "unknown_item")
    ]
    assert codes(clean("not a mapping").errors) == [("", "type")]


CHECKED = {
    **FORM,
    "edit_checks": [
        {
            "code": "W1",
            "severity": "warning",
            "message": "Heavy smoker?",
            "items": ["SMOKE"],
            "rule": "w",
        },
        {
            "code": "E1",
            "severity": "error",
            "message": "End before start",
            "items": ["WEIGHT"],
            "rule": "e",
        },
    ],
}


def test_edit_checks_fail_only_on_false_and_keep_their_severity():
    outcomes = {"w": (False, "Smoking Y"), "e": (None, "End missing")}
    errors, warnings = run_edit_checks(CHECKED, {}, lambda rule, values: outcomes[rule])
    assert errors == []
    assert [(w.item, w.code, w.message) for w in warnings] == [
        ("SMOKE", "W1", "Heavy smoker? (Smoking Y; edit check W1)")
    ]
    outcomes = {"w": (True, ""), "e": (False, "")}
    errors, warnings = run_edit_checks(CHECKED, {}, lambda rule, values: outcomes[rule])
    assert [(e.item, e.code) for e in errors] == [("WEIGHT", "E1")] and warnings == []


def test_validate_form_runs_edit_checks_on_cleaned_values_of_complete_forms_only():
    seen = []

    def evaluate(rule, values):
        seen.append(dict(values))
        return False, ""

    result = validate_form(CHECKED, CODELISTS, base(WEIGHT="bad"), today=TODAY, evaluate=evaluate)
    assert "WEIGHT" not in seen[0]
    assert {(i.code) for i in result.errors} == {"type", "E1"}
    seen.clear()
    validate_form(CHECKED, CODELISTS, base(), today=TODAY, complete=False, evaluate=evaluate)
    assert seen == []


class Post(dict):
    def getlist(self, key):
        value = self[key]
        return value if isinstance(value, list) else [value]


def test_values_from_post_nests_group_rows_in_index_order():
    post = Post(
        {
            "csrfmiddlewaretoken": "x",
            "BRTHDAT": "1970-01-31",
            "METH": ["CT", "MRI"],
            "results.1.LBTEST": "B",
            "results.0.LBTEST": "A",
            "results.0.LBORRES": "1",
            "results.x.LBTEST": "odd",
        }
    )
    values = values_from_post(FORM, post, control_keys=["csrfmiddlewaretoken"])
    assert values == {
        "BRTHDAT": "1970-01-31",
        "METH": ["CT", "MRI"],
        "results": [{"LBTEST": "A", "LBORRES": "1"}, {"LBTEST": "B"}],
        "results.x.LBTEST": "odd",
    }
    assert codes(clean(values).errors) == [("results.x.LBTEST", "unknown_item")]
