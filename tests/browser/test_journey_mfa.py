"""Journey, issue #16 points 3 and 4: an investigator turns on two-step sign-in from the
preferences page (QR code and key; the test's "phone" computes codes from the key the page
shows), saves the recovery codes, signs out, signs in with password and code, then signs a form
with user ID and password (the session's first signature) and a second form with the password
alone. Walked page by page in Chromium, in English and Simplified Chinese.

Setup before the journey uses the ORM and services only: the study, site, investigator, a
screened subject and two complete forms."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

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


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_journey_enrol_totp_sign_in_with_it_and_sign_with_user_id_and_password(
    served, two_forms, browser, language
):
    site, subject, first, second = two_forms
    base = served.url
    browser.name = journey_name("mfa-two-step-sign-in-and-signatures", language)
    chinese_site(site, language)

    # -- Preferences: turn on two-step sign-in.
    page = sign_in(browser, base, USERNAME, language=language)
    page.locator(".who a[href$='/accounts/preferences/']").click()
    expect(page.locator("#two-step-off")).to_be_visible()
    step(page, "preferences two-step sign-in off")
    page.locator("#two-step-setup").click()
    expect(page.locator("#qr")).to_be_visible()
    secret = page.locator("#secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", secret), secret
    step(page, "set up QR code and key")
    page.get_by_label(t(language, "Code from the app")).fill("000000")
    page.locator("#confirm").click()
    expect(page.locator("#id_code-error")).to_be_visible()
    step(page, "wrong code refused")
    time.sleep(1.1)  # django-otp makes the try after a wrong code wait a second
    page.get_by_label(t(language, "Code from the app")).fill(authenticator_code(secret))
    page.locator("#confirm").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    step(page, "recovery codes shown once")
    page.locator("#continue").click()

    # -- Sign out, sign in again: password, then the code.
    page.get_by_role("button", name=t(language, "Sign out")).click()
    expect(page.locator("#id_username")).to_be_visible()
    page.locator("#id_username").fill(USERNAME)
    page.locator("#id_password").fill(PASSWORD)
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

    # -- The session's first signature: user ID and password.
    forms = f"{base}/studies/{subject.study.code}/subjects/{subject.subject_id}/forms/SCREEN/1"
    page.goto(f"{forms}/demographics/1/")
    page.locator("#sign-form").click()
    user_id = page.get_by_label(t(language, "Your user ID"))
    expect(user_id).to_be_visible()
    page.get_by_label(t(language, "Your password")).fill(PASSWORD)
    page.get_by_role("button", name=t(language, "Sign"), exact=True).click()
    expect(page.locator("#id_username-error")).to_be_visible()
    step(page, "first signature without user ID refused")
    page.get_by_label(t(language, "Your user ID")).fill(USERNAME)
    page.get_by_label(t(language, "Your password")).fill(PASSWORD)
    step(page, "first signature user ID and password")
    page.get_by_role("button", name=t(language, "Sign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Hai Mai")
    step(page, "first form signed")

    # -- A second signature in the same session: the password alone.
    page.goto(f"{forms}/eligibility/1/")
    page.locator("#sign-form").click()
    expect(page.get_by_label(t(language, "Your password"))).to_be_visible()
    expect(page.locator('input[name="username"]')).to_have_count(0)
    step(page, "second signature password only")
    page.get_by_label(t(language, "Your password")).fill(PASSWORD)
    page.get_by_role("button", name=t(language, "Sign"), exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Hai Mai")
    step(page, "second form signed")
