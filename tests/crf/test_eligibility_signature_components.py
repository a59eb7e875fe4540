"""Eligibility confirmation is an e-signature too: user ID and password first in a session,
the password alone after any signature of the session (edc.accounts.signing)."""

import pytest
from django.test import Client

from crf.models import EligibilityConfirmation
from edc.accounts.signing import SESSION_KEY
from tests.crf.test_eligibility import enter_registration_data
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_eligibility_confirmation_asks_user_id_first_then_password_alone(
    staff, investigator, subject
):
    enter_registration_data(staff, subject)
    client = Client()
    assert (
        client.post(
            "/accounts/login/", {"username": investigator.username, "password": PASSWORD}
        ).status_code
        == 302
    )
    address = (
        f"/studies/{subject.study.code}/subjects/{subject.subject_id}/eligibility/"
        "?point=registration"
    )
    assert 'id="f-username"' in client.get(address).content.decode()
    confirm = {"point": "registration", "action": "confirm", "password": PASSWORD}
    missing = client.post(address, confirm)
    assert missing.status_code == 400
    assert 'id="f-username-error"' in missing.content.decode()
    wrong = client.post(address, {**confirm, "username": "staff_crf"})
    assert wrong.status_code == 403 and 'id="f-username-error"' in wrong.content.decode()
    assert not EligibilityConfirmation.objects.exists()
    signed = client.post(address, {**confirm, "username": investigator.username})
    assert signed.status_code == 302
    assert client.session[SESSION_KEY] is True
    assert EligibilityConfirmation.objects.count() == 1


def test_after_a_signature_in_the_session_eligibility_needs_the_password_alone(
    staff, investigator, subject
):
    enter_registration_data(staff, subject)
    client = Client()
    client.force_login(investigator)
    session = client.session
    session[SESSION_KEY] = True  # as the signing service leaves it after a first signature
    session.save()
    address = (
        f"/studies/{subject.study.code}/subjects/{subject.subject_id}/eligibility/"
        "?point=registration"
    )
    page = client.get(address).content.decode()
    assert 'id="f-username"' not in page and 'id="password-only"' in page
    confirm = {"point": "registration", "action": "confirm", "password": PASSWORD}
    assert client.post(address, confirm).status_code == 302
    assert EligibilityConfirmation.objects.count() == 1
