"""An implausible consent or screening date (year 1, before 1900, after the site's day) is
refused where it is typed, and a subject holding one (legacy data) never makes a page 500."""

import datetime as dt

import pytest
from django.test import Client
from rest_framework.test import APIClient

from edc.subjects.models import Consent, Subject
from tests.factories import SiteFactory, UserFactory, load_study, member, screen

pytestmark = pytest.mark.django_db

IMPLAUSIBLE = ["0001-01-01", "1899-12-31", "9999-12-31"]


@pytest.mark.parametrize("consent_date", IMPLAUSIBLE)
def test_the_screening_page_refuses_an_implausible_consent_date_inline(
    site_a, coordinator_a, consent_date
):
    client = Client()
    client.force_login(coordinator_a)
    response = client.post(
        f"/studies/T-MINI/sites/{site_a.code}/screen/",
        {"consent_date": consent_date, "icf_version": "1.0"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_consent_date-error"' in html
    assert "before 1900-01-01" in html or "must not be after" in html
    assert not Subject.objects.exists()


@pytest.mark.parametrize("consent_date", IMPLAUSIBLE)
def test_the_api_answers_400_naming_the_field(site_a, coordinator_a, consent_date):
    client = APIClient()
    client.force_authenticate(coordinator_a)
    response = client.post(
        "/api/v1/studies/T-MINI/subjects/",
        {"site": site_a.code, "consent_date": consent_date, "icf_version": "1.0"},
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "consent_date"
    assert error["code"] in {"date_implausible", "date_in_future"}
    assert not Subject.objects.exists()


def test_the_future_is_judged_on_the_site_s_day(coordinator_a, study):
    # UTC+14: the site's day is ahead of the server's for most of the server's day.
    kiritimati = SiteFactory(study=study, code="09", timezone="Pacific/Kiritimati")
    member(coordinator_a, kiritimati, "site_staff")
    site_day = kiritimati.today()
    client = APIClient()
    client.force_authenticate(coordinator_a)
    body = {"site": "09", "icf_version": "1.0"}
    ahead = {**body, "consent_date": (site_day + dt.timedelta(days=1)).isoformat()}
    assert client.post("/api/v1/studies/T-MINI/subjects/", ahead, format="json").status_code == 400
    today = {**body, "consent_date": site_day.isoformat()}
    assert client.post("/api/v1/studies/T-MINI/subjects/", today, format="json").status_code == 201


def test_a_subject_with_a_year_one_consent_still_opens_every_page(db):
    # Data from before the check: the eligibility rules add years to the consent date.
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    investigator = UserFactory(username="pi_refr")
    member(investigator, site, "investigator")
    subject = screen(site)
    Consent.objects.filter(subject=subject).update(consent_date=dt.date(1, 1, 1))
    client = Client()
    client.force_login(investigator)
    base = f"/studies/T-REFR/subjects/{subject.subject_id}/"
    for path in ["", "eligibility/", "eligibility/?point=randomization", "randomize/"]:
        assert client.get(base + path).status_code == 200, path


def test_a_legacy_year_one_consent_does_not_break_a_status_action(db):
    # Registering starts the visit calendar, whose windows reach back from the consent date.
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    staff = UserFactory(username="staff_refr")
    member(staff, site, "site_staff")
    subject = screen(site)
    Consent.objects.filter(subject=subject).update(consent_date=dt.date(1, 1, 1))
    client = Client()
    client.force_login(staff)
    subject.refresh_from_db()
    response = client.post(
        f"/studies/T-REFR/subjects/{subject.subject_id}/status/register/",
        {"row_version": subject.row_version, "on_date": subject.screening_date.isoformat()},
    )
    assert response.status_code == 302
    assert client.get(f"/studies/T-REFR/subjects/{subject.subject_id}/").status_code == 200


def test_registration_before_screening_is_refused_naming_the_date(site_a, coordinator_a):
    screened_on = site_a.today() - dt.timedelta(days=3)
    subject = screen(
        site_a, consent_date=screened_on - dt.timedelta(days=2), screening_date=screened_on
    )
    client = APIClient()
    client.force_authenticate(coordinator_a)
    url = f"/api/v1/studies/T-MINI/subjects/{subject.subject_id}/transitions/"
    early = (screened_on - dt.timedelta(days=1)).isoformat()
    refused = client.post(url, {"status": "registered", "on_date": early}, format="json")
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("before_screening", "on_date")
    assert screened_on.isoformat() in error["message"]
    subject.refresh_from_db()
    assert (subject.status, subject.registration_date) == ("screening", None)
    same_day = {"status": "registered", "on_date": screened_on.isoformat()}
    assert client.post(url, same_day, format="json").status_code == 200
