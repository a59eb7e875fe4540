"""CTCAE grade suggestions and RECIST baseline refusals are built from translatable pieces: the
pure engines return phrases, and the pages show them in the reader's language (#12 point 3)."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.utils import translation

from crf.explanations import sentence
from crf.recist_form import baseline_issues
from crf.rules.ctcae import suggest_grade
from crf.rules.recist import DEFAULT_PARAMETERS
from crf.services import FormInvalid, save_form
from tests.crf.test_special_forms import BASELINE_LESIONS, ctx, lesion_row, on

HAN = range(0x4E00, 0xA000)


def chinese(text: str) -> bool:
    return any(ord(ch) in HAN for ch in text)


@pytest.mark.parametrize(
    ("term", "value", "limits", "english", "zh"),
    [
        ("ALT", "150", {"uln": "40"}, "Alanine aminotransferase increased: 150 = 3.75×ULN 40 (>3.0–5.0×ULN) ⇒ grade 2", "丙氨酸氨基转移酶增高：150 = 3.75×ULN 40（>3.0–5.0×ULN）⇒ 2 级"),
        ("ALT", "130", {"uln": "40", "baseline": "80"}, "Alanine aminotransferase increased (baseline abnormal): 130 = 1.63×baseline 80 (1.5–3.0×baseline) ⇒ grade 1", "丙氨酸氨基转移酶增高（基线异常）：130 = 1.63×基线 80（1.5–3.0×基线）⇒ 1 级"),
        ("ANC", "0.7", {}, "Neutrophil count decreased: 0.7 (<1.0–0.5) ⇒ grade 3", "中性粒细胞计数降低：0.7（<1.0–0.5）⇒ 3 级"),
        ("PLT", "120", {}, "Platelet count decreased: 120 ≥ 75: LLN needed to decide grade 0 or 1", "血小板计数降低：120 ≥ 75：需要 LLN 才能判定 0 级或 1 级"),
        ("TBIL", "30", {}, "Blood bilirubin increased: ULN needed", "血胆红素增高：需要 ULN"),
    ],
)  # fmt: skip
def test_ctcae_reasons_read_in_english_and_in_simplified_chinese(term, value, limits, english, zh):
    reason = suggest_grade(term, value, **limits).reason
    assert str(reason) == english  # the stored English, as before phrases
    with translation.override("en"):
        assert sentence(reason, {}) == english
    with translation.override("zh-hans"):
        assert sentence(reason, {}) == zh


def test_recist_baseline_refusals_read_in_simplified_chinese():
    rows = [lesion_row(*lesion) for lesion in BASELINE_LESIONS]
    rows[2] = lesion_row("L3", "TARGET", "LIVER", "Liver segment 2", "N", "18")
    rows.append(lesion_row("N4", "TARGET", "CN", "Cervical level IV", "Y", "12"))
    issues = baseline_issues({"TUDAT": "2026-01-05", "lesions": rows}, DEFAULT_PARAMETERS)
    with translation.override("en"):
        english = {i.code: i.message for i in issues}
    with translation.override("zh-hans"):
        zh = {i.code: i.message for i in issues}
    assert english["recist_too_many_targets"] == (
        "RECIST: 7 target lesions selected; at most 5 allowed"
    )
    assert zh["recist_too_many_targets"] == "RECIST：已选择 7 个靶病灶；最多允许 5 个"
    assert english["recist_nodal_target_too_small"] == "RECIST: nodal target N4: SA 12 mm < 15 mm"
    assert zh["recist_nodal_target_too_small"] == "RECIST：淋巴结靶病灶 N4：短径 12 mm < 15 mm"
    organs = [i for i in issues if i.code == "recist_too_many_targets_in_organ"]
    with translation.override("zh-hans"):
        assert sorted(i.message for i in organs) == [
            "RECIST：liver 中有 3 个靶病灶（L1, L2, L3）；每个器官最多 2 个（所有淋巴结合计为一个器官）",
            "RECIST：淋巴结 中有 3 个靶病灶（N1, N2, N4）；每个器官最多 2 个（所有淋巴结合计为一个器官）",
        ]
        assert all(chinese(i.message) for i in issues)


@pytest.mark.django_db
def test_pages_in_chinese_show_the_grade_suggestion_and_the_baseline_refusal(staff, subject):
    save_form(
        ctx(staff), subject, "UNSCHEDULED", 1, "lb", 1,
        {"LBHEMDT": on(95), "ALT": "150", "ALTULN": "40"}, row_version=0, confirm_warnings=True,
    )  # fmt: skip
    client = Client()
    client.force_login(staff)
    forms = f"/studies/{subject.study.code}/subjects/{subject.subject_id}/forms"
    with translation.override("zh-hans"):
        lab_page = client.get(f"{forms}/UNSCHEDULED/1/lb/1/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert lab_page.status_code == 200
    text = html.unescape(lab_page.content.decode())
    assert "丙氨酸氨基转移酶增高：150 = 3.75×ULN 40（>3.0–5.0×ULN）⇒ 2 级" in text
    assert "Alanine aminotransferase increased: 150" not in text

    post = {"row_version": "0", "action": "save", "TUDAT": on(-7), "TUEPIS": "1"}
    rows = [lesion_row(*lesion) for lesion in BASELINE_LESIONS]
    rows[2] = lesion_row("L3", "TARGET", "LIVER", "Liver segment 2", "N", "18")
    for index, row in enumerate(rows):
        post |= {f"lesions.{index}.{code}": value for code, value in row.items()}
    with translation.override("zh-hans"):
        refused = client.post(f"{forms}/SCREENING/1/tu_bl/1/", post, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 400
    page = html.unescape(refused.content.decode())
    assert "RECIST：已选择 6 个靶病灶；最多允许 5 个" in page
    assert "target lesions selected" not in page

    with translation.override("zh-hans"), pytest.raises(FormInvalid) as caught:
        save_form(ctx(staff), subject, "SCREENING", 1, "tu_bl", 1,
                  {"TUDAT": on(-7), "TUEPIS": "1", "lesions": rows}, row_version=0)  # fmt: skip
    details = [d["message"] for d in caught.value.details]  # the API's words, in zh-hans
    assert "RECIST：已选择 6 个靶病灶；最多允许 5 个" in details


def test_adverse_event_term_and_grade_refusals_read_in_simplified_chinese():
    from crf.ae_form import TermInfo, check_term_and_grade

    nausea = TermInfo("10028813", "Nausea", (1, 2, 3), False)
    issues = check_term_and_grade(
        {"AECTCD": "10028813", "AETERM": "Vomiting", "AEOTHSP": "Y", "AETOXGR": 4}, nausea
    )
    unknown = check_term_and_grade({"AECTCD": "99999999"}, None)
    with translation.override("en"):
        english = [i.message for i in issues + unknown]
    with translation.override("zh-hans"):
        zh = [i.message for i in issues + unknown]
    assert english == [
        "the term “Vomiting” does not match MedDRA code 10028813, which is “Nausea”",
        "Nausea is not an “Other, specify” term",
        "Nausea has no CTCAE grade 4; its grades are 1, 2, 3",
        "99999999 is not the MedDRA code of a CTCAE v5.0 term",
    ]
    assert zh == [
        "术语“Vomiting”与 MedDRA 编码 10028813 不符，该编码对应“Nausea”",
        "Nausea 不是“其他，请注明”类术语",
        "Nausea 没有 CTCAE 4 级；其可用分级为 1, 2, 3",
        "99999999 不是 CTCAE v5.0 术语的 MedDRA 编码",
    ]


def test_unit_refusals_read_in_simplified_chinese():
    from decimal import Decimal

    from crf.rules import units

    refusals = []
    for source, target in (("mg/dL", "umol/L"), ("mg/dL", "kg"), ("furlong", "kg")):
        with pytest.raises(units.UnitError) as refused:
            units.convert(Decimal(1), source, target)
        refusals.append(refused.value.args[0])
    with translation.override("en"):
        assert [sentence(r, {}) for r in refusals] == [
            "converting mg/dL to umol/L needs the analyte's molar mass",
            "mg/dL cannot be converted to kg",
            "unknown unit 'furlong' (not a UCUM code this system reads)",
        ]
    with translation.override("zh-hans"):
        assert [sentence(r, {}) for r in refusals] == [
            "将 mg/dL 换算为 umol/L 需要该分析物的摩尔质量",
            "mg/dL 无法换算为 kg",
            "未知单位 'furlong'（不是本系统可识别的 UCUM 代码）",
        ]
