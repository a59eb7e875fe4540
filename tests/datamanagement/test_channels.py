"""Locks hold on every channel (service, API, web UI, admin), and the API and pages that drive
queries, SDV, signatures and locks work end to end with scoping and audit."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crf.models import FormInstance
from edc.audit.models import AuditEvent
from edc.datamanagement import services
from edc.datamanagement.models import Lock, Query, Signature, SourceVerification
from tests.datamanagement.conftest import ctx_for, make_form
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

API = "/api/v1/studies/T-MINI"
WEB = "/studies/T-MINI/dm"
MEANING = "I attest the data are accurate."


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def web_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def locked_form(form_a, data_manager):
    services.lock(ctx_for(data_manager), "subject", form_a.subject, reason="reviewed")
    return form_a


# ---- API -------------------------------------------------------------------------------


def test_api_lock_and_unlock_need_a_data_manager_and_an_unlock_reason(
    form_a, data_manager, monitor
):
    body = {"level": "subject", "subject": form_a.subject.subject_id, "reason": "clean"}
    assert api_as(monitor).post(f"{API}/locks/", body, format="json").status_code == 403
    created = api_as(data_manager).post(f"{API}/locks/", body, format="json")
    assert created.status_code == 201
    lock = created.json()
    assert (lock["level"], lock["subject"], lock["active"]) == (
        "subject",
        form_a.subject.subject_id,
        True,
    )
    assert AuditEvent.objects.get(action="lock").channel == "api"

    unlock_url = f"{API}/locks/{lock['id']}/unlock/"
    assert api_as(monitor).post(unlock_url, {"reason": "x"}, format="json").status_code == 403
    refused = api_as(data_manager).post(unlock_url, {"reason": ""}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "reason_required"
    released = api_as(data_manager).post(unlock_url, {"reason": "late labs"}, format="json")
    assert released.status_code == 200 and released.json()["active"] is False
    assert released.json()["unlock_reason"] == "late labs"


def test_api_writes_on_locked_data_answer_423(locked_form, monitor, investigator_a, password):
    sdv = api_as(monitor).post(f"{API}/forms/{locked_form.pk}/sdv/", {}, format="json")
    assert sdv.status_code == 423
    assert sdv.json()["error"]["code"] == "locked"
    query = api_as(monitor).post(
        f"{API}/queries/",
        {"form_id": locked_form.pk, "item_code": "SEX", "text": "?"},
        format="json",
    )
    assert query.status_code == 423
    sign = api_as(investigator_a).post(
        f"{API}/signatures/",
        {
            "level": "form",
            "form_id": locked_form.pk,
            "username": investigator_a.username,
            "password": password,
            "meaning": MEANING,
        },
        format="json",
    )
    assert sign.status_code == 423 and sign.json()["error"]["code"] == "locked"
    assert not SourceVerification.objects.exists()
    assert not Query.objects.exists()
    assert not Signature.objects.exists()


def test_api_signing(form_a, investigator_a, password):
    body = {"level": "form", "form_id": form_a.pk, "password": password, "meaning": MEANING}
    # Every API signing gives both components: user ID and password.
    no_user_id = api_as(investigator_a).post(f"{API}/signatures/", body, format="json")
    assert no_user_id.status_code == 400
    assert no_user_id.json()["error"]["field"] == "username"
    body["username"] = "someone_else"
    other = api_as(investigator_a).post(f"{API}/signatures/", body, format="json")
    assert other.status_code == 403 and other.json()["error"]["code"] == "wrong_user_id"
    body.update(username=investigator_a.username, password="wrong")
    refused = api_as(investigator_a).post(f"{API}/signatures/", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "bad_credentials"
    assert AuditEvent.objects.filter(action="signature_failed", channel="api").count() == 2
    body["password"] = password
    signed = api_as(investigator_a).post(f"{API}/signatures/", body, format="json")
    assert signed.status_code == 201
    data = signed.json()
    assert data["signer_name"] == "Ivan Investigator (pi_a)" and data["meaning"] == MEANING
    assert len(data["content_sha256"]) == 64 and data["valid"] is True
    visit = api_as(investigator_a).post(
        f"{API}/signatures/",
        {
            "level": "visit",
            "subject": form_a.subject.subject_id,
            "username": investigator_a.username,
            "password": password,
            "meaning": MEANING,
        },
        format="json",
    )
    assert visit.status_code == 400 and visit.json()["error"]["field"] == "event_code"
    listed = api_as(investigator_a).get(
        f"{API}/signatures/", {"subject": form_a.subject.subject_id}
    )
    assert [s["level"] for s in listed.json()] == ["form"]


def test_api_query_workflow_and_counts(form_a, subject_b, monitor, coordinator_a):
    raised = api_as(monitor).post(
        f"{API}/queries/",
        {
            "form_id": form_a.pk,
            "item_code": "WEIGHT",
            "text": "Check the scale",
            "assignee": "coord_a",
        },
        format="json",
    )
    assert raised.status_code == 201
    query = raised.json()
    assert (query["status"], query["assignee"], query["your_actions"]) == (
        "open",
        "coord_a",
        ["cancel"],
    )
    site_b_form = make_form(subject_b)
    services.raise_query(ctx_for(monitor), site_b_form, item_code="SEX", text="?")

    mine = api_as(coordinator_a).get(f"{API}/queries/", {"mine": "1", "status": "unresolved"})
    assert [q["id"] for q in mine.json()] == [query["id"]]
    detail = api_as(coordinator_a).get(f"{API}/queries/{query['id']}/").json()
    assert detail["your_actions"] == ["answer"]
    assert [m["text"] for m in detail["messages"]] == ["Check the scale"]
    answered = api_as(coordinator_a).post(
        f"{API}/queries/{query['id']}/actions/",
        {"action": "answer", "text": "Recalibrated"},
        format="json",
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    illegal = api_as(monitor).post(
        f"{API}/queries/{query['id']}/actions/", {"action": "answer", "text": "x"}, format="json"
    )
    assert illegal.status_code == 403
    counts = api_as(monitor).get(f"{API}/queries/counts/").json()
    assert counts == [
        {
            "site": "01",
            "open": 0,
            "answered": 1,
            "closed": 0,
            "cancelled": 0,
            "unresolved": 1,
            "total": 1,
        },
        {
            "site": "02",
            "open": 1,
            "answered": 0,
            "closed": 0,
            "cancelled": 0,
            "unresolved": 1,
            "total": 1,
        },
    ]
    other = Query.objects.get(site__code="02")
    assert api_as(coordinator_a).get(f"{API}/queries/{other.pk}/").status_code == 404


def test_api_audit_trail_is_for_data_managers_and_statisticians(
    form_a, study, data_manager, coordinator_a, monitor
):
    services.verify_source(ctx_for(monitor), form_a)
    statistician = UserFactory(username="stats")
    member(statistician, study, "statistician")
    assert api_as(coordinator_a).get(f"{API}/audit/").status_code == 403
    for user in (data_manager, statistician):
        rows = api_as(user).get(
            f"{API}/audit/", {"object_type": "datamanagement.SourceVerification"}
        )
        assert rows.status_code == 200
        assert [(r["action"], r["user"], r["item"]) for r in rows.json()] == [
            ("sdv", "monitor", "form")
        ]
    everything = api_as(data_manager).get(f"{API}/audit/").json()
    assert [r["id"] for r in everything] == sorted(r["id"] for r in everything)
    later = api_as(data_manager).get(f"{API}/audit/", {"after": everything[0]["id"]}).json()
    assert [r["id"] for r in later] == [r["id"] for r in everything[1:]]


def test_openapi_schema_documents_the_data_management_api(data_manager):
    schema = api_as(data_manager).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in [
        "/api/v1/studies/{study_code}/queries/",
        "/api/v1/studies/{study_code}/queries/{id}/actions/",
        "/api/v1/studies/{study_code}/queries/counts/",
        "/api/v1/studies/{study_code}/locks/",
        "/api/v1/studies/{study_code}/locks/{id}/unlock/",
        "/api/v1/studies/{study_code}/forms/{form_id}/sdv/",
        "/api/v1/studies/{study_code}/signatures/",
        "/api/v1/studies/{study_code}/audit/",
    ]:
        assert path in paths, path


# ---- web UI ----------------------------------------------------------------------------


def test_web_sdv_on_locked_form_shows_the_error_inline_and_saves_nothing(locked_form, monitor):
    response = web_as(monitor).post(f"{WEB}/forms/{locked_form.pk}/sdv/", {"item": "WEIGHT"})
    assert response.status_code == 423
    page = response.content.decode()
    assert 'id="dm-error"' in page and "locked" in page
    assert not SourceVerification.objects.exists()


def test_web_sdv_buttons_verify_form_and_item(form_a, monitor):
    client = web_as(monitor)
    page = client.get(f"{WEB}/forms/{form_a.pk}/").content.decode()
    assert "Mark whole form verified" in page and 'aria-label="Verify Weight"' in page
    assert client.post(f"{WEB}/forms/{form_a.pk}/sdv/", {"item": "WEIGHT"}).status_code == 302
    assert client.post(f"{WEB}/forms/{form_a.pk}/sdv/").status_code == 302
    assert sorted(SourceVerification.objects.values_list("item_code", flat=True)) == ["", "WEIGHT"]
    assert AuditEvent.objects.filter(action="sdv", channel="web").count() == 2


def test_web_signing(form_a, investigator_a, data_manager, password):
    client = web_as(investigator_a)
    url = f"{WEB}/sign/?level=form&form={form_a.pk}"
    page = client.get(url).content.decode()
    assert "I attest" in page and 'type="password"' in page
    post = {"level": "form", "form": form_a.pk, "meaning": MEANING, "username": "pi_a"}
    wrong = client.post(f"{WEB}/sign/", {**post, "password": "nope"})
    assert wrong.status_code == 403 and "password is not correct" in wrong.content.decode()
    assert not Signature.objects.exists()
    ok = client.post(f"{WEB}/sign/", {**post, "password": password})
    assert ok.status_code == 302
    assert ok["Location"] == f"/studies/T-MINI/subjects/{form_a.subject.subject_id}/"
    signature = Signature.objects.get()
    assert signature.meaning == MEANING
    review = client.get(f"{WEB}/forms/{form_a.pk}/").content.decode()
    assert "Ivan Investigator (pi_a)" in review and MEANING in review


def test_web_signing_locked_data_is_refused_inline(locked_form, investigator_a, password):
    response = web_as(investigator_a).post(
        f"{WEB}/sign/",
        {
            "level": "casebook",
            "subject": locked_form.subject.subject_id,
            "meaning": MEANING,
            "username": investigator_a.username,
            "password": password,
        },
    )
    assert response.status_code == 423
    assert 'id="sign-error"' in response.content.decode()
    assert not Signature.objects.exists()


def test_web_lock_and_unlock(form_a, data_manager, monitor):
    client = web_as(data_manager)
    assert client.get(f"{WEB}/locks/").status_code == 200
    created = client.post(
        f"{WEB}/locks/", {"level": "form", "form_id": form_a.pk, "reason": "clean"}
    )
    assert created.status_code == 302
    lock = Lock.objects.get()
    missing = client.post(f"{WEB}/locks/{lock.pk}/unlock/", {"reason": ""})
    assert missing.status_code == 400 and 'id="lock-error"' in missing.content.decode()
    assert Lock.objects.get().is_active
    assert (
        web_as(monitor).post(f"{WEB}/locks/{lock.pk}/unlock/", {"reason": "x"}).status_code == 403
    )
    assert client.post(f"{WEB}/locks/{lock.pk}/unlock/", {"reason": "reopened"}).status_code == 302
    assert not Lock.objects.get().is_active
    no_target = client.post(f"{WEB}/locks/", {"level": "site", "reason": "x"})
    assert no_target.status_code == 400 and "choose the site" in no_target.content.decode()


def test_web_query_pages(form_a, monitor, coordinator_a):
    raised = web_as(monitor).post(
        f"{WEB}/forms/{form_a.pk}/queries/new/", {"item_code": "WEIGHT", "text": "Is 61.5 right?"}
    )
    assert raised.status_code == 302
    query = Query.objects.get()
    client = web_as(coordinator_a)
    listing = client.get(f"{WEB}/queries/").content.decode()
    assert f"Q{query.pk}" in listing
    page = client.get(f"{WEB}/queries/{query.pk}/").content.decode()
    assert "Is 61.5 right?" in page and 'value="answer"' in page and 'value="close"' not in page
    empty = client.post(f"{WEB}/queries/{query.pk}/", {"action": "answer", "text": ""})
    assert empty.status_code == 400 and 'id="query-error"' in empty.content.decode()
    assert (
        client.post(f"{WEB}/queries/{query.pk}/", {"action": "answer", "text": "Yes"}).status_code
        == 302
    )
    assert Query.objects.get().status == "answered"
    dashboard = web_as(monitor).get(f"{WEB}/").content.decode()
    assert 'data-status="answered"' in dashboard


def test_web_pages_are_scoped_to_the_users_sites(subject_b, coordinator_a, monitor):
    other = make_form(subject_b)
    query = services.raise_query(ctx_for(monitor), other, item_code="SEX", text="?")
    client = web_as(coordinator_a)
    assert client.get(f"{WEB}/forms/{other.pk}/").status_code == 404
    assert client.get(f"{WEB}/queries/{query.pk}/").status_code == 404
    assert client.post(f"{WEB}/forms/{other.pk}/sdv/").status_code == 404


# ---- admin -----------------------------------------------------------------------------


@pytest.fixture
def study_admin(study):
    user = UserFactory(username="sadmin", is_staff=True)
    member(user, study, "study_admin")
    return user


def test_admin_cannot_change_locked_form_data(locked_form, study_admin):
    client = web_as(study_admin)
    response = client.post(
        f"/admin/crf/forminstance/{locked_form.pk}/change/",
        {"data": '{"WEIGHT": "99"}', "status": "complete"},
    )
    assert response.status_code in (403, 404)
    assert FormInstance.objects.get(pk=locked_form.pk).data["WEIGHT"] == "61.5"


def test_admin_shows_data_management_records_read_only(locked_form, study_admin):
    assert web_as(study_admin).get("/admin/datamanagement/lock/").status_code == 403
    study_admin.is_superuser = True  # locks are clinical records: superusers only
    study_admin.save()
    client = web_as(study_admin)
    lock = Lock.objects.get()
    assert client.get(f"/admin/datamanagement/lock/{lock.pk}/change/").status_code == 200
    released = client.post(
        f"/admin/datamanagement/lock/{lock.pk}/change/", {"unlocked_at_0": "2026-01-01"}
    )
    assert released.status_code == 403
    assert client.post(f"/admin/datamanagement/lock/{lock.pk}/delete/").status_code == 403
    assert Lock.objects.get().is_active
