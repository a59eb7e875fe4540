"""The lab form and the lesion grid as a person sees them: limits of normal beside each result,
and a follow-up's lesion grid on a tablet (scrolling inside its own box) and on a phone (stacked
cards), none wider than the screen. Screenshots in test-artifacts/browser/<test name>/."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from crf.services import save_form
from edc.audit.context import ChangeContext
from tests.browser.journey import sign_in, step
from tests.factories import SiteFactory, UserFactory, load_study, member, screen

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LESIONS = [
    ("T1", "TARGET", "LIVER", "Liver segment 7", "N", "32"),
    ("T2", "TARGET", "CN", "Cervical level II", "Y", "22"),
    ("NT1", "NON_TARGET", "BONE", "T10 vertebra", "N", None),
]


@pytest.fixture
def subject(served):
    study = load_study("t-reirr.yaml")
    site = SiteFactory(study=study, code="01")
    nurse = UserFactory(username="nurse_layout", first_name="Mei", last_name="Lin")
    member(nurse, site, "site_staff")
    today = site.today()
    subject = screen(site, consent_date=today - dt.timedelta(days=30))
    ctx = ChangeContext(user=nurse, channel="web")
    rows = []
    for lid, cls, where, loc, node, size in LESIONS:
        row = {"TULNKID": lid, "TUCLASS": cls, "TUSITE": where, "TULOC": loc, "TUNODE": node}
        if size:
            row["TRSA" if node == "Y" else "TRLD"] = size
        rows.append(row)
    save_form(
        ctx,
        subject,
        "SCREENING",
        1,
        "tu_bl",
        1,
        {
            "TUDAT": (today - dt.timedelta(days=20)).isoformat(),
            "TUMETH": ["MRI"],
            "TUEPIS": "1",
            "lesions": rows,
        },
        row_version=0,
        confirm_warnings=True,
    )
    return subject


def test_lab_limits_beside_results_and_the_lesion_grid_on_a_tablet_and_a_phone(
    subject, served, browser
):
    page = sign_in(browser, served.url, "nurse_layout")
    forms = f"{served.url}/studies/T-REIRR/subjects/{subject.subject_id}/forms"
    page.goto(f"{forms}/SCREENING/1/lb/1/")
    hgb = page.locator('.lab-row[data-item="HGB"]')
    expect(hgb.get_by_label("Haemoglobin: Lower limit of normal (g/L)")).to_be_visible()
    hgb_box = hgb.get_by_label("Haemoglobin (g/L)").bounding_box()
    lln_box = hgb.get_by_label("Haemoglobin: Lower limit of normal (g/L)").bounding_box()
    assert abs(hgb_box["y"] - lln_box["y"]) < 4 and lln_box["x"] > hgb_box["x"]  # same line
    step(page, "lab form")

    page.goto(f"{forms}/INDUCTION_TA/1/tu/1/")
    expect(page.locator("#carried-forward")).to_be_visible()
    page.set_viewport_size({"width": 820, "height": 1180})
    expect(page.get_by_label("Lesion identifier (e.g. T1, NT1, NEW1), row 2")).to_have_value("T2")
    widths = page.evaluate(
        """() => {
            const box = document.querySelector('#group-lesions .table-scroll');
            return [document.documentElement.scrollWidth, innerWidth,
                    box.clientWidth, box.scrollWidth];
        }"""
    )
    # Neither the page nor the grid scrolls sideways: each lesion is a card of fields.
    assert widths[0] <= widths[1] and widths[3] <= widths[2], widths
    short_axis = page.get_by_label("Short axis (nodal target), row 2").bounding_box()
    assert short_axis["x"] + short_axis["width"] <= 820
    step(page, "lesion cards on a tablet")
    page.set_viewport_size({"width": 390, "height": 900})
    cell = page.locator('#group-lesions tr[data-row="0"] td[data-label^="Lesion identifier"]')
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert "Lesion identifier" in label  # each value labelled on its card
    step(page, "lesion cards on a phone")
    page.context.close()
