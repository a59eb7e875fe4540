"""A nurse records a carboplatin dose and the form computes the planned dose by Calvert from the
latest creatinine clearance (capped at 125 mL/min), flags a given dose beyond the study's
tolerance as a soft warning, and saves it once confirmed with a reason; the lab form beside it
shows its CTCAE grade suggestion in the reader's language (real Chromium through Playwright,
page by page, in English and in Simplified Chinese). Screenshots at 1280 and 390 px wide in
test-artifacts/browser/<test name>/."""

import datetime as dt
import os

import pytest
from playwright.sync_api import expect

from crf.models import FormInstance
from crf.services import save_form
from edc.audit.context import ChangeContext
from tests.browser.journey import sign_in, step, t
from tests.crf.conftest import nurse_with_subject

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = dt.date.today()


def on(days_ago: int) -> str:
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


@pytest.fixture
def world(transactional_db, language):
    nurse, subject = nurse_with_subject(language, consented_days_ago=30)
    ctx = ChangeContext(user=nurse, channel="web")
    save_form(ctx, subject, "UNSCHEDULED", 1, "vs", 1,
              {"VSDAT": on(10), "HEIGHT": "170", "WEIGHT": "70"}, row_version=0)  # fmt: skip
    save_form(ctx, subject, "UNSCHEDULED", 2, "lb", 1,
              {"LBHEMDT": on(5), "CRCL": "140", "ALT": "150", "ALTULN": "40"},
              row_version=0, confirm_warnings=True)  # fmt: skip
    return subject


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_carboplatin_dose_is_planned_by_calvert_and_checked(
    world, live_server, browser, language
):
    subject = world
    page = sign_in(browser, live_server.url, "nurse", language=language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    subject_page = f"{live_server.url}/studies/T-CRF/subjects/{subject.subject_id}/"

    # The lab form: the grade suggestion's reason in the reader's language.
    page.goto(subject_page + "forms/UNSCHEDULED/2/lb/1/")
    alt_note = page.locator('[data-item="ALT"] .note')
    reason = {
        "en": "Alanine aminotransferase increased: 150 = 3.75×ULN 40 (>3.0–5.0×ULN) ⇒ grade 2",
        "zh-hans": "丙氨酸氨基转移酶增高：150 = 3.75×ULN 40（>3.0–5.0×ULN）⇒ 2 级",
    }[language]
    expect(alt_note).to_contain_text(reason)
    step(page, "lab grade suggestion")

    # The induction cycle: carboplatin 850 mg where Calvert plans 5 × (125 + 25) = 750 mg.
    page.goto(subject_page)
    page.goto(subject_page + "forms/INDUCTION/1/ind/1/")
    page.locator('[name="INDDAT"]').fill(on(2))
    page.locator('[name="PD1GIVEN"][value="Y"]').check()
    agent = page.locator('[name="PLATAGT"]')
    if agent.first.evaluate("e => e.tagName") == "SELECT":
        agent.select_option("CARBOPLATIN")
    else:
        page.locator('[name="PLATAGT"][value="CARBOPLATIN"]').check()
    page.locator('[name="PLATMG"]').fill("850")
    step(page, "dose entered")
    page.locator("#save").click()
    warning = t(
        language,
        "%(label)s: the given dose %(given)s mg differs from the planned %(planned)s mg "
        "by %(change)s%%, more than the study's tolerance of %(tolerance)s%%",
        label="Platinum dose given", given="850", planned="750", change="+13.3", tolerance="10",
    )  # fmt: skip
    expect(page.locator("#confirm-box")).to_contain_text(warning)
    step(page, "dose warning")

    page.locator('[name="DOSERSN"]').fill("CrCl measured by 24-h urine")
    page.locator("#save").click()
    expect(page.locator("#confirm-box")).to_have_count(0)
    note = page.locator('[data-item="PLATMG"] .note')
    expect(note).to_contain_text(
        t(language, "CrCl %(crcl)s mL/min capped at %(cap)s mL/min", crcl="140", cap="125")
    )
    expect(note).to_contain_text(
        t(
            language,
            "Planned dose (Calvert) AUC %(auc)s × (%(crcl)s + 25) = %(mg)s mg",
            auc="5",
            crcl="125",
            mg="750",
        )  # fmt: skip
    )
    step(page, "dose saved with reason")
    saved = FormInstance.objects.get(form_code="ind")
    assert saved.derived["PLATMG"]["planned_mg"] == "750"
    assert saved.data["DOSERSN"] == "CrCl measured by 24-h urine"
