"""The "My API tokens" pages: the key shown once, revoking after a confirmation, and a study
admin's view of the people of their study."""

import pytest
from django.test import Client

from edc.accounts.models import ApiToken
from tests.factories import UserFactory, api_token, member

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_new_tokens_key_is_shown_once_and_its_list_times_carry_the_zone():
    user = UserFactory()
    client = signed_in(user)
    created = client.post("/accounts/tokens/", {"name": "lab analyser", "expires_in_days": ""})
    assert created.status_code == 200
    token = ApiToken.objects.get(owner=user)
    key = created.context["new_key"]
    assert key[:8] == token.prefix and key in created.content.decode()
    again = client.get("/accounts/tokens/").content.decode()
    assert key not in again and f"{token.prefix}…" in again
    assert "UTC" in again  # the stamp filter names the zone


def test_a_taken_name_or_too_long_a_life_is_an_inline_error():
    user = UserFactory()
    api_token(user, name="lab analyser")
    client = signed_in(user)
    taken = client.post("/accounts/tokens/", {"name": "lab analyser"})
    assert taken.status_code == 200 and taken.context["form"].errors["name"]
    too_long = client.post("/accounts/tokens/", {"name": "x", "expires_in_days": "365"})
    assert too_long.context["form"].errors["expires_in_days"]
    assert ApiToken.objects.filter(owner=user).count() == 1


def test_revoking_asks_first_and_only_the_owner_or_their_admin_may(site_a, study):
    owner, stranger, admin = UserFactory(), UserFactory(), UserFactory()
    member(owner, site_a, "site_staff")
    member(admin, study, "study_admin")
    api_token(owner, name="mine")
    token = ApiToken.objects.get(owner=owner)
    url = f"/accounts/tokens/{token.pk}/revoke/"
    assert signed_in(stranger).get(url).status_code == 404
    assert signed_in(stranger).post(url).status_code == 404
    assert (
        signed_in(stranger).get(f"/accounts/tokens/person/?username={owner.username}").status_code
        == 404
    )
    confirm = signed_in(owner).get(url)
    assert confirm.status_code == 200 and 'id="confirm-revoke"' in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    listed = signed_in(admin).get(f"/accounts/tokens/person/?username={owner.username}")
    assert listed.status_code == 200 and "mine" in listed.content.decode()
    done = signed_in(admin).post(url)
    assert done.status_code == 302 and "person" in done["Location"]
    token.refresh_from_db()
    assert (token.revoke_reason, token.revoked_by) == ("by_admin", admin)
