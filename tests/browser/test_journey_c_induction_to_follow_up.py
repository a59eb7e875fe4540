"""Journey (c), issue #11: a study that randomizes after induction (T-REIRR, register before
induction), walked page by page in Chromium against the served app. The coordinator starts
induction, enters four induction cycles and the post-induction response assessment (the
lesions carried forward from the baseline, the response calculated), fills the randomization
form; the investigator confirms eligibility at randomization with an e-signature and
randomizes; then follow-up: a PD-1 dose, a RECIST follow-up from the carried-forward lesions
showing the computed response, and an adverse event whose CTCAE term is found by type-ahead.

Setup before the journey uses services only for what precedes it: the study, site, users,
go-live, and a subject screened and registered with the screening forms saved (as the demo's
`ready_for_randomization` does up to registration). Inside the journey: pages only."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from crf import demo
from crf.ctcae_services import import_terms
from crf.ctcae_table import SHIPPED_TERMS, read_csv
from crf.definitions import study_forms
from crf.models import CtcaeTerm, FormInstance
from edc.audit.context import ChangeContext
from edc.studies.texts import study_text
from edc.subjects import services as subject_services
from edc.subjects.lifecycle import Status
from randomization.services import go_live
from tests.browser.journey import sign_in, step
from tests.browser.test_journey_site_status import chinese_site, journey_name, t
from tests.factories import PASSWORD, SiteFactory, UserFactory, load_study, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CONSENT_DAYS_AGO = 110  # four q3w cycles and the post-induction scan fit before today
# Baseline (demo) target sizes T1-T5 are 32, 25, 12, 22 (node), 16 (node) mm: SoD 107 mm.
AFTER_INDUCTION = ("14", "10", "0", "9", "8")  # SoD 41 mm: PR
AT_FOLLOW_UP = ("12", "9", "0", "8", "7")  # SoD 36 mm: PR vs the pre-induction baseline


@pytest.fixture
def reirr(served):
    if not CtcaeTerm.objects.exists():  # a transactional test elsewhere may have flushed them
        import_terms(ChangeContext.system(), read_csv(SHIPPED_TERMS), source=SHIPPED_TERMS.name)
    study = load_study("t-reirr.yaml")
    site = SiteFactory(study=study, code="01", name="Sun Yat-sen University Cancer Center")
    coordinator = UserFactory(username="coordinator_c", first_name="Li", last_name="Wei")
    member(coordinator, site, "site_staff")
    investigator = UserFactory(username="investigator_c", first_name="Hai", last_name="Mai")
    member(investigator, site, "investigator")
    go_live(ChangeContext.system(), study, seed=bytes(range(32)))

    today = site.today()
    consent = today - dt.timedelta(days=CONSENT_DAYS_AGO)
    staff = ChangeContext(user=coordinator, channel="web", reason="journey setup")
    subject = subject_services.screen_subject(
        staff, site, consent_date=consent, icf_version="1.0", screening_date=consent
    )
    entry = demo.DemoEntry(subject, coordinator, study_forms(subject.protocol_version_id))
    demo._screening(entry, consent, today)
    demo._confirm(entry, investigator, "registration", PASSWORD)
    subject_services.transition(
        ChangeContext.system(), subject, Status.REGISTERED, on_date=consent + dt.timedelta(days=7)
    )
    subject.refresh_from_db()
    assert subject.status == Status.REGISTERED
    return subject, today, consent


def group(page, legend: str):
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(legend)}"))


def save(page, button: str = "#save") -> None:
    """Save (``#save-next``: and go on to the visit's next form); where the page asks to
    confirm warnings (each opens a query), confirm them with the same button."""
    page.locator(button).click()
    if page.locator("#confirm-box").count():
        page.locator(button).click()
    problems = page.locator("#problem, .messages-inline .error").all_inner_texts()
    assert not page.locator("#problem").count(), problems
    expect(page.locator(".messages")).not_to_be_empty()


def open_form(page, base, subject, event, repeat, form, form_repeat=1) -> None:
    page.goto(
        f"{base}/studies/T-REIRR/subjects/{subject.subject_id}/forms/"
        f"{event}/{repeat}/{form}/{form_repeat}/"
    )


def lesion_measurements(page, sizes, text, row_label) -> None:
    """T1-T3 are non-nodal (longest diameter), T4-T5 nodes (short axis), NT1 a non-target."""
    for row, size in enumerate(sizes, start=1):
        axis = "Short axis (nodal target)" if row >= 4 else "Longest diameter (non-nodal target)"
        page.get_by_label(row_label(axis, row)).fill(size)
    page.get_by_label(row_label("Non-target status", 6)).select_option("PRESENT")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_journey_c_induction_response_randomization_and_follow_up(reirr, served, browser, language):
    subject, today, consent = reirr
    base = served.url
    browser.name = journey_name("c-induction-to-follow-up", language)
    chinese_site(subject.site, language)
    # The site's day once it is in Shanghai time (from 16:00 UTC it is already tomorrow there).
    today = subject.site.today()
    definition = subject.site.study.definition

    def text(value: str) -> str:  # a study text (label, choice, form) as the reader sees it
        return study_text(definition, value, language)

    def label(value: str, exact: bool = False):
        return page.get_by_label(text(value), exact=exact)

    def row_label(value: str, row: int) -> str:
        return f"{text(value)}, {t(language, 'row %(row)s', row=row)}"

    def yes_in(legend: str, choice: str = "Yes"):
        return group(page, text(legend)).get_by_label(text(choice), exact=True)

    first_dose = consent + dt.timedelta(days=10)

    # -- The coordinator starts induction from the subject page.
    page = sign_in(browser, base, "coordinator_c", language=language)
    page.goto(f"{base}/studies/T-REIRR/subjects/{subject.subject_id}/")
    expect(page.locator("#subject-status")).to_contain_text(t(language, "Registered"))
    step(page, "registered subject")
    page.locator("#action-start-induction").click()
    step(page, "confirm start of induction")
    page.locator("#confirm-action").click()
    expect(page.locator("#subject-status")).to_contain_text(t(language, "In induction"))

    # -- Four induction cycles, one form each.
    for cycle in range(1, 5):
        day = first_dose + dt.timedelta(days=21 * (cycle - 1))
        open_form(page, base, subject, "INDUCTION", cycle, "ind")
        label("Induction cycle number").fill(str(cycle))
        label("Cycle day 1 date").fill(day.isoformat())
        yes_in("PD-1 inhibitor given", "Yes").check()
        label("PD-1 inhibitor", exact=True).select_option("TORIPALIMAB")
        label("PD-1 inhibitor dose").fill("240")
        yes_in("Chemotherapy given", "Yes").check()
        label("Platinum agent").select_option("CISPLATIN")
        label("Platinum dose").fill("80")
        label("Gemcitabine dose day 1").fill("1700")
        page.get_by_label(re.compile("^" + re.escape(text("Action")))).select_option("GIVEN")
        if cycle == 1:
            step(page, "induction cycle 1 entered")
        save(page)
    step(page, "induction cycle 4 saved")

    # -- The post-induction response assessment: lesions carried forward from the baseline.
    scan = first_dose + dt.timedelta(days=84)
    open_form(page, base, subject, "INDUCTION_RESP", 1, "tu")
    expect(page.locator("#carried-forward")).to_be_visible()
    expect(page.get_by_label(row_label("Lesion identifier (e.g. T1, NT1, NEW1)", 1))).to_have_value(
        "T1"
    )
    expect(page.get_by_label(row_label("Lesion identifier (e.g. T1, NT1, NEW1)", 6))).to_have_value(
        "NT1"
    )
    step(page, "response assessment with carried-forward lesions")
    label("Assessment date (latest scan of this assessment)").fill(scan.isoformat())
    lesion_measurements(page, AFTER_INDUCTION, text, row_label)
    label("Investigator overall response").select_option("PR")
    yes_in("Investigator confirms the calculated response", "Yes").check()
    save(page, "#save-next")
    # Saved, and on to the next form of the visit.
    expect(page.locator("#form-heading")).to_contain_text(
        text("Post-induction response assessment")
    )
    label("Date of the post-induction assessment").fill(scan.isoformat())
    label("Overall response (investigator)").select_option("PR")
    save(page, "#save-next")
    label("Sample date").fill(scan.isoformat())
    page.get_by_label(
        re.compile("^" + re.escape(text("Plasma EBV DNA (0 if undetectable)")))
    ).first.fill("0")
    page.get_by_label(
        re.compile("^" + re.escape(text("Assay lower limit of quantification")))
    ).fill("500")
    save(page)
    open_form(page, base, subject, "INDUCTION_RESP", 1, "tu")
    expect(page.locator("#overall-response")).to_have_text("PR")
    step(page, "response assessment calculated PR")

    # -- The randomization form (strata).
    open_form(page, base, subject, "RANDOMIZATION", 1, "rand")
    yes_in("Response to induction (stratum)", "Partial response").check()
    yes_in("Recurrent T category (stratum)", "rT1-rT3").check()
    page.locator('input[name="RNDEBV"][value="UNDETECTABLE"]').check()
    step(page, "randomization form")
    save(page)
    page.context.close()

    # -- The investigator confirms eligibility at randomization (e-signature), then randomizes.
    page = sign_in(browser, base, "investigator_c", language=language)
    page.goto(
        f"{base}/studies/T-REIRR/subjects/{subject.subject_id}/eligibility/?point=randomization"
    )
    step(page, "eligibility at randomization")
    # The session's first signature: user ID and password (21 CFR 11.200(a)(1)).
    page.get_by_label(t(language, "Your user ID")).fill("investigator_c")
    page.get_by_label(t(language, "Your password")).fill(PASSWORD)
    page.locator("#sign").click()
    expect(page.locator("#verdict")).not_to_be_empty()
    step(page, "eligibility signed")
    page.goto(f"{base}/studies/T-REIRR/subjects/{subject.subject_id}/")
    page.locator("#randomize-button").click()
    step(page, "randomize confirmation")
    page.locator("#confirm-randomize").click()
    expect(page.locator("h1")).to_contain_text(
        t(language, "%(subject)s is randomized", subject=subject.subject_id)
    )
    step(page, "randomized")
    page.context.close()

    # -- Follow-up: a PD-1 dose.
    page = sign_in(browser, base, "coordinator_c", language=language)
    open_form(page, base, subject, "MAINT", 1, "trt")
    page.locator('input[name="EXTRT"][value="TORIPALIMAB"]').check()
    label("Cycle number").fill("1")
    label("Administration date (cycle day 1 for oral agents)").fill(today.isoformat())
    page.get_by_label(re.compile("^" + re.escape(text("Action")))).select_option("GIVEN")
    label("Dose given").fill("240")
    label("Dose unit").select_option("MG")
    step(page, "PD-1 dose")
    save(page)

    # -- A RECIST follow-up from the carried-forward lesions, with the computed response.
    open_form(page, base, subject, "TA_Y1_2", 1, "tu")
    expect(page.locator("#carried-forward")).to_be_visible()
    expect(page.get_by_label(row_label("Organ / location", 4))).to_have_value("Cervical level II")
    label("Assessment date (latest scan of this assessment)").fill(today.isoformat())
    lesion_measurements(page, AT_FOLLOW_UP, text, row_label)
    label("Investigator overall response").select_option("PR")
    yes_in("Investigator confirms the calculated response", "Yes").check()
    step(page, "follow-up measurements typed")
    save(page)
    expect(page.locator("#overall-response")).to_have_text("PR")
    expect(page.locator("#recist-result")).to_contain_text("36 mm")
    step(page, "follow-up computed response")

    # -- An adverse event, its CTCAE term found by type-ahead and chosen with the keyboard.
    open_form(page, base, subject, "MAINT", 1, "ae")
    term = page.locator("input.ctcae-term")
    term.press_sequentially("mucositis or", delay=30)
    expect(page.locator("#ctcae-suggestions")).to_contain_text("Mucositis oral")
    step(page, "CTCAE type-ahead")
    term.press("Enter")
    expect(term).to_have_value(re.compile(r"^Mucositis oral \(\d{8}\)$"))
    label("CTCAE grade (worst)").select_option("2")
    label("Onset date").fill(today.isoformat())
    yes_in("Serious", "No").check()
    label("Relationship to the PD-1 inhibitor").select_option("POSSIBLE")
    label("Ongoing", exact=True).select_option("Y")
    page.get_by_label(
        re.compile("^" + re.escape(text("Immune-related (investigator)")))
    ).select_option("N")
    label("Outcome").select_option("RECOVERING")
    yes_in("Treatment given", "Symptomatic treatment").check()
    save(page)
    step(page, "adverse event saved")
    page.context.close()

    ae = FormInstance.objects.get(subject=subject, form_code="ae")
    assert ae.data["AETERM"] == "Mucositis oral" and ae.data["AETOXGR"] in (2, "2")
    follow = FormInstance.objects.get(subject=subject, event_code="TA_Y1_2", form_code="tu")
    assert follow.data["RSCALC"] == "PR" and follow.data["lesions"][0]["TULNKID"] == "T1"
    subject.refresh_from_db()
    assert subject.randomization_date == today
    print(f"journey c: {browser.page_loads} page loads")
