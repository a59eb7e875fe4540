import datetime as dt

import pytest
from rest_framework.test import APIClient

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import ReasonRequired
from edc.subjects import services
from edc.subjects.lifecycle import IllegalTransition
from edc.subjects.models import Subject
from tests.factories import screen

pytestmark = pytest.mark.django_db


def test_screening_creates_a_study_scoped_id_consent_and_audit(site_a, coordinator_a):
    ctx = ChangeContext(coordinator_a, "web")
    consent = dt.date.today() - dt.timedelta(days=3)
    first = services.screen_subject(ctx, site_a, consent_date=consent, icf_version="2.1")
    second = services.screen_subject(ctx, site_a, consent_date=consent, icf_version="2.1")
    assert (first.subject_id, second.subject_id) == ("T-MINI-01-0001", "T-MINI-01-0002")
    assert first.status == "screening"
    assert first.consents.get().icf_version == "2.1"
    rows = AuditEvent.objects.filter(subject=first)
    assert {(r.object_type, r.item) for r in rows} >= {
        ("subjects.Subject", "subject_id"),
        ("subjects.Consent", "consent_date"),
        ("subjects.Consent", "icf_version"),
    }
    assert all(r.actor == coordinator_a and r.channel == "web" for r in rows)


def test_consent_in_the_future_is_refused_and_nothing_is_written(site_a):
    with pytest.raises(services.SubjectError) as err:
        services.screen_subject(
            ChangeContext.system(),
            site_a,
            consent_date=dt.date.today() + dt.timedelta(days=1),
            icf_version="1",
        )
    assert err.value.field == "consent_date"
    assert Subject.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="subjects.Subject").exists()


def test_transitions_are_audited_and_illegal_ones_refused(site_a):
    subject = screen(site_a)
    services.transition(ChangeContext.system(), subject, "screen_failed")
    with pytest.raises(IllegalTransition):
        services.transition(ChangeContext.system(), subject, "randomized")
    subject.refresh_from_db()
    assert subject.status == "screen_failed"
    rows = AuditEvent.objects.filter(subject=subject, action="transition", item="status")
    assert [(r.old_value, r.new_value) for r in rows] == [("screening", "screen_failed")]


def test_the_transitions_api_refuses_illegal_moves_and_randomization_without_allocation(
    site_a, coordinator_a
):
    subject = screen(site_a)
    services.transition(ChangeContext.system(), subject, "screen_failed")
    client = APIClient()
    client.force_authenticate(coordinator_a)
    url = f"/api/v1/studies/T-MINI/subjects/{subject.subject_id}/transitions/"
    illegal = client.post(url, {"status": "registered"}, format="json")
    assert illegal.status_code == 409
    assert illegal.json()["error"]["code"] == "illegal_transition"
    randomize = client.post(url, {"status": "randomized"}, format="json")
    assert randomize.status_code == 409
    assert randomize.json()["error"]["code"] == "use_randomization_api"
    subject.refresh_from_db()
    assert subject.status == "screen_failed"


def test_a_reason_is_required_to_change_saved_consent(site_a, coordinator_a):
    subject = screen(site_a)
    consent = subject.consents.get()
    new_date = consent.consent_date - dt.timedelta(days=1)
    with pytest.raises(ReasonRequired) as err:
        services.correct_consent(
            ChangeContext(coordinator_a, "web"), consent, row_version=1, consent_date=new_date
        )
    assert err.value.code == "reason_required"
    consent.refresh_from_db()
    assert consent.consent_date != new_date

    services.correct_consent(
        ChangeContext(coordinator_a, "web", reason="transcription error"),
        consent,
        row_version=1,
        consent_date=new_date,
    )
    row = AuditEvent.objects.get(object_type="subjects.Consent", action="update")
    assert (row.old_value, row.new_value, row.reason) == (
        (new_date + dt.timedelta(days=1)).isoformat(),
        new_date.isoformat(),
        "transcription error",
    )


def test_a_stale_consent_correction_is_refused(site_a, coordinator_a):
    consent = screen(site_a).consents.get()
    ctx = ChangeContext(coordinator_a, "web", reason="fix")
    services.correct_consent(ctx, consent, row_version=1, icf_version="3.0")
    with pytest.raises(services.StaleWrite):
        services.correct_consent(ctx, consent, row_version=1, icf_version="4.0")


def test_screening_over_the_api_validates_fields(site_a, coordinator_a):
    client = APIClient()
    client.force_authenticate(coordinator_a)
    bad = client.post(
        "/api/v1/studies/T-MINI/subjects/",
        {"site": "01", "consent_date": "2026-02-30", "icf_version": "1"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "consent_date"
    good = client.post(
        "/api/v1/studies/T-MINI/subjects/",
        {"site": "01", "consent_date": "2026-01-05", "icf_version": "1"},
        format="json",
    )
    assert good.status_code == 201, good.json()
    assert good.json()["subject_id"] == "T-MINI-01-0001"
