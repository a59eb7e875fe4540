"""A coordinator whose site has used its enrolment cap opens a ready subject in Chromium, in
English and in Simplified Chinese: the subject page says the cap is reached, in the reader's
language, and offers no Randomize button. Walked page by page from the landing page;
screenshots at 1280 and 390 px (journey harness)."""

from __future__ import annotations

import pytest
from django.utils.text import capfirst
from playwright.sync_api import expect

from edc.audit.context import ChangeContext
from edc.studies.services import create_site
from randomization.services import go_live, randomize
from tests.browser.journey import sign_in, step, t
from tests.browser.test_randomization_report import bilingual
from tests.factories import UserFactory, member
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.test_study_setup import load, ready_subject, staff, study_data

pytestmark = [pytest.mark.browser]

SITE_CAP = "site {site} has randomized its cap of {limit} subjects"


@pytest.fixture
def waiting_subject(served):
    """T-CAPW: blocks of 2, a cap of 2 subjects per site; site 01 has randomized two, and a
    third subject is ready (registered, strata entered, eligibility signed)."""
    system = ChangeContext.system()
    study = load(
        bilingual(
            study_data(
                "T-CAPW",
                factors=[("response", ["CR", "PR"])],
                method="stratified_permuted_block",
                block_sizes=[2],
                caps={"site": 2},
            )
        )
    )
    site = create_site(system, study, code="01", name="Hospital 01")
    go_live(system, study, seed=FIXED_SEED)
    ctx = staff(site)
    for response in ("CR", "PR"):
        randomize(ctx, ready_subject(site, {"F0": response}))
    waiting = ready_subject(site, {"F0": "CR"})
    coordinator = UserFactory(username="capcoord", first_name="Chen", last_name="Hui")
    member(coordinator, site, "site_staff")
    return waiting


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_full_site_cap_is_named_on_the_subject_page(waiting_subject, served, browser, language):
    browser.name = f"enrolment-cap-{language}"
    page = sign_in(browser, served.url, "capcoord", language)
    page.get_by_role("link", name="T-CAPW", exact=True).first.click()
    page.get_by_role("link", name="01", exact=True).click()
    page.get_by_role("link", name=waiting_subject.subject_id, exact=True).click()
    panel = page.locator("#randomization-panel")
    expect(panel).to_be_visible()
    reached = panel.locator('#randomization-missing li[data-code="site_cap_reached"]')
    expect(reached).to_have_text(capfirst(t(language, SITE_CAP).format(site="01", limit=2)))
    expect(panel.locator("#randomize-button")).to_have_count(0)
    step(page, "site cap reached")
