"""The form page layout (crf.form_page, pure): limits of normal beside their lab result."""

from crf.form_page import build_page

LAB = {
    "code": "lb",
    "items": [
        {"code": "LBDAT", "label": "Sample date", "type": "date"},
        {"code": "HGB", "label": "Haemoglobin", "type": "decimal", "lln_item": "HGBLLN"},
        {"code": "HGBLLN", "label": "Haemoglobin: lower limit of normal", "type": "decimal"},
        {"code": "TSH", "label": "TSH", "type": "decimal", "lln_item": "TSHL", "uln_item": "TSHU"},
        {"code": "TSHL", "label": "TSH: lower limit of normal", "type": "decimal"},
        {"code": "TSHU", "label": "TSH: upper limit of normal", "type": "decimal"},
        {"code": "NOTE", "label": "Comment", "type": "text"},
    ],
}


def test_limits_of_normal_sit_beside_their_result_not_in_sections_of_their_own():
    page = build_page(LAB, {}, {"HGB": "120", "HGBLLN": "115"})
    fields = [f for s in page.sections for f in s.fields]
    assert [f.code for f in fields] == ["LBDAT", "HGB", "TSH", "NOTE"]
    assert [s.title for s in page.sections] == [""]  # no collapsed "Haemoglobin" panel
    hgb = fields[1]
    assert [(f.code, f.value, f.short_label) for f in hgb.limits] == [
        ("HGBLLN", "115", "Lower limit of normal")
    ]
    assert [f.code for f in fields[2].limits] == ["TSHL", "TSHU"]
    assert fields[2].limits[1].label_head == "TSH"
