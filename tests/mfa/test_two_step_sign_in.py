"""Two-step sign-in (edc.mfa, django-otp): password, then a TOTP code or a recovery code when
the person has an authenticator or a role requires one; enrolment from the preferences page;
API tokens by password as before."""

import re
import time

import pytest
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.mfa.services import set_study_policy
from tests.factories import PASSWORD, SiteFactory, UserFactory, load_study, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(db):
    return SiteFactory(study=load_study(), code="01")


@pytest.fixture
def investigator(site):
    user = UserFactory(username="pi_mfa")
    member(user, site, "investigator")
    return user


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's app shows (``steps_ahead`` 30-second steps later: a code once
    accepted is not accepted again)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def sign_in(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def test_demo_users_sign_in_with_the_password_alone(investigator):
    client = sign_in(investigator)
    assert client.get("/").status_code == 200
    assert client.get("/accounts/preferences/").status_code == 200


def test_enrolment_from_preferences_shows_qr_and_key_then_recovery_codes_once(investigator):
    client = sign_in(investigator)
    preferences = client.get("/accounts/preferences/").content.decode()
    assert 'id="two-step-off"' in preferences and "/accounts/two-step/setup/" in preferences
    page = client.get("/accounts/two-step/setup/").content.decode()
    assert 'id="qr"' in page and "data:image/svg+xml" in page
    secret = re.search(r'id="secret" class="secret">([A-Z2-7 ]+)<', page).group(1)
    device = TOTPDevice.objects.get(user=investigator, confirmed=False)
    from base64 import b32encode

    assert secret.replace(" ", "") == b32encode(device.bin_key).decode()
    wrong = client.post("/accounts/two-step/setup/", {"code": "000000"})
    assert wrong.status_code == 403 and 'id="id_code-error"' in wrong.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp makes the next try after a wrong code wait a second
    done = client.post("/accounts/two-step/setup/", {"code": code(device)})
    assert done.status_code == 200
    shown = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done.content.decode())
    assert len(shown) == 10
    assert sorted(shown) == sorted(StaticToken.objects.values_list("token", flat=True))
    assert TOTPDevice.objects.get(user=investigator).confirmed
    enrolment = AuditEvent.objects.filter(action="second_factor_enrolled")
    assert sorted(enrolment.values_list("item", flat=True)) == ["authenticator", "recovery_codes"]
    # Shown once: the preferences page only counts them.
    preferences = client.get("/accounts/preferences/").content.decode()
    assert 'id="two-step-on"' in preferences and shown[0] not in preferences


def test_with_an_authenticator_every_page_waits_for_the_code(investigator):
    device = enrolled(investigator)
    client = sign_in(investigator)
    for path in ("/", "/accounts/preferences/", "/queries/", "/accounts/two-step/setup/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(
            "/accounts/two-step/?next="
        ), path
    wrong = client.post("/accounts/two-step/", {"code": "123456", "next": "/queries/"})
    assert wrong.status_code == 403 and 'id="id_code-error"' in wrong.content.decode()
    assert AuditEvent.objects.filter(action="second_factor_failed").count() == 1
    device.refresh_from_db()
    device.throttle_reset()
    right = client.post("/accounts/two-step/", {"code": code(device), "next": "/queries/"})
    assert right.status_code == 302 and right["Location"] == "/queries/"
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="second_factor_verified").count() == 1


def test_a_recovery_code_signs_in_once(investigator):
    enrolled(investigator)
    client = sign_in(investigator)
    # Enrolment made these; here straight from django-otp.
    from django_otp.plugins.otp_static.models import StaticDevice

    recovery = StaticDevice.objects.create(user=investigator, name="recovery codes")
    recovery.token_set.create(token="abcd2345ef")
    assert client.post("/accounts/two-step/", {"code": "ABCD 2345EF"}).status_code == 302
    assert client.get("/").status_code == 200
    again = sign_in(investigator)  # a new session: the used code is gone
    assert again.post("/accounts/two-step/", {"code": "abcd2345ef"}).status_code == 403


@override_settings(EDC_MFA_ROLES=["investigator", "data_manager", "statistician", "study_admin"])
def test_a_required_role_without_authenticator_is_sent_to_enrol_first(investigator, site):
    client = sign_in(investigator)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith("/accounts/two-step/setup/")
    page = client.get("/accounts/two-step/setup/").content.decode()
    assert 'id="required-now"' in page
    device = TOTPDevice.objects.get(user=investigator)
    assert client.post("/accounts/two-step/setup/", {"code": code(device)}).status_code == 200
    assert client.get("/").status_code == 200
    # Site staff are not required by the default; the study can require them.
    staff = UserFactory(username="staff_mfa")
    member(staff, site, "site_staff")
    assert sign_in(staff).get("/").status_code == 200
    set_study_policy(
        ChangeContext.system(),
        site.study,
        {"site_staff": True, "investigator": False, "data_manager": True},
    )
    assert sign_in(staff).get("/")["Location"].startswith("/accounts/two-step/setup/")
    other = UserFactory(username="pi_relaxed")
    member(other, site, "investigator")
    assert sign_in(other).get("/").status_code == 200  # the study relaxed investigators
    policy = AuditEvent.objects.filter(action="second_factor_policy_changed")
    assert sorted(policy.values_list("item", flat=True)) == [
        "data_manager",
        "investigator",
        "site_staff",
    ]


@override_settings(EDC_MFA_ROLES=["investigator"])
def test_api_tokens_are_issued_by_password_as_before(investigator):
    enrolled(investigator)
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": investigator.username, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200 and response.json()["token"]


@override_settings(EDC_MFA_ROLES=["investigator"])
def test_removing_the_authenticator_ends_the_verified_session(investigator):
    device = enrolled(investigator)
    client = sign_in(investigator)
    assert client.post("/accounts/two-step/", {"code": code(device)}).status_code == 302
    assert client.get("/").status_code == 200
    device.delete()  # a superuser removed the lost phone's authenticator in the admin
    again = client.get("/")
    assert again.status_code == 302 and again["Location"].startswith("/accounts/two-step/setup/")


def _otp_queries(client, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in captured if "otp_" in q["sql"] or "mfa_" in q["sql"]]


def test_the_step_costs_queries_once_per_session_and_a_verified_page_one(investigator):
    """Hot path: the step is worked out on the first page after the password and kept in the
    session; a verified person's pages each re-read the device (one query, django-otp)."""
    client = sign_in(investigator)
    assert len(_otp_queries(client, "/")) == 2  # authenticator? this study's policy?
    assert _otp_queries(client, "/") == []
    enrolled_user = UserFactory(username="pi_verified")
    device = enrolled(enrolled_user)
    verified = sign_in(enrolled_user)
    assert verified.post("/accounts/two-step/", {"code": code(device)}).status_code == 302
    assert len(_otp_queries(verified, "/")) == 1
