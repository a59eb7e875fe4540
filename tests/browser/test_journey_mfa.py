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

from edc.accounts.roles import Role
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.datamanagement.models import Signature
from edc.mfa.services import set_study_policy
from tests.browser.journey import sign_in, step
from tests.browser.test_journey_people import admin_creates_person, person_sets_password_from_email
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


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_journey_admin_adds_investigator_who_sets_password_enrols_totp_and_signs(
    served, browser, language
):
    """The issue's must-show: a study admin adds an investigator; the e-mail's link sets the
    password; the study requires two-step sign-in of investigators, so the first sign-in leads
    straight to enrolment; the investigator then signs in with password and code and signs a
    form with user ID and password."""
    base = served.url
    browser.name = journey_name("mfa-new-investigator-enrols-and-signs", language)
    study = load_study()
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    chinese_site(site, language)
    admin = UserFactory(username="studyadmin_two_step", first_name="Wei", last_name="Zhang")
    member(admin, study, "study_admin")
    # This study's own policy: investigators must use two-step sign-in (the demo default asks
    # it of nobody).
    set_study_policy(
        ChangeContext.system(), study, {role.value: role == Role.INVESTIGATOR for role in Role}
    )
    subject = screen(site)
    form = make_form(subject)
    username, email, password = "li.hua", "li.hua@example.org", "Li-Hua-signs-2026"
    full_name = "李华" if language != "en" else "Hua Li"

    admin_page = sign_in(browser, base, admin.username, language=language)
    admin_creates_person(
        admin_page,
        study=study.code,
        username=username,
        full_name=full_name,
        email=email,
        role="investigator",
        site="01",
        language=language,
    )
    page = browser.new_page(language=language, base=base)
    person_sets_password_from_email(page, served.inbox, password, email=email, username=username)
    # Required and not yet enrolled: the set-up page comes before anything else.
    expect(page.locator("#required-now")).to_be_visible()
    page.goto(f"{base}/")
    assert "/accounts/two-step/setup/" in page.url, page.url
    secret = enrol_authenticator(page, language)
    sign_in_with_code(page, base, username, password, secret, language)

    page.goto(
        f"{base}/studies/{study.code}/subjects/{subject.subject_id}/forms/SCREEN/1/demographics/1/"
    )
    sign_form(page, language, username=username, password=password, signer=full_name)
    assert Signature.objects.filter(form_instance=form, signer__username=username).count() == 1
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"password_set", "second_factor_enrolled", "second_factor_verified", "sign"} <= actions
