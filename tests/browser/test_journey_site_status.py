"""Journeys (a), (b) and (e) of issue 11, one person page by page in Chromium against the app
served for real (gunicorn, a Celery worker with beat, an SMTP inbox):

a. a coordinator screens a new T-REFR patient (randomized at enrolment), enters every
   screening form, registers the patient; an investigator confirms eligibility by
   e-signature; the coordinator randomizes, and the site's e-mail arrives. It runs in English
   and in Simplified Chinese (a Guangzhou site: pages, study texts and the site's e-mail in
   Chinese, times in Shanghai time);
b. a screen failure with a reason;
e. a subject goes off study with a reason.

Setup before a journey (study, site, users, go-live) uses services; inside it there is no
API call, no ORM write and no shortcut URL: only clicks and typing."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from playwright.sync_api import Page, expect

from crf.definitions import study_forms
from crf.demo import RAND_STRATA, _lesion_rows, _overrides, _prior_line
from crf.sample_values import sample_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.localtime import stamp
from edc.studies.texts import study_text
from edc.subjects import services as subject_services
from edc.subjects.lifecycle import Status
from edc.subjects.models import Subject
from randomization.models import Allocation
from randomization.selectors import arm_name
from randomization.services import go_live
from tests.browser.journey import sign_in, step, t
from tests.factories import PASSWORD, SiteFactory, UserFactory, load_study, member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STUDY = "T-REFR"  # enrols (and randomizes) straight after screening: no induction on study
SITE_EMAIL = "site01.t-refr@example.org"


@pytest.fixture
def refr(served):
    """T-REFR loaded, site 01 with a coordinator and an investigator, randomization live."""
    study = load_study("t-refr.yaml")
    site = SiteFactory(
        study=study, code="01", name="Sun Yat-sen University Cancer Center", staff_email=SITE_EMAIL
    )
    coordinator = UserFactory(username="coordinator", first_name="Mei", last_name="Lin")
    member(coordinator, site, "site_staff")
    investigator = UserFactory(username="investigator", first_name="Hai", last_name="Mai")
    member(investigator, site, "investigator")
    go_live(ChangeContext.system(), study)
    return site


def screening_values(site, consent: dt.date, today: dt.date) -> list[tuple[str, str, dict]]:
    """(event, form name, values) for every screening form and the randomization form, as a
    coordinator would read them off the source documents: the demo's coherent values."""
    forms = study_forms(site.study.current_version_id)
    day = consent + dt.timedelta(days=1)
    entries = []
    for code in forms.events["SCREENING"]["forms"]:
        form = forms.forms[code]
        if code == "tu_bl":
            values = {
                "TUDAT": day.isoformat(),
                "TUMETH": ["MRI", "CT"],
                "TUSLICE": "3.0",
                "TUEPIS": "1",
                "lesions": _lesion_rows(None, False),
            }
        else:
            extra = {}
            if code == "prior":
                extra = {"PTANY": "Y", "tx": [_prior_line(consent)]}
            elif code == "elig":
                extra = {"IEDAT": (day + dt.timedelta(days=1)).isoformat()}
            on = today - dt.timedelta(days=3) if code == "lb" else day
            known = {i["code"] for i in form.get("items", [])} | {
                g["code"] for g in form.get("groups", [])
            }
            overrides = {
                k: v
                for k, v in {**_overrides(code, STUDY, forms, on, consent), **extra}.items()
                if k in known
            }
            values = sample_form(form, forms.codelists, on, overrides)
        entries.append(("SCREENING", form["name"], values))
    entries.append(("RANDOMIZATION", forms.forms["rand"]["name"], dict(RAND_STRATA[STUDY])))
    return entries


def fill_field(page: Page, name: str, value) -> None:
    """Type or choose one value the way a person would; an item the page does not show (a
    skipped branch) is left alone."""
    fields = page.locator(f'[name="{name}"]')
    if fields.count() == 0:
        return
    kind = fields.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
    if fields.first.evaluate("e => { const d = e.closest('details'); return !!d && !d.open; }"):
        # In a collapsed section: open it, as a person would to reach the field.
        page.locator(f'details:has([name="{name}"]) > summary').last.click()
    if kind.endswith(("radio", "checkbox")):
        for one in value if isinstance(value, list) else [value]:
            code = {True: "Y", False: "N"}.get(one, one) if isinstance(one, bool) else one
            choice = page.locator(f'[name="{name}"][value="{code}"]')
            if choice.count() and choice.first.is_visible():
                choice.first.check()
        return
    if not fields.first.is_visible():
        return
    if kind.startswith("select"):
        fields.first.select_option(str(value))
    else:
        fields.first.fill(str(value))


