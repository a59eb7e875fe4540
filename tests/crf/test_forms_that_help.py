"""Forms that help: a RECIST follow-up starts from the baseline's lesions, an investigator's
response that differs from the calculated one needs a reason and is listed for data managers,
lab limits sit beside their results, CTCAE terms are found by term or MedDRA code."""

import datetime as dt
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crf.models import FormInstance
from tests.crf.test_special_forms import (
    FOLLOW_UPS,
    baseline,
    follow_up,
    follow_up_values,
)
from tests.factories import SiteFactory, UserFactory, api_token, load_study, member, screen

pytestmark = pytest.mark.django_db

FOLLOW_UP_URL = "/studies/{study}/subjects/{subject}/forms/INDUCTION_TA/1/tu/1/"


@pytest.fixture
def page(staff):
    client = Client()
    client.force_login(staff)
    return client


def follow_up_url(subject):
    return FOLLOW_UP_URL.format(study=subject.study.code, subject=subject.subject_id)


def test_a_new_follow_up_starts_with_the_baselines_lesions_and_only_measurements_to_type(
    staff, subject, page
):
    baseline(staff, subject)
    html = page.get(follow_up_url(subject)).content.decode()
    assert 'id="carried-forward"' in html
    # Nine baseline lesions, identified and classified; no measurement carried.
    ids = re.findall(r'name="lesions\.(\d+)\.TULNKID" value="([^"]*)"', html)
    assert [v for _, v in ids] == ["L1", "L2", "L3", "L4", "L5", "N1", "N2", "N3", "B1"]
    assert re.search(r'name="lesions\.5\.TUNODE" value="Y" checked', html) or re.search(
        r'name="lesions\.5\.TUNODE"[^>]*>.*?<option value="Y" selected', html, re.S
    )
    assert re.findall(r'name="lesions\.\d+\.TRLD" value="([^"]*)"', html) == [""] * 9
    chosen = re.findall(r'name="lesions\.\d+\.TUCLASS" value="(\w+)" (?:checked|selected)', html)
    assert chosen == ["TARGET", "TARGET", "NON_TARGET", "TARGET", "NON_TARGET"] + [
        "TARGET",
        "TARGET",
        "NON_TARGET",
        "NON_TARGET",
    ]

    # Typing the measurements only (the carried columns are posted back as the page has them).
    posted = {"row_version": "0", "action": "save"}
    values = follow_up_values(42, FOLLOW_UPS[42], "PR")
    posted.update({"TUDAT": values["TUDAT"], "RSORRES": "PR"})
    for index, row in enumerate(values["lesions"]):
        for code, value in row.items():
            posted[f"lesions.{index}.{code}"] = value
    response = page.post(follow_up_url(subject), posted)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = FormInstance.objects.get(form_code="tu")
    assert saved.data["RSCALC"] == "PR"
    assert 'id="overall-response"' in page.get(follow_up_url(subject)).content.decode()


def test_no_baseline_means_an_empty_follow_up(subject, page):
    html = page.get(follow_up_url(subject)).content.decode()
    assert 'id="carried-forward"' not in html
    assert 'name="lesions.0.TULNKID" value=""' in html


