import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from edc.accounts.services import end_membership, grant_membership
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_logout_and_failed_login_are_audited():
    user = UserFactory(username="alice")
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code
        == 200
    )
    assert (
        client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code
        == 302
    )
    client.post("/accounts/logout/")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["login_failed", "login", "logout"]
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.new_value == "alice" and failed.actor is None and failed.channel == "web"
    assert AuditEvent.objects.get(action="login").actor == user


@override_settings(LOGIN_MAX_FAILURES=3)
def test_repeated_failures_lock_the_account_even_with_the_right_password():
    UserFactory(username="bob")
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"username": "bob", "password": "nope"})
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 200
    assert "locked" in response.content.decode()
    api = APIClient().post(
        "/api/v1/auth/token/", {"username": "bob", "password": PASSWORD}, format="json"
    )
    assert api.status_code == 403 and api.json()["error"]["code"] == "account_locked"


def test_api_token_login_is_audited():
    UserFactory(username="carol")
    client = APIClient()
    assert (
        client.post(
            "/api/v1/auth/token/", {"username": "carol", "password": "x"}, format="json"
        ).status_code
        == 401
    )
    response = client.post(
        "/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200 and len(response.json()["token"]) == 40
    assert list(AuditEvent.objects.filter(channel="api").values_list("action", flat=True)) == [
        "login_failed",
        "login",
        # The new token: its name, prefix and expiry.
        "api_token_issued",
        "api_token_issued",
        "api_token_issued",
    ]


def test_role_changes_are_audited(study, site_a):
    user = UserFactory(username="dave")
    ctx = ChangeContext.system()
    membership = grant_membership(ctx, user=user, study=study, site=site_a, role="site_staff")
    end_membership(ctx.with_reason("moved to investigator"), membership)
    rows = AuditEvent.objects.filter(object_type="accounts.Membership").order_by("id")
    assert [r.action for r in rows] == ["role_granted"] * 4 + ["role_ended"]
    ended = rows.last()
    assert (ended.item, ended.old_value, ended.new_value, ended.reason) == (
        "status",
        "active",
        "ended",
        "moved to investigator",
    )
