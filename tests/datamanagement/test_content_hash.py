"""The canonical content a signature or a study lock is bound to."""

import hashlib
import json

from edc.datamanagement.content_hash import (
    dataset_content,
    dataset_sha256,
    sha256_hex,
    signed_content,
    target_label,
)


def _form(subject, event, form, data, event_repeat=1, form_repeat=1, status="complete"):
    return {
        "subject": subject,
        "event": event,
        "event_repeat": event_repeat,
        "form": form,
        "form_repeat": form_repeat,
        "status": status,
        "data": data,
    }


def test_hash_is_sha256_of_sorted_compact_utf8_json():
    forms = [_form("S-1", "SCREEN", "dm", {"WEIGHT": "61.5", "NOTE": "体重"})]
    content = signed_content("form", "S-1/SCREEN#1/dm#1", forms)
    text = (
        '{"forms":[{"data":{"NOTE":"体重","WEIGHT":"61.5"},"event":"SCREEN","event_repeat":1,'
        '"form":"dm","form_repeat":1,"status":"complete","subject":"S-1"}],'
        '"level":"form","target":"S-1/SCREEN#1/dm#1"}'
    )
    assert sha256_hex(content) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_form_order_and_key_order_do_not_change_the_hash():
    a = _form("S-1", "C1", "vitals", {"A": "1", "B": "2"})
    b = _form("S-1", "C1", "vitals", {"A": "1"}, event_repeat=2)
    c = _form("S-1", "BASE", "dm", {"B": "2", "A": "1"})
    one = sha256_hex(signed_content("casebook", "S-1", [a, b, c]))
    other = sha256_hex(signed_content("casebook", "S-1", [c, b, dict(reversed(list(a.items())))]))
    assert one == other
    ordered = signed_content("casebook", "S-1", [a, b, c])["forms"]
    assert [(f["event"], f["event_repeat"]) for f in ordered] == [("BASE", 1), ("C1", 1), ("C1", 2)]


def test_any_change_of_value_status_or_target_changes_the_hash():
    base = _form("S-1", "SCREEN", "dm", {"WEIGHT": "61.5"})
    reference = sha256_hex(signed_content("form", "t", [base]))
    variants = [
        signed_content("form", "t", [{**base, "data": {"WEIGHT": "61.50"}}]),
        signed_content("form", "t", [{**base, "status": "removed"}]),
        signed_content("visit", "t", [base]),
        signed_content("form", "u", [base]),
        signed_content("form", "t", [base, _form("S-1", "SCREEN", "ie", {})]),
    ]
    assert len({reference, *(sha256_hex(v) for v in variants)}) == 1 + len(variants)


def test_dataset_content_names_the_study_and_orders_subjects():
    forms = [_form("S-2", "A", "f", {}), _form("S-1", "B", "f", {})]
    content = dataset_content("T-MINI", forms)
    assert content["study"] == "T-MINI"
    assert [f["subject"] for f in content["forms"]] == ["S-1", "S-2"]
    expected = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert sha256_hex(content) == hashlib.sha256(expected.encode()).hexdigest()


def test_streamed_dataset_hash_equals_the_hash_of_the_whole_content():
    forms = [
        _form("S-1", "BASE", "dm", {"WEIGHT": "61.5", "NOTE": "体重"}),
        _form("S-1", "C1", "vitals", {"A": "1"}, event_repeat=2),
        _form("S-2", "BASE", "dm", {}, status="not_done"),
    ]
    whole = sha256_hex(dataset_content("T-MINI", forms))
    assert dataset_sha256("T-MINI", forms) == (whole, 3)
    assert dataset_sha256("T-MINI", []) == (sha256_hex(dataset_content("T-MINI", [])), 0)
    assert dataset_sha256("T-OTHER", forms)[0] != whole


def test_target_labels():
    assert target_label("S-1") == "S-1"
    assert target_label("S-1", "C2", 3) == "S-1/C2#3"
    assert target_label("S-1", "C2", 3, "vitals", 1) == "S-1/C2#3/vitals#1"