def fill_form(page: Page, values: dict) -> None:
    for code, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            group = page.locator(f"#group-{code}")
            for index, row in enumerate(value):
                if group.locator(f'[name^="{code}.{index}."]').count() == 0:
                    group.locator("button.add-row").click()
                for item, item_value in row.items():
                    if item_value is not None:
                        fill_field(page, f"{code}.{index}.{item}", item_value)
            continue
        fill_field(page, code, value)


def save_form(page: Page, name: str, button: str = "#save", language: str = "en") -> None:
    """Save (or, with ``#save-next``, save and open the visit's next form)."""
    page.locator(button).click()
    page.wait_for_load_state()
    if page.locator("#confirm-box").count():  # warnings shown: the coordinator confirms them
        page.locator(button).click()
        page.wait_for_load_state()
    problem = page.locator("#problem")
    assert problem.count() == 0, f"{name}: {problem.inner_text()}"
    expect(page.locator(".messages")).to_contain_text(
        t(language, "%(form)s saved (version %(version)s)", form=name, version="@").split("@")[0]
    )


def open_subject(page: Page, subject_id: str) -> None:
    page.locator(".crumbs").get_by_role("link", name=subject_id).click()


def screen_new_patient(page: Page, consent: dt.date, language: str = "en") -> str:
    """From the landing page's work for site 01, where signing in leads."""
    page.locator(f"#work-{STUDY}-01").get_by_role(
        "link", name=t(language, "Screen a new subject")
    ).click()
    step(page, "screen a new subject")
    page.get_by_label(t(language, "Informed consent date")).fill(consent.isoformat())
    page.get_by_label(t(language, "ICF version signed")).fill("1.0")
    page.get_by_role("button", name=t(language, "Screen subject")).click()
    expect(page.locator("#subject-summary")).to_be_visible()
    return page.locator("#subject-heading").inner_text().split()[0]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_coordinator_screens_registers_and_randomizes_with_the_investigator_s_signature(
    served, refr, browser, language
):
    browser.name = "a-screen-to-randomized" + ("" if language == "en" else f"-{language}")
    if language != "en":
        # A Guangzhou site: its staff read Chinese, its mailbox reads Chinese in Shanghai time.
        refr.language, refr.timezone = language, "Asia/Shanghai"
        refr.save(update_fields=["language", "timezone"])
    definition = refr.study.definition

    def text(value: str) -> str:  # a study text (form name, arm) as the reader sees it
        return study_text(definition, value, language)

    today = refr.today()
    consent = today - dt.timedelta(days=10)
    forms = screening_values(refr, consent, today)
    coordinator = sign_in(browser, served.url, "coordinator", language=language)
    start = browser.page_loads

    subject_id = screen_new_patient(coordinator, consent, language)
    step(coordinator, "screened: the subject summary")
    expect(coordinator.locator("html")).to_have_attribute("lang", language)
    expect(coordinator.locator("#randomization-missing")).to_contain_text(
        t(language, "Register the subject first.")
    )

    # Every screening form: the first from the subject page's to-do list, each next one by
    # "Save and go to ...", the last by "Save and return to the subject".
    screening = [(name, values) for event, name, values in forms if event == "SCREENING"]
    first = text(screening[0][0])
    coordinator.locator("#todo").get_by_role("link", name=first, exact=True).click()
    for index, (name, values) in enumerate(screening):
        expect(coordinator.locator("h1").first).to_contain_text(text(name))
        fill_form(coordinator, values)
        step(coordinator, f"form {name}")
        last = index == len(screening) - 1
        save_form(coordinator, text(name), "#save-return" if last else "#save-next", language)
    expect(coordinator.locator("#subject-summary")).to_be_visible()

    # Register: the button opens, in place, the panel that says what will happen.
    coordinator.locator("#action-register").click()
    expect(coordinator.locator("#what-will-happen-register")).to_contain_text(
        t(
            language,
            "The subject is registered in the study on the date you give. The visit calendar "
            "starts from registration; eligibility is then confirmed by an investigator.",
        )
    )
    coordinator.get_by_label(t(language, "Registration date")).fill(today.isoformat())
    step(coordinator, "register: confirmation in place")
    coordinator.locator("#confirm-register").click()
    expect(coordinator.locator("#subject-status")).to_have_text(t(language, "Registered"))

    # The randomization form (planned chemotherapy: the stratification factor), from the link
    # beside what randomization still needs.
    event, name, values = forms[-1]
    expect(coordinator.locator("#randomization-missing")).to_contain_text(
        t(language, "Complete the randomization form: %(items)s.", items="@").split("@")[0]
    )
    coordinator.locator("#randomization-missing").get_by_role(
        "link", name=t(language, "Randomization form")
    ).click()
    fill_form(coordinator, values)
    save_form(coordinator, text(name), "#save-return", language=language)
    expect(coordinator.locator("#randomization-missing")).to_contain_text(
        t(language, "Eligibility has not been confirmed by an investigator.")
    )
    step(coordinator, "registered: waiting for the investigator")

    # The investigator confirms eligibility with an e-signature.
    investigator_start = browser.page_loads
    investigator = sign_in(browser, served.url, "investigator", language=language)
    # Straight from the landing page's "awaiting eligibility confirmation".
    step(investigator, "investigator's landing page")
    investigator.locator("#work-eligibility").get_by_role("link", name=subject_id).click()
    expect(investigator.locator("#verdict")).to_contain_text(
        t(language, "Every criterion is met; an investigator must confirm by e-signature")
    )
    step(investigator, "eligibility: every criterion met")
    # The session's first signature: user ID and password (21 CFR 11.200(a)(1)).
    investigator.get_by_label(t(language, "Your user ID")).fill("investigator")
    investigator.get_by_label(t(language, "Your password")).fill(PASSWORD)
    investigator.get_by_role("button", name=t(language, "Sign: I confirm eligibility")).click()
    expect(investigator.locator("#verdict")).to_contain_text("Hai Mai")
    step(investigator, "eligibility confirmed")
    investigator_loads = browser.page_loads - investigator_start
    investigator.context.close()

    # Back to the coordinator: Randomize is offered now.
    coordinator.reload()
    coordinator.locator("#randomize-button").click()
    step(coordinator, "randomize: check the strata")
    coordinator.locator("#confirm-randomize").click()
    allocation = Allocation.objects.select_related("scheme").get(subject__subject_id=subject_id)
    arm = text(arm_name(allocation.scheme, allocation.arm))
    expect(coordinator.locator(".messages")).to_contain_text(
        t(
            language,
            "%(subject)s randomized to %(arm)s; site staff are being e-mailed.",
            subject=subject_id,
            arm=arm,
        )
    )
    step(coordinator, "randomized")
    loads = browser.page_loads - start
    print(
        f"RESULT language={language} page_loads={loads} investigator_page_loads={investigator_loads}"
        f" forms={len(forms)}"
    )

    served.wait_for(lambda: served.inbox.messages, "e-mail to the site")
    (to, message), *_ = served.inbox.messages
    assert to == [SITE_EMAIL]
    body = message.get_content()
    assert subject_id in str(message["Subject"]) and arm in str(message["Subject"])
    assert (
        t(
            language,
            "Randomization number: %(number)s in stratum %(stratum)s",
            number=allocation.sequence,
            stratum=allocation.stratum.key,
        )
        in body
    )
    # The time in the site's zone, named: "2026-12-06 20:41 CST" in Guangzhou.
    when = stamp(allocation.randomized_at, zoneinfo.ZoneInfo(refr.timezone))
    assert t(language, "Randomized at: %(when)s", when=when) in body
    if language != "en":
        assert "CST" in when and "随机化时间" in body and "Randomized" not in body
    subject = Subject.objects.get(subject_id=subject_id)
    assert (subject.status, subject.registration_date) == (Status.RANDOMIZED, today)


