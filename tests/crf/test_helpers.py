"""Pure helpers: derived items, radiation phase, rule references, page layout."""

import datetime as dt
import math

import pytest

from crf.ae_form import radiation_phase
from crf.derived_items import bsa_mosteller, completed_months, ebv_undetectable, qtc_fridericia
from crf.form_page import build_page
from crf.subject_record import rule_references
from crf.validation import Issue


def test_bsa_and_qtcf_match_their_formulas():
    value, note = bsa_mosteller({"HEIGHT": "168", "WEIGHT": "62.0"})
    assert value == f"{math.sqrt(168 * 62 / 3600):.2f}" and "Mosteller" in note
    value, _ = qtc_fridericia({"QT": "400", "EGHR": "90"})
    assert value == str(round(400 / (60 / 90) ** (1 / 3)))
    assert bsa_mosteller({"HEIGHT": "168"}) is None
    assert qtc_fridericia({"QT": "400", "EGHR": "0"}) is None


def test_ebv_undetectable():
    assert ebv_undetectable({"EBVDNA": "0"})[0] == "Y"
    assert ebv_undetectable({"EBVDNA": "400", "EBVLLOQ": "500"})[0] == "Y"
    assert ebv_undetectable({"EBVDNA": "500", "EBVLLOQ": "500"})[0] == "N"
    assert ebv_undetectable({}) is None


def test_completed_months():
    assert completed_months(dt.date(2024, 1, 31), dt.date(2024, 2, 29)) == 0
    assert completed_months(dt.date(2024, 1, 15), dt.date(2025, 1, 15)) == 12


@pytest.mark.parametrize(
    ("onset", "starts", "expected"),
    [
        ("2026-04-01", [dt.date(2026, 1, 1)], "ACUTE"),  # 90 days after the start
        ("2026-04-02", [dt.date(2026, 1, 1)], "LATE"),  # 91 days
        ("2026-04-02", [dt.date(2025, 6, 1), dt.date(2026, 3, 1)], "ACUTE"),  # latest course counts
        ("2025-12-31", [dt.date(2026, 1, 1)], "NA"),  # no radiotherapy before onset
        ("2026-03", [dt.date(2026, 1, 1)], None),  # a partial onset leaves it open
        ("2026-03", [], "NA"),
        ("", [dt.date(2026, 1, 1)], None),
    ],
)
def test_radiation_phase_counts_90_days_from_the_latest_rt_start(onset, starts, expected):
    assert radiation_phase(onset, starts) == expected


def test_rule_references_find_forms_and_dates():
    rule = {
        "all": [
            {"cmp": [{"item": "dm.BRTHDAT"}, "<", {"context": "consent_date"}]},
            {"exists": {"group": "prior.tx", "where": {"cmp": [{"item": "PTTYPE"}, "==", "RT"]}}},
            {
                "cmp": [
                    {
                        "latest_within": {
                            "item": "lb.HGB",
                            "date_item": "lb.LBHEMDT",
                            "ref": {"context": "first_dose_date"},
                            "days_before": 14,
                        }
                    },
                    ">=",
                    90,
                ]
            },
            {"cmp": [{"item": "OWN"}, "==", 1]},
        ]
    }
    assert rule_references(rule, "own") == (
        {"dm", "prior", "lb"},
        {"consent_date", "first_dose_date"},
    )


FORM = {
    "code": "x",
    "items": [
        {"code": "A", "label": "Alpha", "type": "text", "required": True},
        {"code": "N1", "label": "Necrosis: extent", "type": "text"},
        {"code": "N2", "label": "Necrosis: date", "type": "date"},
        {"code": "S", "label": "Stage", "type": "text", "derived": True},
        {"code": "Y", "label": "Yes?", "type": "choice", "required": True, "codelist": "NY"},
    ],
    "groups": [
        {"code": "g", "name": "Rows", "items": [{"code": "R", "label": "Row item", "type": "text"}]}
    ],
}


def test_page_sections_fields_and_issue_placement():
    codelists = {"NY": [{"code": "Y", "label": "Yes"}, {"code": "N", "label": "No"}]}
    page = build_page(
        FORM,
        codelists,
        {"A": "a", "S": "III", "Y": "N", "g": [{"R": "r1"}, {"R": "r2"}]},
        errors=[Issue("R", "type", "bad row", group="g", row=2), Issue("", "x", "form level")],
        notes={"S": "T4 N0 M0 ⇒ III"},
    )
    assert [s.title for s in page.sections] == ["", "Necrosis", ""]
    assert page.sections[1].open is False
    first = {f.code: f for f in page.sections[0].fields}
    last = {f.code: f for f in page.sections[2].fields}
    assert first["A"].widget == "text" and first["A"].value == "a"
    assert (last["S"].widget, last["S"].note) == ("derived", "T4 N0 M0 ⇒ III")
    assert last["Y"].widget == "radio" and [c.selected for c in last["Y"].choices] == [False, True]
    rows = page.groups[0].rows
    assert [r[0].name for r in rows] == ["g.0.R", "g.1.R"]
    assert rows[1][0].errors == ["bad row"] and rows[0][0].errors == []
    assert page.form_errors == ["form level"]
