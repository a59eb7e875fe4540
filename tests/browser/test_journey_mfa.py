"""Journey, issue #16 points 3 and 4: an investigator turns on two-step sign-in from the
preferences page (QR code and key; the test's "phone" computes codes from the key the page
shows), saves the recovery codes, signs out, signs in with password and code, then signs a form
with user ID and password (the session's first signature) and a second form with the password
alone. Walked page by page in Chromium, in English and Simplified Chinese.

The steps are functions other journeys build on:

    secret = enrol_authenticator(page, language)      # on the set-up page: QR, key, code, codes
    sign_in_with_code(page, base, username, password, secret, language)
    sign_form(page, language, username=..., password=...)   # on a form page; username only on
                                                            # the session's first signature

Setup before the journey uses the ORM and services only: the study, site, investigator, a
screened subject and two complete forms."""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from edc.datamanagement.models import Signature
from tests.browser.journey import sign_in, step
from tests.browser.test_journey_site_status import chinese_site, journey_name, t
from tests.datamanagement.conftest import make_form
from tests.factories import PASSWORD, SiteFactory, UserFactory, load_study, member, screen

pytestmark = [pytest.mark.browser, pytest.mark.integration]

USERNAME = "pi_two_step"


@pytest.fixture
def two_forms(served):
    study = load_study()
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    investigator = UserFactory(username=USERNAME, first_name="Hai", last_name="Mai")
    member(investigator, site, "investigator")
    subject = screen(site)
    return site, subject, make_form(subject), make_form(subject, form_code="eligibility")


def authenticator_code(secret_shown: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed from the page. A code once accepted
    is refused again, so a later sign-in uses the next 30-second step's code."""
    totp = TOTP(b32decode(secret_shown.replace(" ", "")))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def enrol_authenticator(page: Page, language: str, *, try_a_wrong_code: bool = False) -> str:
    """On the set-up page: read the key shown beside the QR code, confirm with the app's code
    and see the recovery codes once; then continue. Returns the key, the test's phone."""
    expect(page.locator("#qr")).to_be_visible()
    secret = page.locator("#secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", secret), secret
    step(page, "set up QR code and key")
    code_field = page.get_by_label(t(language, "Code from the app"))
    if try_a_wrong_code:
        code_field.fill("000000")
        page.locator("#confirm").click()
        expect(page.locator("#id_code-error")).to_be_visible()
        step(page, "wrong code refused")
        time.sleep(1.1)  # django-otp makes the try after a wrong code wait a second
    code_field.fill(authenticator_code(secret))
    page.locator("#confirm").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    step(page, "recovery codes shown once")
    page.locator("#continue").click()
    return secret


def sign_in_with_code(
    page: Page, base: str, username: str, password: str, secret: str, language: str
) -> None:
    """Sign out, then in again: password, then the authenticator's code."""
    page.get_by_role("button", name=t(language, "Sign out")).first.click()
    expect(page.locator("#id_username")).to_be_visible()
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator('main form button[type="submit"].primary').click()
    expect(page.locator("#verify-form")).to_be_visible()
    step(page, "sign in step two code")
    page.get_by_label(t(language, "Verification code")).fill(
        authenticator_code(secret, steps_ahead=1)
    )
    page.locator("#verify").click()
    expect(page.locator("#verify-form")).to_have_count(0)
    assert "/accounts/" not in page.url, page.url
    step(page, "signed in with password and code")


def sign_form(
    page: Page, language: str, *, password: str, username: str | None, signer: str
) -> None:
    """On a form's page: Sign this form; the user ID only when the page asks for it (the
    session's first signature), which it must exactly when `username` is given. The page
    then says who signed (`signer`, the printed name)."""
    page.locator("#sign-form").click()
    user_id = page.locator('input[name="username"]')
    if username is None:
        expect(user_id).to_have_count(0)
        expect(page.locator("#password-only")).to_be_visible()
        step(page, "second signature password only")
    else:
        expect(user_id).to_be_visible()
        page.get_by_label(t(language, "Your password")).fill(password)
        page.get_by_role("button", name=t(language, "Sign"), exact=True).click()
        expect(page.locator("#id_username-error")).to_be_visible()
        step(page, "first signature without user ID refused")
        page.get_by_label(t(language, "Your user ID")).fill(username)
    page.get_by_label(t(language, "Your password")).fill(password)
    step(page, "signature " + ("user ID and password" if username else "password"))
    page.get_by_role("button", name=t(language, "Sign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text(signer)
    step(page, "form signed")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_journey_enrol_totp_sign_in_with_it_and_sign_with_user_id_and_password(
    served, two_forms, browser, language
):
    site, subject, first, second = two_forms
    base = served.url
    browser.name = journey_name("mfa-two-step-sign-in-and-signatures", language)
    chinese_site(site, language)

    page = sign_in(browser, base, USERNAME, language=language)
    page.locator(".who a[href$='/accounts/preferences/']").click()
    expect(page.locator("#two-step-off")).to_be_visible()
    step(page, "preferences two-step sign-in off")
    page.locator("#two-step-setup").click()
    secret = enrol_authenticator(page, language, try_a_wrong_code=True)
    sign_in_with_code(page, base, USERNAME, PASSWORD, secret, language)

    forms = f"{base}/studies/{subject.study.code}/subjects/{subject.subject_id}/forms/SCREEN/1"
    page.goto(f"{forms}/demographics/1/")
    sign_form(page, language, username=USERNAME, password=PASSWORD, signer="Hai Mai")
    page.goto(f"{forms}/eligibility/1/")
    sign_form(page, language, username=None, password=PASSWORD, signer="Hai Mai")
    signed = Signature.objects.filter(form_instance__in=[first, second], signer__username=USERNAME)
    assert signed.count() == 2
