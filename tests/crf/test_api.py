"""The CRF REST API: same validation, audit and site scoping as the pages."""

import pytest
from rest_framework.test import APIClient

from crf.models import FormInstance
from edc.audit.models import AuditEvent
from tests.factories import api_token

pytestmark = pytest.mark.django_db

DM = {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": 61.5, "ECOG": 1}


@pytest.fixture
def api(staff):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff)}")
    return client


def form_url(subject, event="SCREENING", er=1, form="dm", fr=1):
    return f"/api/v1/studies/{subject.study.code}/subjects/{subject.subject_id}/forms/{event}/{er}/{form}/{fr}/"


def test_read_before_and_after_a_save(api, subject):
    empty = api.get(form_url(subject)).json()
    assert (empty["status"], empty["row_version"], empty["data"]) == ("not_started", 0, {})
    saved = api.put(form_url(subject), {"values": DM, "row_version": 0}, format="json")
    assert saved.status_code == 200
    body = saved.json()
    assert body["data"] == {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"}
    assert body["row_version"] == 1 and body["status"] == "complete"
    assert {r.channel for r in AuditEvent.objects.filter(object_type="crf.FormInstance")} == {"api"}
    listing = api.get(f"/api/v1/studies/{subject.study.code}/subjects/{subject.subject_id}/forms/")
    assert [(f["form"], f["row_version"]) for f in listing.json()] == [("dm", 1)]


def test_invalid_values_answer_400_with_every_problem(api, subject):
    response = api.put(
        form_url(subject),
        {
            "values": {**DM, "WEIGHT": "heavy", "BRTHDAT": "1970-13-01", "STAGE": "I"},
            "row_version": 0,
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert {(d["path"], d["code"]) for d in error["details"]} == {
        ("WEIGHT", "type"),
        ("BRTHDAT", "date"),
        ("STAGE", "unknown_item"),
    }
    assert not FormInstance.objects.exists()


def test_warnings_reason_and_concurrency_over_the_api(api, subject):
    first = api.put(
        form_url(subject), {"values": {**DM, "WEIGHT": 160}, "row_version": 0}, format="json"
    )
    assert first.status_code == 400 and first.json()["error"]["code"] == "confirm_warnings"
    ok = api.put(
        form_url(subject),
        {"values": {**DM, "WEIGHT": 160}, "row_version": 0, "confirm_warnings": True},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["confirmed_warnings"][0]["path"] == "WEIGHT"
    no_reason = api.put(form_url(subject), {"values": DM, "row_version": 1}, format="json")
    assert no_reason.json()["error"]["code"] == "reason_required"
    changed = api.put(
        form_url(subject), {"values": DM, "row_version": 1, "reason": "scale error"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["row_version"] == 2
    stale = api.put(
        form_url(subject),
        {"values": {**DM, "ECOG": 0}, "row_version": 1, "reason": "x"},
        format="json",
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_write"
    assert FormInstance.objects.get().data["ECOG"] == "1"


def test_malformed_bodies_are_400(api, subject):
    assert api.put(form_url(subject), {"values": DM}, format="json").status_code == 400
    assert (
        api.put(form_url(subject), {"values": DM, "row_version": -1}, format="json").status_code
        == 400
    )
    assert (
        api.put(form_url(subject), {"values": [1], "row_version": 0}, format="json").status_code
        == 400
    )


def test_other_sites_and_unknown_slots_are_404(api, subject, other_subject):
    assert api.get(form_url(other_subject)).status_code == 404
    assert (
        api.put(
            form_url(other_subject), {"values": DM, "row_version": 0}, format="json"
        ).status_code
        == 404
    )
    assert api.get(form_url(subject, form="ae")).status_code == 404
    assert api.get(form_url(subject, event="NOPE")).status_code == 404
    assert not FormInstance.objects.exists()


def test_check_and_eligibility_and_terms(api, subject):
    check = api.post(form_url(subject) + "check/", {"values": {**DM, "ECOG": 7}}, format="json")
    assert [e["code"] for e in check.json()["errors"]] == ["range"]
    eligibility = api.get(
        f"/api/v1/studies/{subject.study.code}/subjects/{subject.subject_id}/eligibility/?point=registration"
    ).json()
    assert eligibility["allowed"] is False
    assert {c["id"]: c["status"] for c in eligibility["criteria"]}["C-IN2"] == "missing"
    terms = api.get("/api/v1/ctcae-terms/?q=necrosis").json()
    assert {t["term"]: t["grades"] for t in terms}["Pharyngeal necrosis"] == [3, 4, 5]


def test_the_api_is_documented_in_the_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/forms/{event_code}/{event_repeat}/{form_code}/{form_repeat}/" in text
    assert "stale_write" in text and "/eligibility/" in text
