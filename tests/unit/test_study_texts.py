"""Study texts in several languages: the seed studies carry English and Simplified Chinese for
every text, the lookup falls back to the study's first language, and the check names every gap
with its path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from edc.studies.protocol import check_file, translation_problems, validate
from edc.studies.texts import localized, missing_texts, study_text, text_fields

STUDIES = Path(__file__).resolve().parents[2] / "edc" / "studies"
SEEDS = sorted(STUDIES.glob("t-*.yaml"))


@pytest.fixture(scope="module")
def seeds() -> dict[str, dict]:
    out = {}
    for path in SEEDS:
        data, problems = check_file(path)
        assert not problems, problems
        out[path.name] = data
    return out


def test_there_are_four_seed_studies():
    assert len(SEEDS) == 4


@pytest.mark.parametrize("name", [p.name for p in SEEDS])
def test_every_seed_text_has_english_and_simplified_chinese(seeds, name):
    data = seeds[name]
    assert data["languages"] == ["en", "zh-Hans"]
    texts = list(text_fields(data))
    assert len(texts) > 500  # labels, names, codelists, criteria, edit-check messages
    for path, text in texts:
        assert isinstance(text, str) and text.strip(), path
        chinese = study_text(data, text, "zh-Hans")
        assert chinese.strip(), f"{path}: empty zh-Hans text"
        if any(ch.isalpha() and ch.isascii() for ch in text) and len(text) > 12:
            # A sentence or name, not a code like "T1" or "1 kHz": it must really be Chinese.
            assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), f"{path}: {chinese!r}"
    assert missing_texts(data) == []


def test_standard_terms_are_used_for_recist_and_ctcae(seeds):
    data = seeds["t-reirr.yaml"]
    response = {
        c["code"]: study_text(data, c["label"], "zh-Hans")
        for c in data["codelists"]["RECIST_RESPONSE"]
    }
    assert response["CR"] == "完全缓解(CR)"
    assert response["PR"] == "部分缓解(PR)"
    assert response["SD"] == "疾病稳定(SD)"
    assert response["PD"] == "疾病进展(PD)"
    assert response["NE"] == "不可评价(NE)"
    grades = [study_text(data, c["label"], "zh-Hans") for c in data["codelists"]["CTCAE_GRADE"]]
    assert [g.split(" ")[0] for g in grades] == ["1级", "2级", "3级", "4级", "5级"]


def test_texts_to_review_are_listed_and_translated(seeds):
    for data in seeds.values():
        block = data["translations"]["zh-Hans"]
        assert block["review"], "every seed marks the translations a clinician should confirm"
        assert set(block["review"]) <= set(block["texts"])


def test_lookup_follows_the_reader_and_falls_back_to_the_first_language(seeds):
    data = seeds["t-lrrt.yaml"]
    assert study_text(data, "Yes", "zh-hans") == "是"  # Django's lower-case language code
    assert study_text(data, "Yes", "en") == "Yes"
    assert study_text(data, "Yes", "en-us") == "Yes"
    assert study_text(data, "Yes", "fr") == "Yes"  # not a study language: the first one
    assert study_text(data, "A text nobody translated", "zh-Hans") == "A text nobody translated"
    inline = {"en": "Arm A", "zh-Hans": "A组"}
    assert study_text(data, inline, "zh-Hans") == "A组"
    assert study_text(data, inline, "en") == "Arm A"


def test_localized_definition_keeps_codes_and_rules(seeds):
    data = seeds["t-refr.yaml"]
    shown = localized(data, "zh-Hans")
    assert shown["forms"][0]["code"] == data["forms"][0]["code"]
    assert shown["eligibility"][0]["rule"] == data["eligibility"][0].get("rule")
    assert shown["forms"][0]["name"] == study_text(data, data["forms"][0]["name"], "zh-Hans")
    assert shown["forms"][0]["name"] != data["forms"][0]["name"]
    assert data["codelists"]["NY"][0]["label"] == "Yes"  # the stored definition is untouched


def _minimal() -> dict:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "minimal_study.yaml"
    return yaml.safe_load(path.read_text())


def test_check_names_each_missing_text_with_its_path():
    data = copy.deepcopy(_minimal())
    data["languages"] = ["en", "zh-Hans"]
    first_form = data["forms"][0]
    data["translations"] = {"zh-Hans": {"texts": {first_form["name"]: "表"}, "review": ["Nope"]}}
    problems = [str(p) for p in translation_problems(data)]
    label = first_form["items"][0]["label"]
    assert f"forms[0].items[0].label: has no zh-Hans text for {label!r}" in problems
    assert not any(p.startswith("forms[0].name:") for p in problems)
    assert "translations.zh-Hans.review[0]: 'Nope' is not translated above" in problems
    # A missing translation is reported by check_study, not refused by the loader.
    assert validate(data) == []


def test_inline_text_must_carry_every_declared_language():
    data = copy.deepcopy(_minimal())
    data["languages"] = ["en", "zh-Hans"]
    data["forms"][0]["name"] = {"en": "Demographics"}
    data["translations"] = {"zh-Hans": {"texts": {}}}
    assert validate(data) == []
    problems = [str(p) for p in translation_problems(data)]
    assert "forms[0].name: has no zh-Hans text" in problems


def test_a_language_tag_and_translations_of_undeclared_languages_are_checked():
    data = copy.deepcopy(_minimal())
    data["languages"] = ["en", "Chinese!"]
    assert any(p.path == "languages[1]" for p in validate(data))
    data["languages"] = ["en"]
    data["translations"] = {"fr": {"texts": {"Yes": "Oui"}}}
    assert "translations.fr: translates into fr, not a language of this study" in [
        str(p) for p in translation_problems(data)
    ]


def test_the_crf_test_study_declares_english_only_and_so_lacks_no_text():
    """The CRF tests' own study is English only on purpose; were it to declare zh-Hans, every
    one of its texts would be reported missing (so the declaration, not luck, keeps it clean)."""
    path = STUDIES.parents[1] / "tests" / "crf" / "fixtures" / "crf_study.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["languages"] == ["en"]
    assert translation_problems(data) == [] and validate(data) == []
    bilingual = {**data, "languages": ["en", "zh-Hans"]}
    assert len(translation_problems(bilingual)) > 100
