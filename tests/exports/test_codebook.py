"""The export layout: names, the union of protocol versions, long rows of one form, and the
codebook and codelist rows. Pure: no database."""

import copy
from pathlib import Path

import pytest
import yaml

from edc.exports.codebook import (
    FormExpander,
    build_layout,
    codebook_rows,
    codelist_rows,
    label_rows,
    value_text,
)
from edc.exports.tables import FIXED_DATASETS, Column, sas_label, sas_names

DEFINITION = yaml.safe_load(Path(__file__).with_name("export_study.yaml").read_text())


def test_sas_names_are_short_upper_and_distinct():
    names = sas_names(
        ["demographics", "demographics_followup", "9lives", "ae", "audit_trail"],
        reserved=FIXED_DATASETS.values(),
    )
    assert names["demographics"] == "DEMOGRAP"
    assert names["demographics_followup"] == "DEMOGRA2"
    assert names["9lives"] == "T9LIVES"
    assert names["ae"] == "AE"
    assert names["audit_trail"] == "AUDIT_TR"
    assert len(set(names.values())) == 5
    assert "AUDIT" not in names.values()
    assert all(len(n) <= 8 and n.upper() == n for n in names.values())


def test_reserved_names_are_never_reused():
    assert sas_names(["audit", "codebook"], reserved=FIXED_DATASETS.values()) == {
        "audit": "AUDIT2",
        "codebook": "CODEBOO2",
    }


def test_column_names_and_labels_obey_sas_v5():
    with pytest.raises(ValueError):
        Column("TOOLONGNAME", "x")
    with pytest.raises(ValueError):
        Column("lower", "x")
    with pytest.raises(ValueError):
        Column("OK", "x" * 41)
    assert sas_label("Label  with\nspaces") == "Label with spaces"
    assert len(sas_label("y" * 60)) == 40


def test_layout_follows_the_definition():
    layout = build_layout([DEFINITION])
    assert [f.code for f in layout.forms] == ["demographics", "randomization", "tumour", "ae"]
    assert [e.code for e in layout.events] == ["SCREEN", "RAND", "CYCLE", "UNSCHED"]
    assert {e.code: e.repeating for e in layout.events} == {
        "SCREEN": False,
        "RAND": False,
        "CYCLE": True,
        "UNSCHED": True,
    }
    tumour = layout.form("tumour")
    assert [i.code for i in tumour.items] == ["TUDAT", "TUNOTE"]
    assert [(g.code, [i.code for i in g.items]) for g in tumour.groups] == [
        ("lesions", ["LESID", "LOC", "LDIAM"])
    ]
    assert [i.order for i in tumour.all_items] == [1, 2, 3, 4, 5]
    loc = tumour.groups[0].items[1]
    assert loc.codelist == "LOC" and loc.labels["NECK"] == "Neck node"
    sex = layout.form("demographics").items[1]
    assert sex.codelist == "demographics.SEX" and sex.labels == {"M": "Male", "F": "Female"}
    grade = layout.form("ae").items[1]
    assert grade.labels == {"1": "Mild", "2": "Moderate", "3": "Severe"}
    assert layout.arms == (("A", "Immediate re-irradiation"), ("B", "Selective re-irradiation"))
    assert layout.factors[0].levels == (("CR", "Complete"), ("PR", "Partial"))


def test_older_versions_add_their_items_after_the_newest():
    old = copy.deepcopy(DEFINITION)
    new = copy.deepcopy(DEFINITION)
    demographics = old["forms"][0]
    demographics["items"].append({"code": "HEIGHT", "label": "Height", "type": "decimal"})
    demographics["items"][1]["label"] = "Sex at birth (old wording)"
    old["forms"][2]["groups"][0]["items"].append({"code": "SITE", "label": "Site", "type": "text"})
    old["forms"].append(
        {
            "code": "retired",
            "name": "Retired form",
            "domain": "XX",
            "items": [{"code": "OLD", "label": "Old item", "type": "text"}],
        }
    )
    new["forms"][0]["items"][1]["label"] = "Sex"
    layout = build_layout([new, old])
    demographics = layout.form("demographics")
    assert [i.code for i in demographics.items][-1] == "HEIGHT"
    assert demographics.items[1].label == "Sex"
    assert [i.code for i in layout.form("tumour").groups[0].items] == [
        "LESID",
        "LOC",
        "LDIAM",
        "SITE",
    ]
    assert layout.form("retired").dataset == "RETIRED"


def test_value_text_keeps_raw_values():
    assert value_text("2026-05") == "2026-05"
    assert value_text("61.50") == "61.50"
    assert value_text(True) == "true" and value_text(False) == "false"
    assert value_text(["ASIAN", "OTHER"]) == "ASIAN|OTHER"
    assert value_text(None) is None and value_text("") is None and value_text([]) is None
    assert value_text(3) == "3"
    assert value_text({"b": 1, "a": "x"}) == '{"a":"x","b":1}'


def test_a_form_becomes_long_rows_with_labels():
    layout = build_layout([DEFINITION])
    rows = FormExpander(layout.form("demographics")).rows(
        ("K",),
        {
            "SEX": "F",
            "BRTHDAT": "1970-01-02",
            "RACE": ["ASIAN", "OTHER"],
            "SMOKER": False,
            "WEIGHT": None,
            "HOMETOWN": "",
            "ZEXTRA": "legacy",
        },
    )
    assert rows == [
        ("K", "", 0, "BRTHDAT", "1970-01-02", "", "", "", ""),
        ("K", "", 0, "SEX", "F", "Female", "", "", ""),
        ("K", "", 0, "RACE", "ASIAN|OTHER", "Asian|Other", "", "", ""),
        ("K", "", 0, "SMOKER", "false", "No", "", "", ""),
        ("K", "", 0, "ZEXTRA", "legacy", "", "", "", ""),
    ]


