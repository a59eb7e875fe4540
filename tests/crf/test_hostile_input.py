"""Input an attacker (or a broken client) sends gets a 4xx with a stable code, never a 500 and
never a half-written record: deeply nested JSON, oversized bodies, NUL bytes in keys and URLs,
and free text beyond its documented length."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crf.models import FormInstance
from edc.audit.models import AuditEvent
from tests.crf.test_api import DM, form_url
from tests.factories import api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff)}")
    return client


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def error_of(response) -> dict:
    return response.json()["error"]


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_on_a_crf_put_is_a_400_naming_the_rule(api, subject, depth):
    body = '{"values": ' + nested(depth) + ', "row_version": 0}'
    response = api.put(form_url(subject), body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_deeply_nested"
    assert not FormInstance.objects.exists()


def test_nesting_within_the_limit_is_still_read(api, subject):
    response = api.put(
        form_url(subject), {"values": DM, "row_version": 0}, format="json"
    )  # a form body is 3 levels deep at most
    assert response.status_code in (200, 201), response.json()


def test_deeply_nested_json_on_randomize_is_a_400(api, subject):
    url = f"/api/v1/studies/{subject.study.code}/subjects/{subject.subject_id}/randomization/"
    response = api.post(url, '{"strata": ' + nested(50_000) + "}", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_deeply_nested"


def test_a_body_over_the_size_limit_is_a_413_with_a_stable_code(api, subject, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = '{"values": {"BRTHDAT": "' + "x" * 20_000 + '"}, "row_version": 0}'
    response = api.put(form_url(subject), big, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"
    assert not FormInstance.objects.exists()


def test_a_nul_byte_in_the_idempotency_key_is_a_400_naming_it(api, subject):
    url = f"/api/v1/studies/{subject.study.code}/subjects/{subject.subject_id}/randomization/"
    response = api.post(url, {"idempotency_key": "a\x00b"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "idempotency_key"
    response = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="a\x00b")
    assert response.status_code == 400
    assert error_of(response)["field"] == "idempotency_key"


def test_a_nul_byte_in_a_subject_id_in_the_url_is_not_found(api, staff, subject):
    response = api.get(
        f"/api/v1/studies/{subject.study.code}/subjects/{subject.subject_id}%00/forms/"
    )
    assert response.status_code == 404
    page = Client(raise_request_exception=False)
    page.force_login(staff)
    assert page.get(f"/studies/{subject.study.code}/subjects/X%00Y/").status_code == 404


def test_a_change_reason_beyond_its_length_is_refused_and_nothing_is_stored(api, subject):
    first = api.put(form_url(subject), {"values": DM, "row_version": 0}, format="json")
    assert first.status_code in (200, 201)
    before = AuditEvent.objects.count()
    response = api.put(
        form_url(subject),
        {"values": {**DM, "ECOG": 2}, "row_version": 1, "reason": "r" * 1_000_000},
        format="json",
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "reason"
    assert AuditEvent.objects.count() == before
    assert FormInstance.objects.get().data["ECOG"] == "1"
