"""The randomization API over HTTP with token authentication."""

import itertools

import pytest
from rest_framework.test import APIClient

from randomization.selectors import balance
from tests.factories import UserFactory, api_token, member
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.helpers import registered_subject
from tests.randomization.independent import stratum_rows

_token_numbers = itertools.count()


def client_for(user) -> APIClient:
    client = APIClient()
    # Token names are unique per person among live tokens; a test may ask for several clients.
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token(user, name=f'test {next(_token_numbers)}')}"
    )
    return client


def url(subject) -> str:
    return f"/api/v1/studies/T-MINI/subjects/{subject.subject_id}/randomization/"


@pytest.fixture
def subject(live, site_a):
    return registered_subject(site_a, "PR")


def test_post_randomizes_and_answers_with_the_documented_fields(subject, coordinator_a):
    api = client_for(coordinator_a)
    response = api.post(
        url(subject), {"strata": {"response": "PR"}}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    first_arm = stratum_rows(FIXED_SEED, "T-MINI", "response=PR", [("A", 1), ("B", 1)], (2, 4), 20)[
        0
    ][4]
    assert body["arm"] == {"code": first_arm, "name": f"Arm {first_arm}"}
    assert body["sequence"] == 1
    assert body["stratum"] == {"key": "response=PR", "values": {"response": "PR", "site": "01"}}
    assert body["randomized_by"] == "coord_a" and body["randomized_at"]
    assert body["subject_id"] == subject.subject_id and body["site"] == "01"
    assert api.get(url(subject)).json() == body


def test_the_answer_is_exactly_what_the_documented_serializer_declares(subject, coordinator_a):
    from django.utils.dateparse import parse_datetime

    from randomization.api import AllocationSerializer
    from randomization.models import Allocation

    body = client_for(coordinator_a).post(url(subject), {}, format="json").json()
    declared = AllocationSerializer()
    assert set(body) == set(declared.fields)
    assert set(body["arm"]) == set(declared.fields["arm"].fields)
    assert set(body["stratum"]) == set(declared.fields["stratum"].fields)
    check = AllocationSerializer(data=body)
    assert check.is_valid(), check.errors
    allocation = Allocation.objects.get(subject=subject)
    assert parse_datetime(body["randomized_at"]) == allocation.randomized_at
    assert body["channel"] == "api" and body["study"] == "T-MINI"


@pytest.mark.parametrize(
    "body, field",
    [
        ([1, 2], ""),
        ({"strata": "PR"}, "strata"),
        ({"strata": {"response": ["PR"]}}, "strata.response"),
        ({"strata": {"response": True}}, "strata.response"),
        ({"strata": {"response": "  "}}, "strata.response"),
        ({"idempotency_key": 7}, "idempotency_key"),
        ({"idempotency_key": "k" * 101}, "idempotency_key"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field_and_nothing_is_written(
    subject, coordinator_a, body, field
):
    from randomization.models import Allocation

    refused = client_for(coordinator_a).post(url(subject), body, format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["code"] == "invalid"
    assert refused.json()["error"]["field"] == field
    assert not Allocation.objects.filter(subject=subject).exists()


def test_the_documented_request_body_is_accepted_at_its_limits(subject, coordinator_a):
    from randomization.api import RandomizeRequest

    longest = "k" * RandomizeRequest().fields["idempotency_key"].max_length
    body = {"strata": {"response": " PR ", "site": "01"}, "idempotency_key": f" {longest} "}
    answer = client_for(coordinator_a).post(url(subject), body, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["stratum"]["values"] == {"response": "PR", "site": "01"}


def test_retries_with_the_same_key_give_one_allocation_and_others_get_409(subject, coordinator_a):
    api = client_for(coordinator_a)
    answers = [
        api.post(url(subject), {}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1") for _ in range(10)
    ]
    assert [a.status_code for a in answers] == [201] + [200] * 9
    assert len({a.json()["sequence"] for a in answers}) == 1
    conflict = api.post(url(subject), {"idempotency_key": "other"}, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "already_randomized"
    no_key = api.post(url(subject), {}, format="json")
    assert no_key.json()["error"]["code"] == "already_randomized"


def test_errors_are_json_with_a_stable_code(subject, coordinator_a, site_b):
    api = client_for(coordinator_a)
    mismatch = api.post(url(subject), {"strata": {"response": "CR"}}, format="json")
    assert mismatch.status_code == 409
    assert mismatch.json()["error"]["code"] == "strata_mismatch"
    assert mismatch.json()["error"]["field"] == "strata.response"
    not_yet = api.get(url(subject))
    assert not_yet.status_code == 404 and not_yet.json()["error"]["code"] == "not_found"
    other = UserFactory()
    member(other, site_b, "site_staff")
    hidden = client_for(other).post(url(subject), {}, format="json")
    assert hidden.status_code == 404
    anonymous = APIClient().post(url(subject), {}, format="json")
    assert anonymous.status_code in (401, 403) and "error" in anonymous.json()
    clash = api.post(
        url(subject), {"idempotency_key": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    assert clash.status_code == 400 and clash.json()["error"]["code"] == "idempotency_key_conflict"


def test_only_the_statistician_sees_the_list_and_the_seed(
    live, study, subject, coordinator_a, statistician, study_admin
):
    client_for(coordinator_a).post(url(subject), {}, format="json")
    stat = client_for(statistician)
    slots = stat.get("/api/v1/studies/T-MINI/randomization/list/").json()
    assert len(slots) == live.commitment.slot_count
    used = [s for s in slots if s["subject_id"]]
    assert [(s["stratum"], s["sequence"]) for s in used] == [("response=PR", 1)]
    seed = stat.get("/api/v1/studies/T-MINI/randomization/seed/").json()
    assert seed["seed"] == FIXED_SEED.hex() and seed["salt"] == live.salt.hex()
    for user in (coordinator_a, study_admin):
        for path in ("list", "seed"):
            refused = client_for(user).get(f"/api/v1/studies/T-MINI/randomization/{path}/")
            assert refused.status_code in (403, 404)
            assert "seed" not in refused.content.decode().lower().split("error")[0]
    hashes = client_for(coordinator_a).get("/api/v1/studies/T-MINI/randomization/commitments/")
    assert hashes.json()[0]["list_sha256"] == live.commitment.list_sha256
    assert "params" not in hashes.json()[0]


def test_balance_report_is_for_statistician_and_admin(
    live, subject, coordinator_a, statistician, study_admin
):
    client_for(coordinator_a).post(url(subject), {}, format="json")
    for user in (statistician, study_admin):
        report = client_for(user).get("/api/v1/studies/T-MINI/randomization/balance/")
        assert report.status_code == 200
        assert report.json()["overall"]["total"] == 1
        # The API reads the one balance selector the page and its chart read.
        same = balance(live.scheme.study)
        for part in ("by_site", "by_stratum", "by_stratum_and_site", "by_factor_level"):
            assert report.json()[part] == [
                {
                    "label": r.label,
                    "counts": r.counts,
                    "total": r.total,
                    "expected": r.expected,
                    "imbalance": r.imbalance,
                }
                for r in getattr(same, part)
            ], part
    assert (
        client_for(coordinator_a).get("/api/v1/studies/T-MINI/randomization/balance/").status_code
        == 403
    )


def test_openapi_schema_and_swagger_ui_describe_the_endpoints(db, coordinator_a):
    api = client_for(coordinator_a)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/studies/{study_code}/subjects/{subject_id}/randomization/" in text
    assert "Idempotency-Key" in text
    docs = api.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_json_views_answer_a_browser_with_json_and_the_schema_still_negotiates(
    live, subject, coordinator_a
):
    api = client_for(coordinator_a)
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    answer = api.post(url(subject), {}, format="json", HTTP_ACCEPT=browser)
    assert answer.status_code == 201
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["subject_id"] == subject.subject_id
    as_yaml = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    as_json = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_yaml.content.lstrip().startswith(b"openapi:")
    assert as_json.content.lstrip().startswith(b"{")


def test_an_api_allocation_is_ten_statements_with_no_field_loaded_late(subject, coordinator_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = client_for(coordinator_a)
    # A token's first use records its last-used time (an UPDATE at most once a minute); a
    # client randomizing steadily does not pay it, so it is paid here, outside the count.
    assert api.get("/api/v1/auth/tokens/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        answer = api.post(url(subject), {}, format="json")
    assert answer.status_code == 201
    # The test's own transaction turns the allocation's into a savepoint pair.
    statements = [
        q["sql"].strip()
        for q in captured.captured_queries
        if "SAVEPOINT" not in q["sql"].split(" ", 2)[:2]
    ]
    # Token with user; memberships; subject with study, site, scheme and allocation; the
    # eligibility signature still current; the strata's form; the subject's status; stratum
    # and slot; the slot read again after the stratum lock; the allocation; its audit rows.
    # A deferred field read later would add a statement here.
    assert [sql.split(" ", 1)[0] for sql in statements] == [
        "SELECT",
        "SELECT",
        "SELECT",
        "SELECT",
        "SELECT",
        "UPDATE",
        "UPDATE",
        "SELECT",
        "INSERT",
        "INSERT",
    ], "\n".join(sql[:100] for sql in statements)
