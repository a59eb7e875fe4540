"""Site staff enter CRFs in a real browser (Debian's Chromium, headless, through Playwright):
screen a patient through eligibility, enter a tumour assessment with lesions and see the
computed response, record an adverse event. Every step leaves a screenshot in
test-artifacts/browser/."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from crf.ctcae_services import import_terms
from crf.ctcae_table import SHIPPED_TERMS, read_csv
from crf.models import CtcaeTerm, FormInstance
from edc.audit.context import ChangeContext
from tests.crf.conftest import load_crf_study
from tests.factories import PASSWORD, SiteFactory, UserFactory, member

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
TODAY = dt.date.today()


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def world(transactional_db):
    if not CtcaeTerm.objects.exists():  # a transactional test elsewhere may have flushed them
        import_terms(ChangeContext.system(), read_csv(SHIPPED_TERMS), source=SHIPPED_TERMS.name)
    study = load_crf_study()
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    staff = UserFactory(username="nurse", first_name="Mei", last_name="Lin")
    member(staff, site, "site_staff")
    investigator = UserFactory(username="pi", first_name="Hai", last_name="Mai")
    member(investigator, site, "investigator")
    return study


@pytest.fixture
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
        # Queries made while Playwright runs use a connection of their own (Django keys
        # connections by async context); close it so the test database can be dropped.
        connections.close_all()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def choose(page, legend: str, option: str) -> None:
    page.locator(f'fieldset:has(legend:text-is("{legend}"))').get_by_label(
        option, exact=True
    ).check()


def save(page) -> None:
    page.get_by_role("button", name="Save and mark complete").click()


def test_staff_screen_confirm_eligibility_assess_tumour_and_record_an_ae(
    world, live_server, browser
):
    base = live_server.url
    page = sign_in(browser, base, "nurse")

    # Study -> site -> subject list -> screen a patient.
    page.get_by_role("link", name="T-CRF").first.click()
    page.get_by_role("link", name="01").first.click()
    page.get_by_role("link", name="Screen a new subject").click()
    page.get_by_label("Informed consent date").fill(ago(40))
    page.get_by_label("ICF version signed").fill("2.1")
    page.get_by_role("button", name="Screen subject").click()
    expect(page.locator("#casebook")).to_be_visible()
    subject_id = page.locator("#subject-heading").inner_text().split()[0]
    shot(page, "01-casebook-after-screening")

    # Demographics, from the to-do list, with a wrong value first.
    page.locator("#todo").get_by_role("link", name="Demographics").click()
    page.get_by_label("Date of birth").fill(ago(365 * 55))
    choose(page, "Sex", "Female")
    page.get_by_label("Weight (kg)").fill("sixty")
    page.get_by_label("ECOG performance status").fill("1")
    page.get_by_label("ECOG performance status").press("Tab")
    expect(page.locator('[data-path="WEIGHT"] .error')).to_contain_text("is not a number")
    shot(page, "02a-inline-error")
    save(page)
    expect(page.locator("#problem")).to_contain_text("Nothing was saved")
    assert not FormInstance.objects.exists()
    page.get_by_label("Weight (kg)").fill("61.5")
    save(page)
    expect(page.locator(".messages")).to_contain_text("Demographics saved")
    shot(page, "02-demographics-saved")

    # The investigator's attestation, then the eligibility page.
    page.goto(f"{base}/studies/T-CRF/subjects/{subject_id}/forms/SCREENING/1/elig/1/")
    page.get_by_label("Date of the eligibility review").fill(ago(1))
    choose(page, "Expected survival of at least 3 months", "Yes")
    save(page)
    page.get_by_role("link", name="See eligibility results").click()
    expect(page.locator("#verdict")).to_contain_text("an investigator must confirm")
    shot(page, "03a-eligibility-met-awaiting-signature")
    page.close()

    investigator = sign_in(browser, base, "pi")
    investigator.goto(f"{base}/studies/T-CRF/subjects/{subject_id}/eligibility/?point=registration")
    expect(investigator.locator("#criterion-C-IN1")).to_contain_text("pass")
    # The session's first signature: user ID and password (21 CFR 11.200(a)(1)).
    investigator.get_by_label("Your user ID").fill("pi")
    investigator.get_by_label("Your password").fill(PASSWORD)
    investigator.get_by_role("button", name="Sign: I confirm eligibility").click()
    expect(investigator.locator("#verdict")).to_contain_text("confirmed by Hai Mai")
    shot(investigator, "03-eligibility-confirmed")
    investigator.close()

    page = sign_in(browser, base, "nurse")
    # Baseline tumour assessment: lesions added as rows with the keyboard and "Add a row".
    page.goto(f"{base}/studies/T-CRF/subjects/{subject_id}/forms/SCREENING/1/tu_bl/1/")
    page.get_by_label("Assessment date").fill(ago(30))
    page.get_by_label("RECIST episode").fill("1")
    lesions = [("T1", "LIVER", "Liver segment 7", "32"), ("T2", "LUNG", "Right lower lobe", "20")]
    for number, (lid, site, location, size) in enumerate(lesions, start=1):
        if number > 1:
            page.get_by_role("button", name="Add a row to Lesions").click()
        row = f"row {number}"
        page.get_by_label(f"Lesion identifier, {row}").fill(lid)
        choose(page, f"Classification, {row}", "Target")
        page.get_by_label(f"Anatomical site code, {row}").select_option(site)
        page.get_by_label(f"Organ / location, {row}").fill(location)
        choose(page, f"Lymph node, {row}", "No")
        page.get_by_label(f"Longest diameter (non-nodal target), {row}").fill(size)
    save(page)
    expect(page.locator("#recist-result")).to_contain_text("32 mm + 20 mm = 52 mm")
    shot(page, "04-baseline-lesions")

    # Follow-up: the baseline's lesions are filled in; only the measurements are typed, and
    # the response is calculated and explained.
    page.goto(f"{base}/studies/T-CRF/subjects/{subject_id}/")
    page.locator("#all-visits > summary").click()  # every visit sits behind one toggle
    page.locator("#visit-INDUCTION_TA-1").get_by_role(
        "link", name="Tumour assessment (RECIST 1.1)"
    ).click()
    expect(page.locator("#carried-forward")).to_be_visible()
    expect(page.get_by_label("Lesion identifier, row 1")).to_have_value("T1")
    expect(page.get_by_label("Organ / location, row 2")).to_have_value("Right lower lobe")
    page.get_by_label("Assessment date").fill(ago(2))
    page.get_by_label("Investigator overall response").select_option("PR")
    for number, size in enumerate(["20", "12"], start=1):
        page.get_by_label(f"Longest diameter (non-nodal target), row {number}").fill(size)
    save(page)
    expect(page.locator("#overall-response")).to_have_text("PR")
    expect(page.locator("#recist-result")).to_contain_text("SoD 32 mm vs baseline 52 mm")
    shot(page, "05-follow-up-response")
    calculated = FormInstance.objects.get(form_code="tu").data["RSCALC"]
    assert calculated == "PR"  # 32 <= 0.7 x 52 = 36.4 mm

    # An adverse event: the CTCAE term limits the grades.
    page.goto(f"{base}/studies/T-CRF/subjects/{subject_id}/")
    page.locator("#all-visits > summary").click()  # every visit sits behind one toggle
    page.locator("#visit-INDUCTION-1").get_by_role(
        "link", name="Add Adverse events (CTCAE v5.0)"
    ).click()
    term = page.get_by_label("CTCAE v5.0 term")
    term.press_sequentially("pharyngeal nec", delay=20)
    expect(page.locator("#ctcae-suggestions")).to_contain_text("Pharyngeal necrosis (10065706)")
    term.press("Enter")
    expect(term).to_have_value("Pharyngeal necrosis (10065706)")
    expect(page.locator('select[name="AETOXGR"] option[value="2"]')).to_be_disabled()
    page.get_by_label("CTCAE grade (worst)").select_option("3")
    page.get_by_label("Onset date").fill(ago(5)[:7])
    choose(page, "Serious", "No")
    page.get_by_label("Relationship to the PD-1 inhibitor").select_option("POSSIBLE")
    page.get_by_label("Outcome").select_option("RECOVERING")
    save(page)
    expect(page.locator(".messages")).to_contain_text("Adverse events (CTCAE v5.0) saved")
    shot(page, "06-adverse-event")
    ae = FormInstance.objects.get(form_code="ae")
    assert (ae.data["AETERM"], ae.data["AETOXGR"], ae.data["AESTDAT"]) == (
        "Pharyngeal necrosis",
        3,
        ago(5)[:7],
    )
    page.goto(f"{base}/studies/T-CRF/subjects/{subject_id}/")
    shot(page, "07-casebook-at-the-end")
    page.close()


def test_tampering_and_another_sites_subject_save_nothing(world, live_server, browser):
    from tests.factories import screen

    own = screen(world.sites.get(code="01"), consent_date=TODAY - dt.timedelta(days=20))
    other = screen(SiteFactory(study=world, code="02"), consent_date=TODAY - dt.timedelta(days=20))
    page = sign_in(browser, live_server.url, "nurse")
    response = page.goto(
        f"{live_server.url}/studies/T-CRF/subjects/{other.subject_id}/forms/SCREENING/1/dm/1/"
    )
    assert response.status == 404
    page.goto(f"{live_server.url}/studies/T-CRF/subjects/{own.subject_id}/forms/SCREENING/1/dm/1/")
    page.get_by_label("Date of birth").fill(ago(365 * 50))
    choose(page, "Sex", "Male")
    page.evaluate("document.querySelector('input[name=row_version]').value = 'x'")
    save(page)
    expect(page.locator("#problem")).to_contain_text("version marker was missing or altered")
    page.evaluate(
        "const i = document.createElement('input'); i.type = 'hidden'; i.name = 'STAGE';"
        "i.value = 'IVB'; document.getElementById('crf-form').appendChild(i);"
        "document.querySelector('input[name=row_version]').value = '0';"
    )
    save(page)
    expect(page.locator("#problem")).to_contain_text("STAGE")
    shot(page, "08-tampered-form-refused")
    assert not FormInstance.objects.exists()
    page.close()
