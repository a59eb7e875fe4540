"""A statistician opens the randomization report in Chromium: balance against a 2:1:1 ratio,
overall, per stratum and per site, with the expected counts marked on the chart. Screenshots
at 1280 and 390 px in test-artifacts/browser/."""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from edc.audit.context import ChangeContext
from edc.studies.services import create_site
from randomization.services import go_live, randomize
from tests.factories import PASSWORD, UserFactory, member
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.test_study_setup import load, ready_subject, staff, study_data

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


@pytest.fixture
def allocated(transactional_db):
    study = load(
        study_data(
            "T-BAL",
            arms=[("A", 2), ("B", 1), ("C", 1)],
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[4],
            stratify_by_site=True,
        )
    )
    system = ChangeContext.system()
    sites = [create_site(system, study, code=c, name=f"Hospital {c}") for c in ("01", "02")]
    go_live(system, study, seed=FIXED_SEED)
    # Site 01, CR: one full block of 4 (exactly 2:1:1); the rest partial blocks.
    for site, responses in ((sites[0], ["CR"] * 4 + ["PR"] * 2), (sites[1], ["CR", "PR", "PR"])):
        ctx = staff(site)
        for response in responses:
            randomize(ctx, ready_subject(site, {"F0": response}))
    statistician = UserFactory(username="stat", first_name="Li", last_name="Wen")
    member(statistician, study, "statistician")
    return study


def test_the_statistician_reads_balance_against_the_ratio(allocated, live_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/accounts/login/")
            page.get_by_label("Username").fill("stat")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="T-BAL").first.click()
            page.get_by_role("link", name="Randomization report").click()
            expect(page.get_by_role("heading", name=re.compile("allocation ratio"))).to_be_visible()
            table = page.locator("#balance-table")
            expect(table.get_by_role("columnheader", name="Off target")).to_be_visible()
            # The full 2:1:1 block of site 01, CR is exactly on target.
            full_block = table.locator("tr", has_text="response=CR|site=01")
            expect(full_block.locator("td").last).to_have_text("0")
            overall = table.locator("tr.total")
            expect(overall.locator("th")).to_have_text("All subjects")
            assert overall.locator("td").nth(3).inner_text() == "9"
            # Per stratum and per site subtotals, and the expected counts on the chart.
            expect(table.locator("tr.subtotal", has_text="Stratum response=PR")).to_be_visible()
            expect(table.locator("tr.subtotal", has_text="Site 02")).to_be_visible()
            assert page.locator("#balance-chart line.target").count() == 3 * (1 + 2 + 2)
            page.screenshot(path=str(ARTIFACTS / "randomization-report-1280.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "randomization-report-390.png"), full_page=True)
        finally:
            chromium.close()
            connections.close_all()