def test_a_differing_response_without_a_reason_is_a_400_with_a_stable_code(staff, subject):
    baseline(staff, subject)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff)}")
    url = f"/api/v1{follow_up_url(subject)}"
    body = {"values": follow_up_values(42, FOLLOW_UPS[42], "SD"), "row_version": 0}
    response = api.put(url, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "RSOVRSN"
    assert "response_override_reason_required" in {d["code"] for d in error["details"]}
    body["values"]["RSOVRSN"] = "Lesion L1 re-read by the central radiologist"
    response = api.put(url, body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "confirm_warnings"
    response = api.put(url, {**body, "confirm_warnings": True}, format="json")
    assert response.status_code == 200
    assert not FormInstance.objects.filter(form_code="tu").exclude(data__RSORRES="SD").exists()


def test_on_the_page_the_reason_is_asked_inline_then_the_difference_confirmed(staff, subject, page):
    baseline(staff, subject)
    values = follow_up_values(42, FOLLOW_UPS[42], "SD")
    posted = {"row_version": "0", "action": "save", "TUDAT": values["TUDAT"], "RSORRES": "SD"}
    for index, row in enumerate(values["lesions"]):
        posted.update({f"lesions.{index}.{k}": v for k, v in row.items()})
    first = page.post(follow_up_url(subject), posted)
    assert first.status_code == 400
    field = re.search(r'data-path="RSOVRSN".*?</div>\s*</div>', first.content.decode(), re.S)
    assert "give the reason for the difference" in field.group(0)
    second = page.post(follow_up_url(subject), {**posted, "RSOVRSN": "Central review"})
    assert second.status_code == 200 and 'id="confirm-box"' in second.content.decode()
    assert "differs from the calculated response PR" in second.content.decode()
    third = page.post(
        follow_up_url(subject), {**posted, "RSOVRSN": "Central review", "confirm_warnings": "1"}
    )
    assert third.status_code == 302


def test_data_managers_see_every_overridden_response_on_a_page_linked_from_their_dashboard(
    staff, subject, crf_site, django_assert_num_queries
):
    baseline(staff, subject)
    follow_up(staff, subject, 1, 42, FOLLOW_UPS[42], "PR")  # agrees: not listed
    why = "Radiology review: L1 measured on a different sequence"
    follow_up(staff, subject, 2, 84, FOLLOW_UPS[84], "SD", reason="-", RSOVRSN=why)
    manager = UserFactory(username="dm_overrides")
    member(manager, crf_site.study, "data_manager")
    client = Client()
    client.force_login(manager)
    study = subject.study.code
    assert (
        f"/studies/{study}/response-overrides/"
        in client.get(f"/studies/{study}/dm/").content.decode()
    )
    html = client.get(f"/studies/{study}/response-overrides/").content.decode()
    rows = re.findall(r'<tr data-form="(\d+)">(.*?)</tr>', html, re.S)
    assert len(rows) == 1
    assert why in rows[0][1] and "<strong>SD</strong>" in rows[0][1] and ">PR<" in rows[0][1]
    assert "staff_crf" in rows[0][1]  # who confirmed it, from the audit row
    # Site staff enter data; they do not review overrides.
    staff_client = Client()
    staff_client.force_login(staff)
    assert staff_client.get(f"/studies/{study}/response-overrides/").status_code == 403
    from crf.selectors import response_overrides
    from edc.accounts.scoping import scope_of

    scope = scope_of(manager)
    follow_up(staff, subject, 3, 126, FOLLOW_UPS[126], "SD", reason="-", RSOVRSN=why)
    with django_assert_num_queries(2):
        assert len(response_overrides(scope, crf_site.study)) == 2


def test_the_lab_form_shows_each_limit_of_normal_beside_its_result():
    study = load_study("t-reirr.yaml")
    site = SiteFactory(study=study, code="01")
    user = UserFactory(username="lab_staff")
    member(user, site, "site_staff")
    subject = screen(site, consent_date=dt.date.today() - dt.timedelta(days=5))
    client = Client()
    client.force_login(user)
    html = client.get(
        f"/studies/T-REIRR/subjects/{subject.subject_id}/forms/SCREENING/1/lb/1/"
    ).content.decode()
    rows = {
        part.split('"', 1)[0]: part for part in html.split('<div class="lab-row" data-item="')[1:]
    }
    hgb = rows["HGB"].split('<div class="lab-row"')[0]
    assert 'name="HGB"' in hgb and 'name="HGBLLN"' in hgb
    assert "<summary>Haemoglobin</summary>" not in html
    assert re.search(
        r'<div class="lab-row" data-item="TSH">.*?name="TSHLLN".*?name="TSHULN"', html, re.S
    )


def test_ctcae_type_ahead_finds_terms_by_name_or_meddra_code(staff):
    client = Client()
    client.force_login(staff)  # the page's script asks with the session, not a token
    by_name = client.get("/api/v1/ctcae-terms/?q=pharyngeal%20nec&limit=5").json()
    assert [(t["term"], t["meddra_code"]) for t in by_name] == [("Pharyngeal necrosis", "10065706")]
    by_code = client.get("/api/v1/ctcae-terms/?q=1006570&limit=12").json()
    assert "10065706" in {t["meddra_code"] for t in by_code}
    assert all(t["meddra_code"].startswith("1006570") or "1006570" in t["term"] for t in by_code)
    mucositis = client.get("/api/v1/ctcae-terms/?q=mucositis&limit=3").json()
    assert len(mucositis) <= 3 and mucositis[0]["term"].lower().startswith("mucositis")
    refused = client.get("/api/v1/ctcae-terms/?q=a&limit=5000")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "limit"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Pharyngeal necrosis (10065706)", "10065706"),
        ("10065706", "10065706"),
        ("pharyngeal NECROSIS", "10065706"),
        ("no such term", None),
    ],
)
def test_what_the_term_box_may_hold(typed, code):
    from crf.selectors import ctcae_code_of

    assert ctcae_code_of(typed) == code