SCREEN_FAILURE_CONSEQUENCE = (
    "The subject did not pass screening and leaves the study. This is final: the subject cannot be "
    "registered or randomized afterwards. Your reason is kept in the audit trail."
)


def chinese_site(site, language: str) -> None:
    """For a Chinese run, a Guangzhou site: its staff read Chinese, in Shanghai time."""
    if language != "en":
        site.language, site.timezone = language, "Asia/Shanghai"
        site.save(update_fields=["language", "timezone"])


def journey_name(name: str, language: str) -> str:
    """Each language's screenshots in their own folder."""
    return name + ("" if language == "en" else f"-{language}")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_b_a_coordinator_records_a_screen_failure_with_a_reason(served, refr, browser, language):
    browser.name = journey_name("b-screen-failure", language)
    chinese_site(refr, language)
    today = refr.today()
    coordinator = sign_in(browser, served.url, "coordinator", language=language)
    subject_id = screen_new_patient(coordinator, today - dt.timedelta(days=3), language)
    coordinator.locator("#action-screen-fail").click()
    expect(coordinator.locator("#what-will-happen")).to_contain_text(
        t(language, SCREEN_FAILURE_CONSEQUENCE)
    )
    coordinator.locator("#confirm-action").click()  # no reason yet: refused beside the field
    expect(coordinator.locator("#id_reason-error")).to_be_visible()
    step(coordinator, "screen failure needs a reason")
    reason = "HBV DNA 5,000 IU/mL at screening"
    coordinator.get_by_label(t(language, "Reason (kept in the audit trail)")).fill(reason)
    coordinator.locator("#confirm-action").click()
    expect(coordinator.locator("#subject-status")).to_have_text(t(language, "Screen failure"))
    expect(coordinator.locator("#status-actions")).to_have_count(0)
    step(coordinator, "screen failure recorded")
    assert "screen_failed" not in coordinator.locator("main").inner_text()
    row = AuditEvent.objects.get(subject__subject_id=subject_id, action="transition", item="status")
    assert (row.new_value, row.reason) == ("screen_failed", reason)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_e_a_subject_goes_off_study_with_a_reason(served, refr, browser, language):
    browser.name = journey_name("e-off-study", language)
    chinese_site(refr, language)
    today = refr.today()
    ctx = ChangeContext.system()
    subject = subject_services.screen_subject(
        ctx, refr, consent_date=today - dt.timedelta(days=60), icf_version="1.0"
    )
    subject_services.transition(ctx, subject, Status.REGISTERED, on_date=today)
    coordinator = sign_in(browser, served.url, "coordinator", language=language)
    coordinator.get_by_role("link", name=STUDY, exact=True).first.click()
    coordinator.get_by_role("link", name="01", exact=True).click()
    coordinator.get_by_role("link", name=subject.subject_id).click()
    step(coordinator, "registered subject")
    coordinator.locator("#action-off-study").click()
    coordinator.get_by_label(t(language, "Off-study date")).fill(today.isoformat())
    coordinator.get_by_label(t(language, "Reason for going off study")).select_option(
        "lost_to_follow_up"
    )
    coordinator.get_by_label(t(language, "Reason (kept in the audit trail)")).fill(
        "Moved to another province; three calls unanswered"
    )
    step(coordinator, "off study: confirmation page")
    coordinator.locator("#confirm-action").click()
    expect(coordinator.locator("#subject-status")).to_have_text(t(language, "Off study"))
    expect(coordinator.locator("#subject-summary")).to_contain_text(
        t(language, "Lost to follow-up")
    )
    step(coordinator, "off study")

    # The End-of-study form records the same fact: it opens on the action's date and reason,
    # and the coordinator adds what the form asks beyond them (the failed contacts).
    end_of_study = study_text(refr.study.definition, "End of study", language)
    coordinator.get_by_role("link", name=f"{end_of_study} #1").click()
    expect(coordinator.locator('[name="EOSDAT"]')).to_have_value(today.isoformat())
    reason = coordinator.locator('[name="EOSRSN"]')
    if reason.first.evaluate("e => e.tagName.toLowerCase()") == "select":
        expect(reason).to_have_value("LOST_TO_FOLLOW_UP")
    else:
        expect(coordinator.locator('[name="EOSRSN"][value="LOST_TO_FOLLOW_UP"]')).to_be_checked()
    step(coordinator, "end of study form opens on the off-study record")
    fill_form(
        coordinator,
        {
            "EOSNFC": 3,
            "EOSFCFST": (today - dt.timedelta(days=40)).isoformat(),
            "EOSFCLST": (today - dt.timedelta(days=5)).isoformat(),
        },
    )
    save_form(coordinator, end_of_study, "#save-return", language)
    expect(coordinator.locator("#subject-status")).to_have_text(t(language, "Off study"))
    step(coordinator, "end of study form saved")
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_reason, subject.off_study_date) == (
        Status.OFF_STUDY,
        "lost_to_follow_up",
        today,
    )
