"""Journey (d): a data manager raises a query on an item; the coordinator sees it flagged on the
form and in the inbox, and answers it by correcting the value; the data manager closes it; a
monitor verifies the form, an investigator signs it, and the data manager locks the subject,
whose forms then show read-only. Page by page in Chromium; setup before it uses services."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from crf import services as crf_services
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.datamanagement.models import Query, QueryChange
from tests.browser.journey import sign_in, step
from tests.crf.conftest import load_crf_study
from tests.factories import PASSWORD, SiteFactory, UserFactory, member, screen

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TODAY = dt.date.today()
User = get_user_model()


@pytest.fixture
def world(transactional_db):
    study = load_crf_study()
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    people = {
        "coordinator": ("Mei", "Lin", site, "site_staff"),
        "investigator": ("Hai", "Mai", site, "investigator"),
        "monitor": ("Mona", "Tor", study, "monitor"),
        "datamanager": ("Dana", "Manager", study, "data_manager"),
    }
    for username, (first, last, where, role) in people.items():
        member(UserFactory(username=username, first_name=first, last_name=last), where, role)
    subject = screen(site, consent_date=TODAY - dt.timedelta(days=30))
    coordinator = User.objects.get(username="coordinator")
    crf_services.save_form(
        ChangeContext(user=coordinator, channel=Channel.WEB),
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"},
        row_version=0,
    )
    return subject


def open_demographics(page, base: str, subject_id: str, shot: str = "", state: str = "") -> None:
    """Home → study → site → the status grid → the Demographics cell (in `state`, if given)."""
    page.goto(f"{base}/")
    page.get_by_role("link", name="T-CRF").first.click()
    page.get_by_role("link", name="01", exact=True).first.click()
    page.get_by_role("link", name="Subjects and visits grid").click()
    cell = page.locator(
        f'tr[data-subject="{subject_id}"] td[data-event="SCREENING"] a[data-form="dm"]'
    )
    if state:
        expect(cell).to_have_attribute("data-state", state)
    if shot:
        step(page, shot)
    cell.click()
    expect(page.locator("#form-heading")).to_contain_text("Demographics")


def test_query_answer_close_verify_sign_lock(world, served, browser):
    base, subject_id = served.url, world.subject_id

    # The data manager raises a query on the weight, from the form's data review page.
    dm = sign_in(browser, base, "datamanager")
    open_demographics(dm, base, subject_id, "status grid before the query", state="complete")
    step(dm, "data manager opens the form from the grid")
    dm.get_by_role("link", name="data review").click()
    dm.locator("#item-WEIGHT").get_by_role("link", name="Raise").click()
    dm.get_by_label("Question to the site").fill("The source chart says 65.1 kg. Please check.")
    dm.get_by_role("button", name="Raise query").click()
    expect(dm.locator("h1")).to_contain_text("Open")
    query = Query.objects.get()
    step(dm, "query raised")
    dm.context.close()

    # The coordinator sees it in the header, the inbox and flagged on the form, and answers.
    nurse = sign_in(browser, base, "coordinator")
    expect(nurse.locator("#inbox-count")).to_have_text("1")
    expect(nurse.locator("#work-queries")).to_contain_text("1 open query to answer")
    step(nurse, "coordinator landing page")
    nurse.locator("#inbox-link").click()
    expect(nurse.locator("#inbox")).to_contain_text(f"Q{query.pk}")
    step(nurse, "coordinator inbox")
    nurse.locator("#inbox").get_by_role("link", name="Demographics · Screening").click()
    weight = nurse.locator('.field.has-query[data-path="WEIGHT"]')
    expect(weight.locator(f"#query-{query.pk}")).to_contain_text("The source chart says 65.1 kg")
    step(nurse, "query flagged on the form")
    nurse.get_by_label("Weight (kg)").fill("65.1")
    nurse.get_by_label("Your answer").fill("Transcription error; corrected from the chart.")
    nurse.get_by_role("button", name="Save and mark complete").click()
    expect(nurse.locator(".messages")).to_contain_text(f"answered Q{query.pk}")
    expect(nurse.locator("#inbox-count")).to_have_text("0")
    step(nurse, "answered with the corrected value")
    nurse.context.close()
    assert QueryChange.objects.filter(query=query).count() == 1

    # The data manager reads the answer, the value and its history, and closes the query.
    dm = sign_in(browser, base, "datamanager")
    expect(dm.locator("#inbox-count")).to_have_text("1")
    dm.locator("#inbox-link").click()
    dm.locator("#inbox").get_by_role("link", name=f"Q{query.pk}").click()
    expect(dm.locator("#queried-value")).to_have_text("65.1")
    expect(dm.locator("#item-history")).to_contain_text("changed in answer to this query")
    step(dm, "query page with value and history")
    dm.get_by_role("button", name="Close").click()
    expect(dm.locator("h1")).to_contain_text("Closed")
    step(dm, "query closed")
    dm.context.close()

    # The monitor verifies the whole form in one action.
    monitor = sign_in(browser, base, "monitor")
    open_demographics(monitor, base, subject_id)
    monitor.get_by_role("button", name="Verify the whole form").click()
    expect(monitor.locator("#readonly-banner")).to_contain_text("Source-verified by Mona Tor")
    step(monitor, "form verified")
    monitor.context.close()

    # The investigator finds it awaiting signature on the landing page and signs it.
    pi = sign_in(browser, base, "investigator")
    expect(pi.locator("#work-sign")).to_contain_text("1 form awaiting your signature")
    step(pi, "investigator landing page")
    pi.locator("#work-sign").get_by_role(
        "link", name=f"{subject_id} · Screening · Demographics"
    ).click()
    pi.get_by_role("link", name="Sign this form").click()
    pi.get_by_label("Your password").fill(PASSWORD)
    step(pi, "signing")
    pi.get_by_role("button", name="Sign", exact=True).click()
    expect(pi.locator("#readonly-banner")).to_contain_text("Signed (form signature) by Hai Mai")
    step(pi, "form signed")
    pi.context.close()

    # The data manager locks the subject, chosen by its ID; its forms are then read-only.
    dm = sign_in(browser, base, "datamanager")
    dm.get_by_role("link", name="T-CRF").first.click()
    dm.get_by_role("link", name="Queries, SDV and locks").click()
    dm.get_by_role("link", name="Lock or unlock data").click()
    dm.get_by_label("Level", exact=True).select_option("subject")
    dm.get_by_label("Subject (subject and form level)").select_option(subject_id)
    dm.get_by_label("Reason").fill("Data clean for the interim analysis")
    step(dm, "lock page")
    dm.get_by_role("button", name="Lock", exact=True).click()
    expect(dm.locator(".messages")).to_contain_text("lock")
    step(dm, "subject locked")
    open_demographics(dm, base, subject_id, "status grid after the lock", state="locked")
    banner = dm.locator("#readonly-banner")
    expect(banner).to_contain_text("Locked (subject lock) by Dana Manager")
    expect(banner).to_contain_text("Signed (form signature) by Hai Mai")
    expect(banner).to_contain_text("Source-verified by Mona Tor")
    expect(dm.get_by_label("Weight (kg)")).to_have_attribute("readonly", "")
    expect(dm.locator("#save")).to_have_count(0)
    step(dm, "locked form read only")
    dm.context.close()

    nurse = sign_in(browser, base, "coordinator")
    open_demographics(nurse, base, subject_id)
    expect(nurse.locator("#readonly-banner")).to_contain_text("Locked (subject lock)")
    expect(nurse.locator("#save")).to_have_count(0)
    step(nurse, "coordinator sees the locked form")
    nurse.context.close()
    print(f"journey d: {browser.page_loads} page loads")
