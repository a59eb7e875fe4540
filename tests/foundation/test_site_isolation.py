"""A user at site A never sees site B's subjects: not in the UI, the API or the admin."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from edc.accounts.services import end_membership, grant_membership
from edc.audit.context import ChangeContext
from tests.factories import UserFactory, api_token, member, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def subjects(site_a, site_b):
    return screen(site_a), screen(site_b)


def test_ui_subject_page_is_404_for_another_sites_subject(coordinator_a, subjects):
    own, other = subjects
    client = Client()
    client.force_login(coordinator_a)
    assert client.get(f"/studies/T-MINI/subjects/{own.subject_id}/").status_code == 200
    assert client.get(f"/studies/T-MINI/subjects/{other.subject_id}/").status_code == 404
    assert client.get("/studies/T-MINI/sites/02/").status_code == 404
    listing = client.get("/studies/T-MINI/sites/01/").content.decode()
    assert own.subject_id in listing and other.subject_id not in listing


def test_api_is_404_for_another_sites_subject_and_lists_only_own(coordinator_a, subjects):
    own, other = subjects
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(coordinator_a)}")
    assert client.get(f"/api/v1/studies/T-MINI/subjects/{own.subject_id}/").status_code == 200
    response = client.get(f"/api/v1/studies/T-MINI/subjects/{other.subject_id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    ids = [s["subject_id"] for s in client.get("/api/v1/studies/T-MINI/subjects/").json()]
    assert ids == [own.subject_id]
    refused = client.post(
        "/api/v1/studies/T-MINI/subjects/",
        {"site": "02", "consent_date": "2026-01-05", "icf_version": "1"},
        format="json",
    )
    assert refused.status_code == 404


def test_admin_shows_study_admins_no_subject_and_scopes_superusers_by_nothing(site_a, subjects):
    own, other = subjects
    admin_a = UserFactory(username="admin_a", is_staff=True)
    member(admin_a, site_a, "study_admin")
    client = Client()
    client.force_login(admin_a)
    # Subjects are clinical data: a study admin administers studies, sites and people only.
    assert client.get("/admin/subjects/subject/").status_code == 403
    assert client.get(f"/admin/subjects/subject/{own.pk}/change/").status_code == 403
    assert client.get("/admin/studies/site/").status_code == 200
    admin_a.is_superuser = True
    admin_a.save()
    changelist = client.get("/admin/subjects/subject/").content.decode()
    assert own.subject_id in changelist and other.subject_id in changelist


def test_user_without_membership_sees_no_study(subjects):
    outsider = UserFactory(username="outsider")
    client = Client()
    client.force_login(outsider)
    assert client.get("/studies/T-MINI/").status_code == 404
    api = APIClient()
    api.force_authenticate(outsider)
    assert api.get("/api/v1/studies/T-MINI/subjects/").status_code == 404


def test_unauthenticated_api_is_401_json():
    response = APIClient().get("/api/v1/studies/T-MINI/subjects/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_api_token_caller_gets_the_scope_of_its_active_memberships_only(site_a, site_b, subjects):
    own, other = subjects
    user = UserFactory(username="two_sites")
    member(user, site_a, "site_staff")
    revoked = member(user, site_b, "site_staff")
    system = ChangeContext.system()
    end_membership(system.with_reason("moved to site 01 only"), revoked)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    assert client.get(f"/api/v1/studies/T-MINI/subjects/{own.subject_id}/").status_code == 200
    assert client.get(f"/api/v1/studies/T-MINI/subjects/{other.subject_id}/").status_code == 404
    grant_membership(system, user=user, study=site_b.study, site=site_b, role="site_staff")
    assert client.get(f"/api/v1/studies/T-MINI/subjects/{other.subject_id}/").status_code == 200


def test_api_refuses_unknown_tokens_and_inactive_users(coordinator_a, subjects):
    own, _ = subjects
    path = f"/api/v1/studies/T-MINI/subjects/{own.subject_id}/"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(path).status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(coordinator_a)}")
    assert client.get(path).status_code == 200
    coordinator_a.is_active = False
    coordinator_a.save()
    assert client.get(path).status_code == 401
