"""An investigator reads why a subject is not eligible, in Chinese, in a real browser: each
reason a sentence with the study's own labels in the reader's language, the rule's working
behind a "details" toggle; the form the reason points at is laid out in Chinese too. Setup uses
services; the journey only clicks. Screenshots in test-artifacts/browser/ (desktop and 390 px).

Selectors are ids, hrefs and the <summary> element, not English words: the page chrome is being
translated in parallel. The language comes from the browser (Accept-Language zh-CN) once
LocaleMiddleware is in, and from LANGUAGE_CODE before."""

import copy
import datetime as dt
import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from tests.crf.conftest import crf_definition, load_crf_study
from tests.crf.test_eligibility import enter_registration_data
from tests.factories import PASSWORD, SiteFactory, UserFactory, member, screen

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
TEXTS = {
    "ECOG 0-1": "ECOG评分0-1分",
    "ECOG performance status": "ECOG体能状态",
    "Demographics": "人口学资料",
    "Screening": "筛选",
    "Date of birth": "出生日期",
    "Sex": "性别",
    "Female": "女",
    "Male": "男",
}


@pytest.fixture
def subject(transactional_db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    definition = copy.deepcopy(crf_definition())
    definition["languages"] = ["en", "zh-Hans"]
    definition["translations"] = {"zh-Hans": {"texts": TEXTS}}
    site = SiteFactory(study=load_crf_study(definition), code="01")
    staff = UserFactory(username="nurse_zh")
    member(staff, site, "site_staff")
    investigator = UserFactory(username="pi_zh")
    member(investigator, site, "investigator")
    subject = screen(site, consent_date=dt.date.today() - dt.timedelta(days=30))
    enter_registration_data(staff, subject, ecog="2")
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
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_investigator_reads_eligibility_reasons_in_chinese(subject, live_server, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill("pi_zh")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit].primary").click()

    page.goto(f"{live_server.url}/studies/{subject.study.code}/subjects/{subject.subject_id}/")
    page.locator("#eligibility-link").click()
    row = page.locator("#criterion-C-IN3")
    expect(row).to_have_attribute("data-status", "fail")
    expect(row.locator(".criterion-text")).to_have_text("ECOG评分0-1分")
    expect(row.locator("ul.reasons li")).to_have_text("ECOG体能状态 2，不属于 {0, 1}")
    working = row.locator("details.working")
    expect(working.locator("ul")).to_be_hidden()
    expect(working.locator("summary")).to_have_text("详情")
    shot(page, "eligibility-zh-01-reasons")

    working.locator("summary").click()
    expect(working.locator("ul li")).to_have_text("ECOG体能状态 2 ∉ {0, 1}")
    shot(page, "eligibility-zh-02-details-open")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(working.locator("ul li")).to_be_visible()
    shot(page, "eligibility-zh-03-details-390px")

    # The form behind the reason, laid out in Chinese, opened from the casebook.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.go_back()
    form_link = 'a[href*="/forms/SCREENING/1/dm/1/"]'
    page.locator(f"details:has({form_link}) > summary").first.click()  # all visits and forms
    page.locator(form_link).first.click()
    expect(page.locator("#form-heading")).to_contain_text("人口学资料")
    expect(page.locator("body")).to_contain_text("ECOG体能状态")
    expect(page.locator("body")).to_contain_text("出生日期")
    shot(page, "eligibility-zh-04-form")
    context.close()
