"""API tokens (#16.5): named, expiring, revocable, stored as digests, revoked with the account."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from edc.accounts.authentication import ApiTokenAuthentication
from edc.accounts.models import ApiToken
from edc.accounts.services import change_password, is_locked_out, set_account_active
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory, api_token, member

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/auth/tokens/"
SIGN_IN = "/api/v1/auth/token/"


def as_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_signing_in_twice_gives_two_different_working_keys_and_a_taken_name_is_refused():
    UserFactory(username="ann")
    first = APIClient().post(
        SIGN_IN, {"username": "ann", "password": PASSWORD, "name": "laptop"}, format="json"
    )
    second = APIClient().post(
        SIGN_IN, {"username": "ann", "password": PASSWORD, "name": "phone"}, format="json"
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["token"] != second.json()["token"]
    for answer in (first, second):
        assert as_token(answer.json()["token"]).get(TOKENS).status_code == 200
    again = APIClient().post(
        SIGN_IN, {"username": "ann", "password": PASSWORD, "name": "laptop"}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "token_name_taken"
    assert again.json()["error"]["field"] == "name"


@override_settings(LOGIN_MAX_FAILURES=3)
def test_retrying_under_a_taken_name_with_the_right_password_never_locks_the_account():
    UserFactory(username="ada")
    body = {"username": "ada", "password": PASSWORD, "name": "laptop"}
    assert APIClient().post(SIGN_IN, body, format="json").status_code == 200
    for _ in range(4):
        assert APIClient().post(SIGN_IN, body, format="json").status_code == 409
    assert not is_locked_out("ada")
    assert ApiToken.objects.get(name="laptop").revoked_at is None


def test_the_key_is_stored_only_as_its_digest():
    user = UserFactory()
    key = api_token(user)
    row = ApiToken.objects.values().get(owner=user)
    assert row["digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[:8]
    assert not any(key in str(value) for value in row.values())


def test_a_token_expires_and_may_be_asked_shorter_but_not_longer():
    user = UserFactory(username="bea")
    asked = APIClient().post(
        SIGN_IN,
        {"username": "bea", "password": PASSWORD, "name": "kiosk", "expires_in_days": 2},
        format="json",
    )
    assert asked.status_code == 200
    key = asked.json()["token"]
    token = ApiToken.objects.get(owner=user)
    assert token.expires_at - token.created_at == dt.timedelta(days=2)
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, hours=23)):
        assert as_token(key).get(TOKENS).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=2, minutes=1)):
        late = as_token(key).get(TOKENS)
    assert late.status_code == 401 and error_code(late) == "token_expired"
    too_long = APIClient().post(
        SIGN_IN,
        {"username": "bea", "password": PASSWORD, "name": "forever", "expires_in_days": 91},
        format="json",
    )
    assert too_long.status_code == 400
    assert too_long.json()["error"]["field"] == "expires_in_days"


@override_settings(API_TOKEN_DAYS=30)
def test_an_unasked_lifetime_is_the_settings_default():
    user = UserFactory()
    api_token(user)
    token = ApiToken.objects.get(owner=user)
    assert token.expires_at - token.created_at == dt.timedelta(days=30)


def test_an_unknown_or_revoked_token_is_refused_with_a_stable_code():
    user = UserFactory()
    key = api_token(user)
    unknown = as_token("x" * 40).get(TOKENS)
    assert unknown.status_code == 401 and error_code(unknown) == "token_invalid"
    assert unknown["WWW-Authenticate"] == "Token"
    ApiToken.objects.filter(owner=user).update(revoked_at=timezone.now(), revoke_reason="by_owner")
    revoked = as_token(key).get(TOKENS)
    assert revoked.status_code == 401 and error_code(revoked) == "token_revoked"


def test_delete_revokes_the_token_of_the_request_and_no_other():
    user = UserFactory(username="cat")
    used, other = api_token(user, name="used"), api_token(user, name="other")
    assert as_token(used).delete(SIGN_IN).status_code == 204
    assert error_code(as_token(used).get(TOKENS)) == "token_revoked"
    assert as_token(other).get(TOKENS).status_code == 200
    token = ApiToken.objects.get(name="used")
    assert token.revoke_reason == "signed_out" and token.revoked_by == user
    audit = AuditEvent.objects.filter(action="api_token_revoked", object_id=str(token.pk))
    assert {(row.item, row.new_value) for row in audit} >= {("revoke_reason", "signed_out")}
    assert audit.first().actor == user
    # Nothing is deleted: the revoked token stays listed.
    assert ApiToken.objects.filter(owner=user).count() == 2


def test_the_list_shows_ones_own_tokens_and_never_a_key():
    user, stranger = UserFactory(), UserFactory()
    key = api_token(user, name="laptop")
    stranger_key = api_token(stranger, name="theirs")
    answer = as_token(key).get(TOKENS)
    assert answer.status_code == 200
    assert [t["name"] for t in answer.json()] == ["laptop"]
    assert key not in answer.content.decode() and stranger_key[:8] not in answer.content.decode()
    assert set(answer.json()[0]) >= {"prefix", "created_at", "expires_at", "last_used_at"}
    assert "key" not in answer.json()[0] and "digest" not in answer.json()[0]


def test_another_person_cannot_list_or_revoke_my_tokens_but_my_study_admin_can(site_a, study):
    owner, stranger, admin = UserFactory(), UserFactory(), UserFactory()
    member(owner, site_a, "site_staff")
    member(admin, study, "study_admin")
    api_token(owner, name="mine")
    mine = ApiToken.objects.get(owner=owner)
    stranger_api = as_token(api_token(stranger))
    assert stranger_api.delete(f"{TOKENS}{mine.pk}/").status_code == 404
    assert stranger_api.get(TOKENS, {"owner": owner.username}).status_code == 404
    mine.refresh_from_db()
    assert mine.revoked_at is None
    admin_api = as_token(api_token(admin))
    assert [t["name"] for t in admin_api.get(TOKENS, {"owner": owner.username}).json()] == ["mine"]
    assert admin_api.delete(f"{TOKENS}{mine.pk}/").status_code == 204
    mine.refresh_from_db()
    assert (mine.revoke_reason, mine.revoked_by) == ("by_admin", admin)


def test_changing_the_password_revokes_every_token():
    user = UserFactory()
    key = api_token(user)
    change_password(ChangeContext.system(), user, "a-new-password-77")
    assert ApiToken.objects.get(owner=user).revoke_reason == "password_changed"
    assert error_code(as_token(key).get(TOKENS)) == "token_revoked"
    assert AuditEvent.objects.filter(action="password_changed", object_id=str(user.pk)).exists()


def test_a_password_changed_outside_the_service_still_refuses_older_tokens():
    user = UserFactory()
    key = api_token(user)
    # As `manage.py changepassword` does it.
    user.set_password("changed-elsewhere-55")
    user.save()
    assert error_code(as_token(key).get(TOKENS)) == "token_revoked"


def test_the_admins_password_form_revokes_tokens():
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)
    user = UserFactory()
    api_token(user)
    client = Client()
    client.force_login(superuser)
    answer = client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {
            "password1": "brand-new-pass-42",
            "password2": "brand-new-pass-42",
            "usable_password": "true",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert ApiToken.objects.get(owner=user).revoke_reason == "password_changed"


def test_deactivating_the_account_revokes_every_token():
    user = UserFactory()
    key = api_token(user)
    set_account_active(ChangeContext.system(), user, False)
    assert ApiToken.objects.get(owner=user).revoke_reason == "deactivated"
    assert error_code(as_token(key).get(TOKENS)) == "token_revoked"
    audit = AuditEvent.objects.get(action="account_active_changed")
    assert (audit.old_value, audit.new_value) == (True, False)


def test_an_inactive_owner_is_refused_however_they_were_deactivated():
    user = UserFactory()
    key = api_token(user)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert error_code(as_token(key).get(TOKENS)) == "token_revoked"


@override_settings(LOGIN_MAX_FAILURES=3)
def test_a_lockout_revokes_every_token():
    user = UserFactory(username="dan")
    key = api_token(user)
    for _ in range(2):
        Client().post("/accounts/login/", {"username": "dan", "password": "wrong"})
    assert as_token(key).get(TOKENS).status_code == 200
    APIClient().post(SIGN_IN, {"username": "dan", "password": "wrong"}, format="json")
    assert ApiToken.objects.get(owner=user).revoke_reason == "locked_out"
    assert error_code(as_token(key).get(TOKENS)) == "token_revoked"


def test_authentication_is_one_query_and_last_use_is_written_at_most_once_a_minute(
    django_assert_num_queries,
):
    user = UserFactory()
    key = api_token(user)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(2):  # the token with its owner; the first use written
        found_user, token = ApiTokenAuthentication().authenticate(request)
    assert found_user == user and token.last_used_at is not None
    with django_assert_num_queries(1):
        ApiTokenAuthentication().authenticate(request)
    with (
        time_machine.travel(timezone.now() + dt.timedelta(seconds=61)),
        django_assert_num_queries(2),
    ):
        ApiTokenAuthentication().authenticate(request)


def test_the_schema_documents_the_token_endpoints():
    user = UserFactory()
    schema = as_token(api_token(user)).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"post", "delete"} <= set(paths["/api/v1/auth/token/"])
    assert "get" in paths["/api/v1/auth/tokens/"]
    assert "delete" in paths["/api/v1/auth/tokens/{token_id}/"]
    assert schema.json()["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"


def test_rotating_the_secret_key_leaves_tokens_working(settings):
    user = UserFactory()
    key = api_token(user)
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = []
    assert as_token(key).get(TOKENS).status_code == 200


def test_setting_a_password_from_the_emailed_link_revokes_every_token():
    from edc.accounts.services import set_password_from_link

    user = UserFactory()
    key = api_token(user)
    set_password_from_link(user, "from-the-link-31")
    assert ApiToken.objects.get(owner=user).revoke_reason == "password_changed"
    assert error_code(as_token(key).get(TOKENS)) == "token_revoked"
