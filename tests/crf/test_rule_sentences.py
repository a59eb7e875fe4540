"""Rule explanations read as sentences in the reader's language, built from translatable pieces:
the engines return phrases, the page layer renders them with gettext and the study's texts."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from crf.explanations import explain, explain_stored, sentence, working
from crf.rules.eligibility import Status, evaluate_criterion, item_labels
from crf.rules.recist import (
    Assessment,
    Baseline,
    BaselineLesion,
    NonTargetObservation,
    NonTargetStatus,
    SiteCode,
    TargetMeasurement,
    evaluate_timepoint,
    mm,
)
from edc.phrases import Label, from_json, phrase, to_json
from tests.unit.eligibility_subjects import (
    GOLDEN,
    applied,
    both,
    context,
    criteria_by_id,
    definition,
    put,
)


def r_in9(**values):
    subject = applied(GOLDEN["T-REIRR"](), both(*(put(k, v) for k, v in values.items())))
    data = definition("T-REIRR")
    result = evaluate_criterion(
        criteria_by_id("T-REIRR")["R-IN9"], subject.data(), labels=item_labels(data)
    )
    return result, data


def test_a_failed_lab_reads_as_a_sentence_in_english_with_its_working():
    result, data = r_in9(**{"lb.ANC": 0.5})
    assert result.status == Status.FAIL
    with translation.override("en"):
        steps = explain(result.reasons, data)
    assert [s.sentence for s in steps] == [
        "Absolute neutrophil count 0.5 10^9/L is below 1.5 10^9/L"
    ]
    assert [s.working for s in steps] == ["Absolute neutrophil count 0.5 10^9/L < 1.5 10^9/L"]
    # The signed, stored reason is the English working, as before phrases.
    assert result.reason == "Absolute neutrophil count 0.5 10^9/L < 1.5 10^9/L ⇒ fail"


def test_the_same_reason_in_simplified_chinese_uses_the_study_label_and_the_catalogue():
    result, data = r_in9(**{"lb.ANC": 0.5})
    with translation.override("zh-hans"):
        steps = explain(result.reasons, data)
    assert [s.sentence for s in steps] == ["中性粒细胞绝对计数 0.5 10^9/L，低于 1.5 10^9/L"]
    assert [s.working for s in steps] == ["中性粒细胞绝对计数 0.5 10^9/L < 1.5 10^9/L"]


def test_a_passing_boundary_and_a_missing_value_in_both_languages():
    result, data = r_in9(**{"lb.HGB": 90, "lb.ANC": 1.5, "lb.PLT": 100})
    with translation.override("en"):
        english = [s.sentence for s in explain(result.reasons, data)]
    with translation.override("zh-hans"):
        chinese = [s.sentence for s in explain(result.reasons, data)]
    assert "Haemoglobin 90 g/L is not below 90 g/L" in english
    assert "血红蛋白 90 g/L，不低于 90 g/L" in chinese

    missing, _ = r_in9(**{"lb.HGB": None})
    assert missing.status == Status.MISSING
    with translation.override("zh-hans"):
        (chinese,) = [s.sentence for s in explain(missing.reasons, data)]
    with translation.override("en"):
        (english,) = [s.sentence for s in explain(missing.reasons, data)]
    assert english.startswith("Haemoglobin: no value dated 0–14 days before first dose date 20")
    assert chinese.startswith("血红蛋白：首次给药日期 20") and chinese.endswith(
        "之前 0–14 天内无数值"
    )


def test_dates_compare_as_before_and_after():
    subject = applied(
        GOLDEN["T-REIRR"](),
        both(put("dm.BRTHDAT", date(2008, 5, 2)), context("consent_date", date(2026, 5, 1))),
    )
    data = definition("T-REIRR")
    result = evaluate_criterion(
        criteria_by_id("T-REIRR")["R-IN1"], subject.data(), labels=item_labels(data)
    )
    assert result.status == Status.FAIL
    with translation.override("en"):
        text = " | ".join(s.sentence for s in explain(result.reasons, data))
    assert "age 17 years at consent date 2026-05-01 is below 18" in text
    with translation.override("zh-hans"):
        text = " | ".join(s.sentence for s in explain(result.reasons, data))
    assert "知情同意日期 2026-05-01 时年龄 17 岁，低于 18" in text


def test_attestation_reasons_name_the_item_in_the_reader_language():
    data = definition("T-REIRR")
    attested = next(c for c in data["eligibility"] if c["type"] == "attestation")
    ref = attested["attestation"]
    subject = applied(GOLDEN["T-REIRR"](), put(f"{ref['form']}.{ref['item']}", "N"))
    result = evaluate_criterion(attested, subject.data(), labels=item_labels(data))
    assert result.status == Status.ATTESTED_NO
    with translation.override("zh-hans"):
        (step,) = explain(result.reasons, data)
    assert step.sentence.startswith("研究者声明为“否”：")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in step.sentence.split("：", 1)[1])


def _baseline() -> Baseline:
    return Baseline(
        scan_date=date(2026, 1, 5),
        lesions=(
            BaselineLesion("T1", "liver", SiteCode.LIVER, False, mm(30), is_target=True),
            BaselineLesion("T2", "lung", SiteCode.LUNG, False, mm(20), is_target=True),
            BaselineLesion("NT1", "bone", SiteCode.BONE, False, None),
        ),
    )


def test_recist_derivation_lines_in_both_languages():
    assessment = Assessment(
        "A1",
        date(2026, 3, 2),
        targets=(TargetMeasurement("T1", mm(15)), TargetMeasurement("T2", mm(10))),
        non_targets=(NonTargetObservation("NT1", NonTargetStatus.PRESENT),),
    )
    result = evaluate_timepoint(_baseline(), assessment)
    with translation.override("en"):
        english = [sentence(line, {}) for line in result.derivation]
    assert english == [str(line) for line in result.derivation]  # as the engine's tests read
    assert "SoD 25 mm vs baseline 50 mm: -25.0 mm, -50.0% ⇒ PR (decrease ≥ 30%)" in english
    with translation.override("zh-hans"):
        chinese = [sentence(line, {}) for line in result.derivation]
    assert "直径总和 25 mm，对比基线 50 mm：-25.0 mm，-50.0% ⇒ PR（缩小 ≥ 30%）" in chinese
    assert "非靶病灶：NT1 存在" in chinese
    assert "无新病灶" in chinese


def test_stored_phrases_render_again_and_old_english_lines_still_show():
    stored = [to_json(phrase("{name} is missing", "{name} missing", name=Label("Haemoglobin")))]
    study = definition("T-REIRR")
    with translation.override("zh-hans"):
        (step,) = explain_stored(stored, study)
        (old,) = explain_stored(["Overall: target PR {sic}"], study)
    assert step.sentence == "血红蛋白 缺失"
    assert old.sentence == "Overall: target PR {sic}"
    assert from_json(stored[0]) == "Haemoglobin missing"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_phrase_template_of_the_engines_formats_in_each_language(language):
    """A translation that drops or renames a placeholder would raise here, not on a page."""
    import polib
    from django.conf import settings

    catalogue = polib.pofile(
        str(settings.BASE_DIR / "crf" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    )
    assert catalogue.percent_translated() == 100 and not catalogue.fuzzy_entries()
    for entry in catalogue:
        names = {part.split("}")[0] for part in entry.msgid.split("{")[1:] if "}" in part}
        values = {name: "X" for name in names}
        with translation.override(language):
            p = phrase(entry.msgid, **values)
            assert working(p, {}) == translation.gettext(entry.msgid).format(**values)


def test_the_crf_catalogue_holds_every_marked_message_and_is_compiled(tmp_path, monkeypatch):
    """makemessages over a copy of crf/ finds nothing the catalogue lacks; the .mo is the .po."""
    import shutil

    import polib
    from django.conf import settings
    from django.core.management import call_command

    source = settings.BASE_DIR / "crf"
    catalogue = source / "locale" / "zh_Hans" / "LC_MESSAGES"
    copy = tmp_path / "crf"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["zh_Hans"], verbosity=0, no_location=True)
    extracted = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = polib.pofile(str(catalogue / "django.po"))
    found = {e.msgid for e in extracted if not e.obsolete}
    assert found == {e.msgid for e in committed if not e.obsolete}
    assert not extracted.untranslated_entries() and not extracted.fuzzy_entries()
    compiled = polib.mofile(str(catalogue / "django.mo"))
    assert {e.msgid: e.msgstr for e in compiled if e.msgid} == {
        e.msgid: e.msgstr for e in committed if not e.obsolete
    }
