"""A statistician reads the randomization report in Chromium, in English and in Simplified
Chinese: balance against a 2:1:1 ratio overall, per stratum and per site for stratified
blocks, and per factor level for minimization, with the expected counts marked on the chart.
Screenshots at 1280 and 390 px in test-artifacts/browser/<journey>/ (journey harness)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from edc.audit.context import ChangeContext
from edc.studies.services import create_site
from randomization.services import go_live, randomize
from tests.browser.journey import sign_in, step, t
from tests.factories import UserFactory, member
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.test_study_setup import load, ready_subject, staff, study_data

pytestmark = [pytest.mark.browser]

CHINESE = {
    "Arm A": "A组",
    "Arm B": "B组",
    "Arm C": "C组",
    "Factor response": "诱导化疗疗效",
    "Factor ecog": "ECOG评分",
    "Level CR": "完全缓解",
    "Level PR": "部分缓解",
    "Level 0": "0分",
    "Level 1": "1分",
}


def bilingual(data: dict) -> dict:
    """The study's texts in Chinese too, as a real study file has them."""
    data["languages"] = ["en", "zh-Hans"]
    data["translations"] = {"zh-Hans": {"texts": CHINESE}}
    return data


@pytest.fixture
def studies(served):
    """T-BAL: 2:1:1 blocks of 4 stratified by response and site, 9 subjects; T-MBAL: 2:1:1
    minimization over ECOG (integer codes), 6 subjects. One statistician for both."""
    system = ChangeContext.system()
    blocks = load(
        bilingual(
            study_data(
                "T-BAL",
                arms=[("A", 2), ("B", 1), ("C", 1)],
                factors=[("response", ["CR", "PR"])],
                method="stratified_permuted_block",
                block_sizes=[4],
                stratify_by_site=True,
            )
        )
    )
    sites = [create_site(system, blocks, code=c, name=f"Hospital {c}") for c in ("01", "02")]
    go_live(system, blocks, seed=FIXED_SEED)
    # Site 01, CR: one full block of 4 (exactly 2:1:1); the rest partial blocks.
    for site, responses in ((sites[0], ["CR"] * 4 + ["PR"] * 2), (sites[1], ["CR", "PR", "PR"])):
        ctx = staff(site)
        for response in responses:
            randomize(ctx, ready_subject(site, {"F0": response}))
    minimized = load(
        bilingual(
            study_data(
                "T-MBAL",
                arms=[("A", 2), ("B", 1), ("C", 1)],
                factors=[("ecog", [0, 1])],
                method="minimization",
                minimization_probability=0.8,
            )
        )
    )
    site = create_site(system, minimized, code="01", name="Hospital 01")
    go_live(system, minimized, seed=FIXED_SEED)
    ctx = staff(site)
    for ecog in (0, 1, 0, 0, 1, 0):
        randomize(ctx, ready_subject(site, {"F0": ecog}))
    statistician = UserFactory(username="stat", first_name="Li", last_name="Wen")
    member(statistician, blocks, "statistician")
    member(statistician, minimized, "statistician")
    return blocks, minimized


def open_report(page, base: str, language: str, code: str) -> None:
    page.goto(f"{base}/")
    page.get_by_role("link", name=code, exact=True).first.click()
    page.get_by_role("link", name=t(language, "Randomization report")).click()
    heading = t(language, "Balance by arm against the allocation ratio")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_statistician_reads_balance_against_the_ratio(studies, served, browser, language):
    browser.name = f"randomization-report-{language}"
    page = sign_in(browser, served.url, "stat", language)

    open_report(page, served.url, language, "T-BAL")
    table = page.locator("#balance-table")
    expect(table.get_by_role("columnheader", name=t(language, "Off target"))).to_be_visible()
    arm_a = "Arm A" if language == "en" else CHINESE["Arm A"]
    expect(table.get_by_role("columnheader", name=re.compile(arm_a))).to_be_visible()
    # The full 2:1:1 block of site 01, CR is exactly on target.
    full_block = table.locator("tr", has_text="response=CR|site=01")
    expect(full_block.locator("td").last).to_have_text("0")
    overall = table.locator("tr.total")
    expect(overall.locator("th")).to_have_text(t(language, "All subjects"))
    expect(overall.locator("td").nth(3)).to_have_text("9")
    # Per stratum and per site subtotals, and the expected counts on the chart.
    stratum = t(language, "Stratum %(key)s", key="response=PR")
    expect(table.locator("tr.subtotal", has_text=stratum)).to_be_visible()
    site = t(language, "Site %(site)s", site="02")
    expect(table.locator("tr.subtotal", has_text=site)).to_be_visible()
    # Overall, two strata, two sites: three arms each.
    assert page.locator("#balance-chart line.target").count() == 3 * (1 + 2 + 2)
    # The three full SHA-256 commitments fit the page beside their date and kind.
    box = page.locator("#commitments").locator("xpath=..")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "commitments scroll sideways"
    step(page, "blocks balance")

    open_report(page, served.url, language, "T-MBAL")
    table = page.locator("#balance-table")
    # Minimization: per level of ECOG (integer codes, read as text), no pseudo-stratum row.
    for level, total in (("ecog=0", "4"), ("ecog=1", "2")):
        row = table.locator("tr.subtotal", has_text=t(language, "Level %(level)s", level=level))
        expect(row.locator("td").nth(3)).to_have_text(total)
    expect(table.locator("tr", has_text="minimization")).to_have_count(0)
    # Nor a list: minimization draws each arm when it allocates.
    expect(page.locator("#list-use")).to_have_count(0)
    csv = t(language, "Download the list (CSV)")
    expect(page.get_by_role("link", name=csv)).to_have_count(0)
    expect(table.locator("tr.total td").nth(3)).to_have_text("6")
    # Overall and the two levels; the one site's row would repeat the overall one, so the
    # chart leaves it out as the table does.
    assert page.locator("#balance-chart line.target").count() == 3 * (1 + 2)
    site_label = t(language, "Site %(site)s", site="01")
    expect(page.locator("#balance-chart")).not_to_contain_text(site_label)
    step(page, "minimization balance")
