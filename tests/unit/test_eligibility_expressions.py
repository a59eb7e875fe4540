"""The rule-expression evaluator: three-valued logic, exact numbers, calendar arithmetic, formulas."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest

from crf.rules.expressions import (
    ExpressionError,
    ItemLabel,
    PartialDate,
    SubjectData,
    add_months,
    add_years,
    age_in_years,
    evaluate_condition,
    evaluate_edit_check,
    evaluate_value,
    normalize,
)
from tests.unit.eligibility_subjects import definition

T, F, M = True, False, None
MISSING_ITEM = {"item": "f.NOPE"}


def truth(expr, data=None):
    return evaluate_condition(expr, data or SubjectData()).truth


def cond(value):
    """A condition with the given truth value (None = a comparison with a missing item)."""
    if value is None:
        return {"cmp": [MISSING_ITEM, "==", 1]}
    return value


# ---- Kleene logic ---------------------------------------------------------------------------------

KLEENE_AND = {(T, T): T, (T, F): F, (T, M): M, (F, F): F, (F, M): F, (M, M): M}
KLEENE_OR = {(T, T): T, (T, F): T, (T, M): T, (F, F): F, (F, M): M, (M, M): M}


@pytest.mark.parametrize(("pair", "expected"), list(KLEENE_AND.items()))
def test_all_is_kleene_and(pair, expected):
    a, b = pair
    assert truth({"all": [cond(a), cond(b)]}) is expected
    assert truth({"all": [cond(b), cond(a)]}) is expected


@pytest.mark.parametrize(("pair", "expected"), list(KLEENE_OR.items()))
def test_any_is_kleene_or(pair, expected):
    a, b = pair
    assert truth({"any": [cond(a), cond(b)]}) is expected
    assert truth({"any": [cond(b), cond(a)]}) is expected


@pytest.mark.parametrize(("value", "expected"), [(T, F), (F, T), (M, M)])
def test_not(value, expected):
    assert truth({"not": cond(value)}) is expected


def test_present_is_never_missing():
    data = SubjectData(forms={"f": {"A": 0, "B": ""}})
    assert truth({"present": {"item": "f.A"}}, data) is True
    assert truth({"present": {"item": "f.B"}}, data) is False
    assert truth({"present": MISSING_ITEM}, data) is False


def test_in_with_single_and_multiple_choices():
    data = SubjectData(forms={"f": {"ONE": "PR", "MANY": ["CISPLATIN", "ANTI_PD1"], "EMPTY": []}})
    assert truth({"in": [{"item": "f.ONE"}, ["CR", "PR"]]}, data) is True
    assert truth({"in": [{"item": "f.ONE"}, ["CR"]]}, data) is False
    assert truth({"in": [{"item": "f.MANY"}, ["ANTI_PD1", "ANTI_PDL1"]]}, data) is True
    assert truth({"in": [{"item": "f.MANY"}, ["ANTI_CTLA4"]]}, data) is False
    assert truth({"in": [{"item": "f.EMPTY"}, ["ANTI_CTLA4"]]}, data) is None


def test_integer_choice_codes_match_stored_strings_and_numbers():
    assert truth({"in": [{"item": "f.E"}, [0, 1]]}, SubjectData(forms={"f": {"E": "1"}})) is True
    assert truth({"in": [{"item": "f.E"}, [0, 1]]}, SubjectData(forms={"f": {"E": 1}})) is True
    assert truth({"cmp": [{"item": "f.E"}, ">=", 2]}, SubjectData(forms={"f": {"E": "3"}})) is True


def test_boolean_items_compare_with_yes_no_codes():
    data = SubjectData(forms={"f": {"B": True}})
    assert truth({"cmp": [{"item": "f.B"}, "==", "Y"]}, data) is True
    assert truth({"cmp": [{"item": "f.B"}, "==", "N"]}, data) is False


# ---- numbers --------------------------------------------------------------------------------------


def test_numbers_are_exact_decimals():
    # In binary floating point 0.3 / 0.1 is 2.9999999999999996 and 0.1 + 0.2 > 0.3.
    assert truth({"cmp": [{"ratio": [0.3, 0.1]}, "==", 3]}) is True
    assert normalize(0.1) + normalize(0.2) == normalize(0.3)


@pytest.mark.parametrize(
    ("op", "expected"), [("<", F), ("<=", T), (">", F), (">=", T), ("==", T), ("!=", F)]
)
def test_comparison_operators_at_equality(op, expected):
    data = SubjectData(forms={"lb": {"V": "1.50"}})
    assert truth({"cmp": [{"item": "lb.V"}, op, 1.5]}, data) is expected


def test_ratio_with_zero_uln_is_missing():
    assert truth({"cmp": [{"ratio": [10, 0]}, "<=", 1.5]}) is None


def test_ordering_text_against_a_number_is_a_definition_error():
    with pytest.raises(ExpressionError):
        truth({"cmp": ["Y", ">", 3]})


def test_min_and_max_ignore_missing_values():
    assert evaluate_value({"max": [MISSING_ITEM, 3, 7]}, SubjectData()).value == Decimal(7)
    assert evaluate_value({"min": [MISSING_ITEM, 3, 7]}, SubjectData()).value == Decimal(3)
    assert evaluate_value({"max": [MISSING_ITEM]}, SubjectData()).value is None


# ---- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2026, 3, 2), -5, date(2021, 3, 2)),
        (date(2026, 3, 2), 2, date(2028, 3, 2)),
    ],
)
def test_add_years_clamps_29_february(day, years, expected):
    assert add_years(day, years) == expected
    expr = {"add_years": [{"date": day.isoformat()}, years]}
    assert evaluate_value(expr, SubjectData()).value == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 2), -6, date(2025, 9, 2)),
        (date(2026, 8, 31), -6, date(2026, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
    ],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_add_days_and_days_between():
    data = SubjectData(context={"first_dose_date": date(2026, 4, 20)})
    expr = {"add_days": [{"context": "first_dose_date"}, -14]}
    assert evaluate_value(expr, data).value == date(2026, 4, 6)
    between = {"days_between": [{"date": "2026-04-06"}, {"context": "first_dose_date"}]}
    assert evaluate_value(between, data).value == Decimal(14)


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        (date(1955, 5, 2), date(2026, 5, 1), 70),
        (date(1955, 5, 1), date(2026, 5, 1), 71),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(2000, 12, 31), date(2001, 1, 1), 0),
    ],
)
def test_age_in_completed_years(born, on, years):
    assert age_in_years(born, on) == years


def test_partial_dates_compare_only_when_every_day_agrees():
    limit = {"date": "2021-03-02"}

    def after(value):
        return truth({"cmp": [{"item": "f.D"}, ">", limit]}, SubjectData(forms={"f": {"D": value}}))

    assert after("2020") is False
    assert after("2022") is True
    assert after("2021") is None
    assert after("2021-03") is None
    assert after("2021-04") is True
    assert after("2021-02") is False


def test_partial_dates_are_missing_in_day_arithmetic():
    data = SubjectData(forms={"f": {"D": "2021-03"}}, context={"consent_date": date(2026, 3, 2)})
    assert (
        evaluate_value({"days_between": [{"item": "f.D"}, {"context": "consent_date"}]}, data).value
        is None
    )
    assert (
        evaluate_value({"age_years": [{"item": "f.D"}, {"context": "consent_date"}]}, data).value
        is None
    )


def test_partial_date_parsing():
    assert normalize("2019-04") == PartialDate(2019, 4)
    assert normalize("2019", "partial_date") == PartialDate(2019)
    assert normalize("2019", "decimal") == Decimal(2019)
    assert normalize("2019") == "2019"
    assert PartialDate(2024, 2).last_day == date(2024, 2, 29)
    assert normalize("2019-13") == "2019-13"


def test_within_days_bounds_are_inclusive():
    def within(sampled):
        return truth(
            {
                "within_days": {
                    "date": {"date": sampled},
                    "ref": {"date": "2026-04-20"},
                    "min": 0,
                    "max": 14,
                }
            }
        )

    assert within("2026-04-06") is True
    assert within("2026-04-20") is True
    assert within("2026-04-05") is False
    assert within("2026-04-21") is False


# ---- latest_within --------------------------------------------------------------------------------


def lab(day, value):
    return {"LBHEMDT": day, "HGB": value}


LATEST_HGB = {
    "latest_within": {
        "item": "lb.HGB",
        "date_item": "lb.LBHEMDT",
        "ref": {"context": "first_dose_date"},
        "days_before": 14,
    }
}


def test_latest_within_takes_the_latest_value_inside_the_window():
    data = SubjectData(
        forms={"lb": lab(date(2026, 4, 25), 70)},
        history={
            "lb": [
                lab(date(2026, 4, 1), 80),
                lab(date(2026, 4, 10), 95),
                lab(date(2026, 4, 25), 70),
            ]
        },
        context={"first_dose_date": date(2026, 4, 20)},
    )
    assert evaluate_value(LATEST_HGB, data).value == Decimal(95)


def test_latest_within_is_missing_outside_the_window_or_without_reference():
    data = SubjectData(
        forms={"lb": lab(date(2026, 4, 5), 120)}, context={"first_dose_date": date(2026, 4, 20)}
    )
    assert evaluate_value(LATEST_HGB, data).value is None
    assert (
        evaluate_value(LATEST_HGB, SubjectData(forms={"lb": lab(date(2026, 4, 5), 120)})).value
        is None
    )


def test_latest_within_reads_rows_of_a_repeating_form():
    data = SubjectData(
        rows={"lb": [lab(date(2026, 4, 8), 91), lab(date(2026, 4, 12), 89)]},
        context={"first_dose_date": date(2026, 4, 20)},
    )
    assert evaluate_value(LATEST_HGB, data).value == Decimal(89)


# ---- repeating groups -----------------------------------------------------------------------------

HIGH_GRADE = {"exists": {"group": "mh.tox", "where": {"cmp": [{"item": "GR"}, ">=", 3]}}}
COUNT_HIGH = {"count": {"group": "mh.tox", "where": {"cmp": [{"item": "GR"}, ">=", 3]}}}


@pytest.mark.parametrize(
    ("rows", "exists", "count"),
    [
        (None, M, None),
        ([], F, 0),
        ([{"GR": 2}], F, 0),
        ([{"GR": 3}, {"GR": 1}], T, 1),
        ([{"GR": 3}, {}], T, None),
        ([{"GR": 2}, {}], M, None),
    ],
)
def test_exists_and_count_over_rows(rows, exists, count):
    data = SubjectData(rows={} if rows is None else {"mh.tox": rows})
    assert truth(HIGH_GRADE, data) is exists
    value = evaluate_value(COUNT_HIGH, data).value
    assert value == (None if count is None else Decimal(count))


def test_a_saved_form_without_group_rows_has_an_empty_log():
    data = SubjectData(forms={"mh": {"ANY": "N"}})
    assert truth(HIGH_GRADE, data) is False
    assert evaluate_value(COUNT_HIGH, data).value == Decimal(0)


def test_rows_can_read_items_of_other_forms():
    data = SubjectData(
        forms={"rand": {"AGENT": "DOCETAXEL"}}, rows={"prior.tx": [{"DRUG": ["DOCETAXEL"]}]}
    )
    expr = {
        "exists": {
            "group": "prior.tx",
            "where": {"in": [{"item": "DRUG"}, [{"item": "rand.AGENT"}]]},
        }
    }
    assert truth(expr, data) is True


def test_bare_item_outside_a_row_is_a_definition_error():
    with pytest.raises(ExpressionError):
        truth({"present": {"item": "HGB"}})


def test_unknown_operator_is_a_definition_error():
    with pytest.raises(ExpressionError):
        truth({"between": [1, 2, 3]})


# ---- clinical formulas ----------------------------------------------------------------------------


def qtc_value(qt, hr, method):
    expr = {"qtc": {"qt_ms": qt, "heart_rate": hr, "method": method}}
    return evaluate_value(expr, SubjectData()).value


@pytest.mark.parametrize(("qt", "hr"), [(400, 60), (400, 90), (430, 84), (380, 50), (450, 120)])
def test_qtc_matches_the_formulas(qt, hr):
    rr = 60 / hr
    assert float(qtc_value(qt, hr, "fridericia")) == pytest.approx(qt / rr ** (1 / 3), rel=1e-12)
    assert float(qtc_value(qt, hr, "bazett")) == pytest.approx(qt / math.sqrt(rr), rel=1e-12)


def test_fridericia_and_bazett_classify_a_woman_differently():
    # QT 400 ms at 90/min: QTcF 457.9 ms (<= 470), QTcB 489.9 ms (> 470).
    def prolonged(method):
        return truth(
            {"cmp": [{"qtc": {"qt_ms": 400, "heart_rate": 90, "method": method}}, ">", 470]}
        )

    assert prolonged("fridericia") is False
    assert prolonged("bazett") is True


def test_qtc_at_60_per_minute_needs_no_correction():
    assert qtc_value(400, 60, "fridericia") == Decimal(400)
    assert qtc_value(400, 60, "bazett") == Decimal(400)


def hbv(value, unit, factor=5):
    expr = {"hbv_copies_per_ml": {"value": value, "unit": unit, "iu_factor": factor}}
    return evaluate_value(expr, SubjectData())


def test_hbv_iu_conversion():
    assert hbv(200, "IU_ML").value == Decimal(1000)
    assert hbv(200, "IU/mL").value == Decimal(1000)
    assert hbv(200, "IU_ML", factor=5.8).value == Decimal(1160)
    assert hbv(1000, "COPIES_ML").value == Decimal(1000)
    assert hbv(1000, "copies/mL").value == Decimal(1000)
    assert hbv(None, "IU_ML").value is None
    with pytest.raises(ExpressionError):
        hbv(10, "ng/mL")


def test_cockcroft_gault_expression_converts_micromoles():
    expr = {
        "crcl_cockcroft_gault": {"age": 62, "weight_kg": 52, "creatinine_umol_l": 88.4, "sex": "F"}
    }
    # Creatinine 88.4 µmol/L = 1 mg/dL: (140 - 62) x 52 / 72 x 0.85.
    expected = Decimal(78 * 52) / Decimal(72) * Decimal("0.85")
    assert evaluate_value(expr, SubjectData()).value == expected


# ---- reasons --------------------------------------------------------------------------------------


def test_reasons_use_labels_units_and_the_relation_that_holds():
    labels = {"lb.HGB": ItemLabel("Haemoglobin", "g/L")}
    data = SubjectData(forms={"lb": {"HGB": 89}})
    outcome = evaluate_condition({"cmp": [{"item": "lb.HGB"}, ">=", 90]}, data, labels)
    assert outcome.truth is False
    assert outcome.reason == "Haemoglobin 89 g/L < 90 g/L"
    missing = evaluate_condition({"cmp": [{"item": "lb.HGB"}, ">=", 90]}, SubjectData(), labels)
    assert missing.reason == "Haemoglobin missing"


# ---- edit checks ------------------------------------------------------------------------------------


def study_check(study, form_code, check_code):
    form = next(f for f in definition(study)["forms"] if f["code"] == form_code)
    return next(c for c in form["edit_checks"] if c["code"] == check_code)


def ae(**values):
    base = {
        "AETERM": "Pneumonitis",
        "AETOXGR": 2,
        "AESTDAT": date(2026, 5, 1),
        "AESER": "N",
        "AEOUT": "RECOVERED",
        "AEENDAT": date(2026, 5, 20),
    }
    return {k: v for k, v in (base | values).items() if v is not None}


@pytest.mark.parametrize(
    ("check", "values", "query"),
    [
        ("AE01", ae(), False),
        ("AE01", ae(AEENDAT=date(2026, 4, 30)), True),
        ("AE01", ae(AESTDAT="2026-05", AEENDAT=date(2026, 5, 20)), False),
        ("AE01", ae(AESTDAT="2026-05", AEENDAT=date(2026, 4, 20)), True),
        ("AE02", ae(AEONGO="Y"), True),
        ("AE02", ae(AEENDAT=None), True),
        ("AE02", ae(AEENDAT=None, AEONGO="Y"), False),
        ("AE03", ae(AETOXGR=5, AEOUT="RECOVERED"), True),
        ("AE03", ae(AETOXGR=5, AEOUT="FATAL"), False),
        ("AE04", ae(AESER="Y"), True),
        ("AE04", ae(AESER="Y", AESHOSP="Y"), False),
        ("AE04", ae(AESER="Y", AESHOSP="N", AESMIE="N"), True),
        ("AE10", ae(AEACNPD1="DOSE_REDUCED"), True),
        ("AE10", ae(AEACNPD1="DRUG_INTERRUPTED"), False),
    ],
)
def test_adverse_event_edit_checks_of_the_study_file(check, values, query):
    rule = study_check("T-REIRR", "ae", check)["rule"]
    outcome = evaluate_edit_check(rule, "ae", values)
    assert (outcome.truth is False) is query


def test_lab_window_check_is_a_warning_within_14_days_of_the_first_dose():
    check = study_check("T-REIRR", "lb", "LB01")
    assert check["severity"] == "warning"
    data = SubjectData(context={"first_dose_date": date(2026, 4, 20)})
    assert (
        evaluate_edit_check(check["rule"], "lb", {"LBHEMDT": date(2026, 4, 6)}, data).truth is True
    )
    assert (
        evaluate_edit_check(check["rule"], "lb", {"LBHEMDT": date(2026, 4, 5)}, data).truth is False
    )
    no_dose_yet = evaluate_edit_check(check["rule"], "lb", {"LBHEMDT": date(2026, 4, 5)})
    assert no_dose_yet.truth is None
    on_treatment = evaluate_edit_check(check["rule"], "lb", {"LBHEMDT": date(2026, 6, 1)}, data)
    assert on_treatment.truth is True


def test_edit_checks_read_the_groups_of_the_instance_being_checked():
    rule = study_check("T-REIRR", "mh", "MH06")["rule"]
    assert evaluate_edit_check(rule, "mh", {"MHMALANY": "Y", "malig": []}).truth is False
    assert (
        evaluate_edit_check(rule, "mh", {"MHMALANY": "Y", "malig": [{"MALTYPE": "BCC"}]}).truth
        is True
    )
    assert evaluate_edit_check(rule, "mh", {"MHMALANY": "N", "malig": []}).truth is True


def test_planned_agent_check_of_t_refr_reads_the_prior_therapy_log():
    rule = study_check("T-REFR", "rand", "RN01")["rule"]
    data = SubjectData(
        forms={"prior": {"PTANY": "Y"}},
        rows={
            "prior.tx": [{"PTTYPE": "SYSTEMIC", "PTSETTG": "METASTATIC", "PTDRUG": ["GEMCITABINE"]}]
        },
    )
    assert evaluate_edit_check(rule, "rand", {"PLCHEMO": "GEMCITABINE"}, data).truth is False
    assert evaluate_edit_check(rule, "rand", {"PLCHEMO": "DOCETAXEL"}, data).truth is True