def test_group_rows_are_numbered_from_one_and_follow_plain_items():
    layout = build_layout([DEFINITION])
    data = {
        "lesions": [{"LDIAM": "23.0", "LESID": "T1", "LOC": "NP"}, {"LESID": "T2", "NEW": "x"}],
        "TUDAT": "2026-02-01",
        "other": [{"A": "1"}],
    }
    rows = FormExpander(layout.form("tumour")).rows((), data)
    assert rows == [
        ("", 0, "TUDAT", "2026-02-01", "", "", "", ""),
        ("lesions", 1, "LESID", "T1", "", "", "", ""),
        ("lesions", 1, "LOC", "NP", "Nasopharynx", "", "", ""),
        ("lesions", 1, "LDIAM", "23.0", "", "mm", "23.0", "mm"),
        ("lesions", 2, "LESID", "T2", "", "", "", ""),
        ("lesions", 2, "NEW", "x", "", "", "", ""),
        ("other", 1, "A", "1", "", "", "", ""),
    ]


def test_an_unknown_form_still_exports_its_values():
    assert FormExpander(None).rows((), {"B": "2", "A": "1"}) == [
        ("", 0, "A", "1", "", "", "", ""),
        ("", 0, "B", "2", "", "", "", ""),
    ]


def test_codebook_and_codelists():
    layout = build_layout([DEFINITION])
    book = list(codebook_rows(layout))
    assert len(book) == sum(len(f.all_items) for f in layout.forms)
    weight = next(r for r in book if r[5] == "WEIGHT")
    assert weight == (
        "DEMOGRAP", "demographics", "Demographics", "DM", "", "WEIGHT", 3, "Weight", "decimal",
        "kg", "", 0, "1", "", "20", "250", "N", "N",
    )  # fmt: skip
    ldiam = next(r for r in book if r[5] == "LDIAM")
    assert ldiam[4] == "lesions" and ldiam[9] == "mm"
    lists = list(codelist_rows(layout))
    names = []
    for name, *_ in lists:
        if name not in names:
            names.append(name)
    assert names == [
        "NY", "LOC", "demographics.SEX", "demographics.RACE", "BOOLEAN",
        "randomization.STRESP", "ae.AETOXGR", "RANDOMIZATION.ARM", "RANDOMIZATION.response",
    ]  # fmt: skip
    assert ("LOC", 2, "NECK", "Neck node") in lists
    assert ("ae.AETOXGR", 3, "3", "Severe") in lists
    assert ("RANDOMIZATION.ARM", 1, "A", "Immediate re-irradiation") in lists


def test_an_item_with_alternative_units_exports_its_value_and_what_was_entered():
    definition = {
        **DEFINITION,
        "forms": [
            {
                "code": "lab",
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
                    },
                    {"code": "CREATULN", "label": "ULN", "type": "decimal", "unit": "umol/L"},
                ],
            }
        ],
    }
    layout = build_layout([definition])
    data = {
        "CREAT": "160.0071",
        "CREAT__entered": {"value": "1.81", "unit": "mg/dL"},
        "CREATULN": "104",
    }
    assert FormExpander(layout.form("lab")).rows((), data) == [
        ("", 0, "CREAT", "160.0071", "", "umol/L", "1.81", "mg/dL"),
        ("", 0, "CREATULN", "104", "", "umol/L", "104", "umol/L"),
    ]
    creat = next(r for r in codebook_rows(layout) if r[5] == "CREAT")
    assert creat[9:11] == ("umol/L", "mg/dL")


def test_labels_table_carries_every_label_in_each_declared_language():
    definition = copy.deepcopy(DEFINITION)
    definition["languages"] = ["en", "zh-Hans"]
    definition["translations"] = {
        "zh-Hans": {"texts": {"Sex": "性别", "Male": "男", "Neck node": "颈部淋巴结"}}
    }
    definition["schedule"]["events"][0]["name"] = {"en": "Screening", "zh-Hans": "筛选"}
    layout = build_layout([definition])
    rows = list(label_rows(layout))
    assert ("item", "demographics", "", "SEX", "", "", "en", "Sex") in rows
    assert ("item", "demographics", "", "SEX", "", "", "zh-Hans", "性别") in rows
    assert ("codelist", "", "", "", "LOC", "NECK", "zh-Hans", "颈部淋巴结") in rows
    assert ("codelist", "", "", "", "demographics.SEX", "M", "zh-Hans", "男") in rows
    assert ("visit", "", "", "", "", "SCREEN", "zh-Hans", "筛选") in rows
    # Every label appears once per language; the codebook itself keeps the first language.
    assert len(rows) == 2 * len([r for r in rows if r[6] == "en"])
    assert {r[6] for r in rows} == {"en", "zh-Hans"}
    assert next(e for e in layout.events if e.code == "SCREEN").name == "Screening"
    assert next(r for r in codebook_rows(layout) if r[5] == "SEX")[7] == "Sex"


def test_a_study_in_one_language_has_one_label_row_per_text():
    rows = list(label_rows(build_layout([DEFINITION])))
    assert {r[6] for r in rows} == {"en"}
    assert ("study", "", "", "", "", "", "en", DEFINITION["title"]) in rows
