"""Issue 16, point 2, in Chromium against the app served for real: a study admin signs in,
adds a person with a site-staff (coordinator) role at site 01; the e-mail with the
set-password link reaches the SMTP inbox; the new person opens the link, sets a password,
signs in and reaches the site's pages. In English and in Simplified Chinese (a Guangzhou site,
its people reading Chinese in Shanghai time).

The two halves are functions other journeys build on (the MFA journey adds TOTP enrolment after
``person_sets_password_from_email``):

    admin_creates_person(admin_page, study=..., username=..., full_name=..., email=...,
                         role=..., site=..., language=...)
    person_sets_password_from_email(new_page, inbox, password, email=..., username=...)

Setup before the journey (study, site, the admin) uses services; inside it there is no API
call, no ORM write and no shortcut URL: clicks, typing, and the link the e-mail carries."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from edc.accounts.models import Membership
from edc.audit.models import AuditEvent
from tests.browser.journey import sign_in, step, t
from tests.factories import SiteFactory, UserFactory, load_study, member
from tests.smtp import Inbox

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STUDY = "T-REFR"
LINK = re.compile(r"https?://\S+/accounts/set-password/\S+/")


def admin_creates_person(
    page: Page,
    *,
    study: str,
    username: str,
    full_name: str,
    email: str,
    role: str,
    site: str,
    language: str = "en",
) -> None:
    """From the admin's home page: the study, its People page, "Add a person", the form, and
    the new person's page showing their role. `role` is a role code ("site_staff"), `site` a
    site code ("*" for all sites); `language` is the UI language of the admin and the one
    chosen for the person."""
    page.get_by_role("link", name=study, exact=True).first.click()
    page.locator("#people-link").click()
    expect(page.locator("h1")).to_contain_text(t(language, "People"))
    step(page, "people of the study")
    page.locator("#add-person").click()
    page.locator("#id_username").fill(username)
    page.locator("#id_full_name").fill(full_name)
    page.locator("#id_email").fill(email)
    page.locator("#id_language").select_option(language)
    page.locator("#id_site").select_option(site)
    page.locator("#id_role").select_option(role)
    step(page, "add a person")
    page.locator("#add-person-submit").click()
    expect(page.locator("#person-heading")).to_contain_text(username)
    expect(page.locator(".messages")).to_contain_text(email)
    expect(page.locator("#password-state")).to_contain_text(
        t(language, "Not set yet: the person sets it from the e-mailed link.")
    )
    step(page, "person added")


def set_password_email(inbox: Inbox, email: str, seconds: float = 30):
    """The newest message to `email` (the app sends it while answering the admin's form)."""
    deadline = time.monotonic() + seconds
    while True:
        with inbox.lock:
            found = [m for to, m in inbox.messages if to == [email]]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"no e-mail to {email} after {seconds} s"
        time.sleep(0.2)


def person_sets_password_from_email(
    page: Page, inbox: Inbox, password: str, *, email: str, username: str
) -> None:
    """The new person, in their own browser: the link in the e-mail, the set-password page,
    then the sign-in page. Leaves `page` signed in, on the page sign-in leads to."""
    body = set_password_email(inbox, email).get_content()
    page.goto(LINK.search(body).group(0))
    expect(page.locator("#set-password-form")).to_be_visible()
    step(page, "set your password")
    page.locator("#id_new_password1").fill(password)
    page.locator("#id_new_password2").fill(password)
    page.locator("#set-password-submit").click()
    expect(page.locator('input[name="username"]')).to_be_visible()
    step(page, "password set: sign in")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    with page.expect_navigation():
        page.locator('form:has(input[name="password"]) button[type="submit"]').click()
    assert "/accounts/login/" not in page.url, page.locator("main").inner_text()[:500]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_study_admin_adds_a_coordinator_who_sets_a_password_and_signs_in(
    served, browser, language
):
    browser.name = "people-add-person" + ("" if language == "en" else f"-{language}")
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    if language != "en":
        site.language, site.timezone = language, "Asia/Shanghai"
        site.save(update_fields=["language", "timezone"])
    admin = UserFactory(username="studyadmin", first_name="Wei", last_name="Zhang")
    member(admin, study, "study_admin")
    email = "lin.mei@example.org"

    admin_page = sign_in(browser, served.url, "studyadmin", language=language)
    admin_creates_person(
        admin_page,
        study=STUDY,
        username="lin.mei",
        full_name="林梅" if language != "en" else "Mei Lin",
        email=email,
        role="site_staff",
        site="01",
        language=language,
    )
    expect(admin_page.locator("#memberships")).to_contain_text(t(language, "Site staff"))

    message = set_password_email(served.inbox, email)
    assert str(message["Subject"]) == t(
        language, "[%(study)s] Set your password for NPC EDC", study=STUDY
    )
    body = message.get_content()
    assert t(language, "Your username: %(username)s", username="lin.mei") in body
    # The link's expiry, in the site's zone, named.
    assert ("CST" if language != "en" else "UTC") in body

    person = browser.new_page(language=language, base=served.url)
    person_sets_password_from_email(
        person, served.inbox, "Mei-Lin-sets-2026", email=email, username="lin.mei"
    )
    expect(person.locator("html")).to_have_attribute("lang", language)
    expect(person.locator("#work-" + STUDY + "-01")).to_be_visible()
    step(person, "signed in: the site's work")
    person.locator("#work-" + STUDY + "-01").get_by_role(
        "link", name=t(language, "Subject list")
    ).click()
    expect(person.locator("h1")).to_contain_text("01")
    step(person, "the site's subject list")

    # Back on the admin's side, the People list shows the person and their active role.
    admin_page.get_by_role("link", name=t(language, "People")).click()
    expect(admin_page.locator("#person-lin\\.mei")).to_contain_text(t(language, "Site staff"))
    step(admin_page, "people: the new coordinator")

    membership = Membership.objects.get(user__username="lin.mei")
    assert (membership.status, membership.site_id, membership.granted_by_id) == (
        "active",
        site.pk,
        admin.pk,
    )
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"person_added", "role_granted", "set_password_link_sent", "password_set"} <= actions
