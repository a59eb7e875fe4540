"""Journey (d): a data manager raises a query on an item; the coordinator sees it flagged on the
form and in the inbox, and answers it by correcting the value; the data manager closes it; a
monitor verifies the form, an investigator signs it, and the data manager locks the subject,
whose forms then show read-only. Page by page in Chromium; setup before it uses services."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from playwright.sync_api import expect

from crf import services as crf_services
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.datamanagement.models import Query, QueryChange
from edc.studies.texts import study_text
from tests.browser.journey import sign_in, step
from tests.browser.test_journey_site_status import chinese_site, journey_name, t
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


class _Cut(dict):
    def __missing__(self, key: str) -> str:
        return "@"


def before(language: str, text: str) -> str:
    """The translated `text` up to its first placeholder (the part a page shows verbatim)."""
    with translation.override(language):
        return (translation.gettext(text) % _Cut()).split("@")[0]


def open_demographics(
    page, base: str, subject_id: str, shot: str = "", state: str = "", heading: str = ""
) -> None:
    """Home → study → site → the status grid → the Demographics cell (in `state`, if given)."""
    page.goto(f"{base}/")
    page.get_by_role("link", name="T-CRF").first.click()
    page.get_by_role("link", name="01", exact=True).first.click()
    page.locator("#status-grid-link").click()
    cell = page.locator(
        f'tr[data-subject="{subject_id}"] td[data-event="SCREENING"] a[data-form="dm"]'
    )
    if state:
        expect(cell).to_have_attribute("data-state", state)
    if shot:
        step(page, shot)
    cell.click()
    expect(page.locator("#form-heading")).to_contain_text(heading or "Demographics")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_query_answer_close_verify_sign_lock(world, served, browser, language):
    base, subject_id = served.url, world.subject_id
    browser.name = journey_name("d-queries-to-lock", language)
    chinese_site(world.site, language)
    definition = world.site.study.definition

    def text(value: str) -> str:  # a study text (form, visit, item) as the reader sees it
        return study_text(definition, value, language)

    demographics = text("Demographics")

    def open_dm(page, shot: str = "", state: str = "") -> None:
        open_demographics(page, base, subject_id, shot, state, demographics)

    verified = before(language, "Source-verified by %(who)s on %(when)s.")
    signed = before(language, "Signed (%(level)s signature) by %(who)s on %(when)s.")
    locked = before(language, "Locked (%(level)s lock) by %(who)s on %(when)s.")

    # The data manager raises a query on the weight, from the form's data review page.
    dm = sign_in(browser, base, "datamanager", language=language)
    open_dm(dm, "status grid before the query", state="complete")
    step(dm, "data manager opens the form from the grid")
    dm.get_by_role("link", name=t(language, "data review")).click()
    dm.locator("#item-WEIGHT").get_by_role("link", name=t(language, "Raise")).click()
    dm.get_by_label(t(language, "Question to the site")).fill(
        "The source chart says 65.1 kg. Please check."
    )
    dm.get_by_role("button", name=t(language, "Raise query")).click()
    with translation.override(language):
        open_status = translation.pgettext("query status", "Open")
    expect(dm.locator("h1")).to_contain_text(open_status)
    query = Query.objects.get()
    step(dm, "query raised")
    # The study's query list, from the breadcrumbs: the new query, its form named.
    dm.locator("nav.crumbs").get_by_role("link", name=t(language, "Queries")).click()
    expect(dm.locator("table.grid")).to_contain_text(f"Q{query.pk}")
    expect(dm.locator("table.grid")).to_contain_text(f"{demographics} · {text('Screening')}")
    step(dm, "study query list")
    dm.context.close()

    # The coordinator sees it in the header, the inbox and flagged on the form, and answers.
    nurse = sign_in(browser, base, "coordinator", language=language)
    expect(nurse.locator("#inbox-count")).to_have_text("1")
    expect(nurse.locator("#work-queries")).to_contain_text(
        t(language, "%(n)s open query to answer", n=1)
    )
    step(nurse, "coordinator landing page")
    nurse.locator("#inbox-link").click()
    expect(nurse.locator("#inbox")).to_contain_text(f"Q{query.pk}")
    step(nurse, "coordinator inbox")
    nurse.locator("#inbox").get_by_role(
        "link", name=f"{demographics} · {text('Screening')}"
    ).click()
    weight = nurse.locator('.field.has-query[data-path="WEIGHT"]')
    expect(weight.locator(f"#query-{query.pk}")).to_contain_text("The source chart says 65.1 kg")
    step(nurse, "query flagged on the form")
    nurse.get_by_label(text("Weight (kg)")).fill("65.1")
    nurse.get_by_label(t(language, "Your answer")).fill(
        "Transcription error; corrected from the chart."
    )
    nurse.locator("#save").click()
    expect(nurse.locator(".messages")).to_contain_text(
        t(language, "answered %(queries)s", queries=f"Q{query.pk}")
    )
    expect(nurse.locator("#inbox-count")).to_have_text("0")
    step(nurse, "answered with the corrected value")
    nurse.context.close()
    assert QueryChange.objects.filter(query=query).count() == 1

    # The data manager reads the answer, the value and its history, and closes the query.
    dm = sign_in(browser, base, "datamanager", language=language)
    expect(dm.locator("#inbox-count")).to_have_text("1")
    dm.locator("#inbox-link").click()
    dm.locator("#inbox").get_by_role("link", name=f"Q{query.pk}").click()
    expect(dm.locator("#queried-value")).to_have_text("65.1")
    expect(dm.locator("#item-history")).to_contain_text(
        t(language, "changed in answer to this query")
    )
    step(dm, "query page with value and history")
    dm.get_by_role("button", name=t(language, "Close"), exact=True).click()
    expect(dm.locator("h1")).to_contain_text(t(language, "Closed"))
    step(dm, "query closed")
    dm.context.close()

    # The monitor verifies the whole form in one action.
    monitor = sign_in(browser, base, "monitor", language=language)
    open_dm(monitor)
    monitor.locator("#verify-form").click()
    expect(monitor.locator("#readonly-banner")).to_contain_text(verified + "Mona Tor")
    step(monitor, "form verified")
    monitor.context.close()

    # The investigator finds it awaiting signature on the landing page and signs it.
    pi = sign_in(browser, base, "investigator", language=language)
    expect(pi.locator("#work-sign")).to_contain_text(
        t(language, "%(n)s form awaiting your signature", n=1)
    )
    step(pi, "investigator landing page")
    pi.locator("#work-sign").get_by_role(
        "link", name=f"{subject_id} · {text('Screening')} · {demographics}"
    ).click()
    pi.locator("#sign-form").click()
    # The session's first signature: user ID and password (21 CFR 11.200(a)(1)).
    pi.get_by_label(t(language, "Your user ID")).fill("investigator")
    pi.get_by_label(t(language, "Your password")).fill(PASSWORD)
    step(pi, "signing")
    pi.get_by_role("button", name=t(language, "Sign"), exact=True).click()
    expect(pi.locator("#readonly-banner")).to_contain_text(signed)
    step(pi, "form signed")
    pi.context.close()

    # The data manager locks the subject, chosen by its ID; its forms are then read-only.
    dm = sign_in(browser, base, "datamanager", language=language)
    dm.get_by_role("link", name="T-CRF").first.click()
    dm.get_by_role("link", name=t(language, "Queries, SDV and locks")).click()
    dm.get_by_role("link", name=t(language, "Lock or unlock data")).click()
    dm.get_by_label(t(language, "Level"), exact=True).select_option("subject")
    dm.get_by_label(t(language, "Subject (subject and form level)")).select_option(subject_id)
    dm.get_by_label(t(language, "Reason"), exact=True).fill("Data clean for the interim analysis")
    step(dm, "lock page")
    dm.get_by_role("button", name=t(language, "Lock"), exact=True).click()
    expect(dm.locator(".messages")).not_to_be_empty()
    step(dm, "subject locked")
    open_dm(dm, "status grid after the lock", state="locked")
    banner = dm.locator("#readonly-banner")
    expect(banner).to_contain_text(locked)
    expect(banner).to_contain_text("Dana Manager")
    expect(banner).to_contain_text("Hai Mai")
    expect(banner).to_contain_text(signed)
    expect(banner).to_contain_text(verified + "Mona Tor")
    expect(dm.get_by_label(text("Weight (kg)"))).to_have_attribute("readonly", "")
    expect(dm.locator("#save")).to_have_count(0)
    step(dm, "locked form read only")
    dm.context.close()

    nurse = sign_in(browser, base, "coordinator", language=language)
    open_dm(nurse)
    expect(nurse.locator("#readonly-banner")).to_contain_text(locked)
    expect(nurse.locator("#save")).to_have_count(0)
    step(nurse, "coordinator sees the locked form")
    nurse.context.close()
    print(f"journey d: {browser.page_loads} page loads")
