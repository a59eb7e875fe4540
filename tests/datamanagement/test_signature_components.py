"""21 CFR 11.200(a)(1): the first signature of a continuous session takes both components, user
ID and password; later ones in the session the password alone; after the idle timeout has ended
the session, both again. The user ID must be the signer's own (edc.accounts.signing)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from edc.accounts.signing import SESSION_KEY
from edc.audit.models import AuditEvent
from edc.datamanagement.models import Signature
from tests.datamanagement.conftest import make_form

pytestmark = pytest.mark.django_db

WEB = "/studies/T-MINI/dm"
MEANING = "I attest the data are accurate."


def signed_in(user, password) -> Client:
    """A real sign-in (the login page), so the session is the one a person has."""
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response.content.decode()[:300]
    return client


def sign_page(client, form) -> str:
    return client.get(f"{WEB}/sign/?level=form&form={form.pk}").content.decode()


def post_sign(client, form, **fields):
    return client.post(
        f"{WEB}/sign/", {"level": "form", "form": form.pk, "meaning": MEANING, **fields}
    )


def test_first_signature_needs_user_id_and_password_then_password_alone(
    subject_a, investigator_a, password
):
    first, second = make_form(subject_a), make_form(subject_a, form_code="eligibility")
    client = signed_in(investigator_a, password)
    assert 'name="username"' in sign_page(client, first)

    missing = post_sign(client, first, password=password)
    assert missing.status_code == 400
    page = missing.content.decode()
    assert 'id="id_username-error"' in page and "enter your user ID" in page
    wrong_password = post_sign(client, first, username=investigator_a.username, password="nope")
    assert wrong_password.status_code == 403 and 'id="id_password-error"' in (
        wrong_password.content.decode()
    )
    # Only a signature that succeeded marks the session.
    assert SESSION_KEY not in client.session
    assert 'name="username"' in sign_page(client, first)
    assert not Signature.objects.exists()

    signed = post_sign(client, first, username=investigator_a.username, password=password)
    assert signed.status_code == 302
    assert client.session[SESSION_KEY] is True

    page = sign_page(client, second)
    assert 'name="username"' not in page and 'id="password-only"' in page
    assert post_sign(client, second, password=password).status_code == 302
    assert Signature.objects.count() == 2


def test_a_user_id_not_the_signers_is_refused_inline_and_audited(
    subject_a, investigator_a, monitor, password
):
    form = make_form(subject_a)
    client = signed_in(investigator_a, password)
    refused = post_sign(client, form, username=monitor.username, password=password)
    assert refused.status_code == 403
    page = refused.content.decode()
    assert 'id="id_username-error"' in page and "not the user ID you are signed in with" in page
    assert not Signature.objects.exists()
    assert AuditEvent.objects.filter(action="signature_failed").count() == 1
    assert SESSION_KEY not in client.session


def test_after_the_idle_timeout_both_components_again(subject_a, investigator_a, password):
    first, second = make_form(subject_a), make_form(subject_a, form_code="eligibility")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = signed_in(investigator_a, password)
        assert post_sign(client, first, username="pi_a", password=password).status_code == 302
        clock.shift(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60))
        # The idle session has ended: the sign page sends the person to sign in again.
        expired = client.get(f"{WEB}/sign/?level=form&form={second.pk}")
        assert expired.status_code == 302 and "/accounts/login/" in expired["Location"]
        client = signed_in(investigator_a, password)
        assert 'name="username"' in sign_page(client, second)
        assert post_sign(client, second, password=password).status_code == 400
        assert post_sign(client, second, username="pi_a", password=password).status_code == 302
    assert Signature.objects.count() == 2
