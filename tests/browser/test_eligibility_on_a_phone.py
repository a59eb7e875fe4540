"""The eligibility page on a phone (issue 11): at 390 px wide a T-REFR subject with every
screening form entered shows the verdict, what needs looking at, and the signature first; the
criteria that are met wait behind one toggle, each a compact card. The page's height at 390 px
is asserted, in English and Chinese, and the screenshots are saved for looking at.

Setup uses services (the forms a coordinator would have entered); the page is then read and
opened as the investigator would."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from crf.definitions import study_forms
from crf.services import save_form
from edc.audit.context import ChangeContext
from edc.subjects import services as subject_services
from edc.subjects.lifecycle import Status
from tests.browser.journey import PHONE_WIDTH, sign_in, step
from tests.browser.test_journey_site_status import screening_values
from tests.factories import SiteFactory, UserFactory, load_study, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Before the compact layout the page was 8,000-odd px tall at 390 px (every criterion a table
# row of five stacked cells). Summary first, it must fit in a few phone screens.
MOST_PX = 2500


@pytest.fixture
def screened(transactional_db):
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    coordinator = UserFactory(username="coordinator")
    member(coordinator, site, "site_staff")
    member(UserFactory(username="investigator"), site, "investigator")
    today = site.today()
    consent = today - dt.timedelta(days=10)
    ctx = ChangeContext(coordinator, "web")
    subject = subject_services.screen_subject(ctx, site, consent_date=consent, icf_version="1.0")
    subject_services.transition(ctx, subject, Status.REGISTERED, on_date=today)
    events = study_forms(site.study.current_version_id).events
    codes = [("SCREENING", code) for code in events["SCREENING"]["forms"]] + [
        ("RANDOMIZATION", "rand")
    ]
    entries = screening_values(site, consent, today)  # the screening forms, then rand
    for (event, code), (_event, _name, values) in zip(codes, entries, strict=True):
        save_form(ctx, subject, event, 1, code, 1, values, row_version=0, confirm_warnings=True)
    return subject


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_eligibility_page_fits_a_phone_summary_first(screened, live_server, browser, language):
    browser.name = "eligibility-phone" + ("" if language == "en" else f"-{language}")
    page = sign_in(browser, live_server.url, "investigator", language=language)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.goto(f"{live_server.url}/studies/T-REFR/subjects/{screened.subject_id}/eligibility/")
    expect(page.locator("#verdict")).to_be_visible()
    height = page.evaluate("() => document.documentElement.scrollHeight")
    met = page.locator("#criteria-met")
    count = page.locator(".criterion").count()
    print(f"RESULT language={language} eligibility_height_390={height} criteria={count}")
    step(page, "eligibility summary first")
    assert height <= MOST_PX, f"the eligibility page is {height} px tall at 390 px"
    # Every criterion is met here: the signature comes before the list, the list is one toggle.
    expect(page.locator("#confirm-form")).to_be_visible()
    assert page.evaluate(
        "() => document.querySelector('#confirm-form').getBoundingClientRect().top"
        " < document.querySelector('#criteria-met').getBoundingClientRect().top"
    )
    expect(met.locator(".criterion").first).to_be_hidden()
    met.locator("summary").first.click()
    expect(met.locator(".criterion").first).to_be_visible()
    opened = page.evaluate("() => document.documentElement.scrollHeight")
    print(f"RESULT language={language} eligibility_height_390_opened={opened}")
    step(page, "every criterion opened")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
