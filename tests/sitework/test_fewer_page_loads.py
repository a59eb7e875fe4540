"""Fewer page loads from a new patient to randomized (issue 11, journey a): the landing page
links straight to screening and to the eligibility a subject awaits; a form can be saved
straight back to the subject page (REDCap's "Save & Exit Form"); registration, which needs a
date but no written reason, is confirmed in place on the subject page."""

import pytest
from django.utils import timezone

from crf.models import EligibilityConfirmation
from edc.audit.context import ChangeContext
from edc.subjects import services as subject_services
from edc.subjects.lifecycle import Status
from edc.subjects.models import Subject
from tests.sitework.conftest import DM, TODAY, logged_in

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_to_screening_and_to_eligibility_awaiting_confirmation(
    subject, coordinator, investigator, crf_study
):
    staff_page = logged_in(coordinator).get("/").content.decode()
    section = staff_page[staff_page.index(f'id="work-{crf_study.code}-01"') :]
    assert f'href="/studies/{crf_study.code}/sites/01/screen/"' in section
    assert 'id="work-eligibility"' not in staff_page  # site staff do not confirm eligibility

    page = logged_in(investigator).get("/").content.decode()
    assert 'id="work-eligibility"' not in page  # screening: nothing to confirm yet
    subject_services.transition(ChangeContext.system(), subject, Status.REGISTERED, on_date=TODAY)
    page = logged_in(investigator).get("/").content.decode()
    link = f'href="/studies/{crf_study.code}/subjects/{subject.subject_id}/eligibility/"'
    assert 'id="work-eligibility"' in page and link in page
    assert "1 subject awaiting eligibility confirmation" in page


def test_a_confirmed_subject_no_longer_awaits(subject, investigator, crf_study):
    subject_services.transition(ChangeContext.system(), subject, Status.REGISTERED, on_date=TODAY)
    EligibilityConfirmation.objects.create(
        subject=subject,
        point="randomization",
        results=[],
        results_sha256="0" * 64,
        meaning="test",
        signed_by=investigator,
        signed_by_name="PI",
        signed_at=timezone.now(),
    )
    assert 'id="work-eligibility"' not in logged_in(investigator).get("/").content.decode()


def test_save_and_return_to_the_subject(subject, coordinator, crf_study):
    url = f"/studies/{crf_study.code}/subjects/{subject.subject_id}/forms/SCREENING/1/dm/1/"
    client = logged_in(coordinator)
    assert 'id="save-return"' in client.get(url).content.decode()
    response = client.post(url, {**DM, "row_version": 0, "action": "save_return"})
    assert response.status_code == 302
    assert response.url == f"/studies/{crf_study.code}/subjects/{subject.subject_id}/"
    assert subject.forms.get(form_code="dm").status == "complete"


def test_registration_is_confirmed_in_place_on_the_subject_page(subject, coordinator, crf_study):
    client = logged_in(coordinator)
    page = client.get(f"/studies/{crf_study.code}/subjects/{subject.subject_id}/")
    html = page.content.decode()
    action = f"/studies/{crf_study.code}/subjects/{subject.subject_id}/status/register/"
    assert f'<form method="post" action="{action}"' in html
    assert 'id="what-will-happen-register"' in html and 'name="on_date"' in html
    response = client.post(
        action, {"row_version": subject.row_version, "on_date": TODAY.isoformat()}
    )
    assert response.status_code == 302
    assert Subject.objects.get(pk=subject.pk).status == Status.REGISTERED
    # Registered: nothing to register in place any more.
    html = client.get(f"/studies/{crf_study.code}/subjects/{subject.subject_id}/").content
    assert b'id="what-will-happen-register"' not in html
