"""One fact, one record (issue 11): a death, and a subject's leaving the study, are each
recorded once on the subject, whether the status action, the API or a form (survival,
End of study) records them; withdrawal from treatment stays distinct from withdrawal from all
follow-up, in the API as on the page."""

import datetime as dt

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crf.definitions import study_forms
from crf.services import save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from edc.subjects import services
from edc.subjects.lifecycle import (
    END_OF_STUDY_FORM_REASONS,
    OffStudyReason,
    Status,
    end_of_study_form_reason,
    off_study_reason_for_form,
)
from edc.subjects.models import Subject
from tests.factories import SiteFactory, UserFactory, load_study, member, screen

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def test_every_end_of_study_form_reason_maps_back_to_itself():
    for code, reason in END_OF_STUDY_FORM_REASONS.items():
        assert end_of_study_form_reason(reason) == code
        assert off_study_reason_for_form(code, Status.SURVIVAL_FOLLOWUP) == reason
    assert off_study_reason_for_form("NOT_RANDOMIZED", Status.INDUCTION_FAILED) == (
        OffStudyReason.INDUCTION_FAILURE
    )
    assert off_study_reason_for_form("NOT_RANDOMIZED", Status.ON_TREATMENT) is None


@pytest.fixture
def refr(db):
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    staff = UserFactory(username="refr_staff")
    member(staff, site, "site_staff")
    subject = screen(
        site,
        consent_date=TODAY - dt.timedelta(days=60),
        screening_date=TODAY - dt.timedelta(days=59),
    )
    services.transition(ChangeContext.system(), subject, Status.REGISTERED, on_date=TODAY)
    # Setup only: an allocation is what makes a subject randomized; its calendar is not needed.
    Subject.objects.filter(pk=subject.pk).update(status=Status.ON_TREATMENT)
    subject.refresh_from_db()
    return staff, subject


def eos_values(day: dt.date, reason: str) -> dict:
    return {"EOSDAT": day.isoformat(), "EOSRSN": reason, "EOSRSNSP": "Family moved abroad"}


def save_eos(staff, subject, values, repeat: int = 1):
    return save_form(
        ChangeContext(staff, "web"),
        subject,
        "EOS",
        repeat,
        "eos",
        1,
        values,
        row_version=0,
        confirm_warnings=True,
    )


def test_the_end_of_study_form_takes_the_subject_off_study_once(refr):
    staff, subject = refr
    left = TODAY - dt.timedelta(days=2)
    save_eos(staff, subject, eos_values(left, "OTHER"))
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_date, subject.off_study_reason) == (
        Status.OFF_STUDY,
        left,
        OffStudyReason.INVESTIGATOR_DECISION,
    )
    row = AuditEvent.objects.get(
        subject=subject, action="transition", item="status", new_value=Status.OFF_STUDY
    )
    assert row.reason == "End of study form"
    # The off-study actions are gone: the page cannot record it a second time.
    client = Client()
    client.force_login(staff)
    page = client.get(f"/studies/T-REFR/subjects/{subject.subject_id}/").content.decode()
    assert 'id="action-off-study"' not in page


def test_the_end_of_study_form_opens_on_the_off_study_action_s_record_and_must_agree(refr):
    staff, subject = refr
    left = TODAY - dt.timedelta(days=1)
    client = Client()
    client.force_login(staff)
    response = client.post(
        f"/studies/T-REFR/subjects/{subject.subject_id}/status/off-study/",
        {
            "row_version": subject.row_version,
            "on_date": left.isoformat(),
            "off_study_reason": "lost_to_follow_up",
            "reason": "Three calls unanswered",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/studies/T-REFR/subjects/{subject.subject_id}/forms/EOS/1/eos/1/")
    html = page.content.decode()
    assert f'value="{left.isoformat()}"' in html
    assert 'value="LOST_TO_FOLLOW_UP" checked' in html or (
        'value="LOST_TO_FOLLOW_UP" selected' in html
    )

    # Another date or reason than the recorded one is refused beside the item, nothing saved.
    for values, field in (
        (eos_values(left - dt.timedelta(days=1), "LOST_TO_FOLLOW_UP"), "EOSDAT"),
        (eos_values(left, "COMPLETED"), "EOSRSN"),
    ):
        with pytest.raises(DomainError) as err:
            save_eos(staff, subject, values)
        assert (err.value.code, err.value.field) == ("off_study_already_recorded", field)
    assert not subject.forms.filter(form_code="eos").exists()

    # The same fact is accepted (the form documents it) and writes no second move.
    lost = {
        **eos_values(left, "LOST_TO_FOLLOW_UP"),
        "EOSNFC": 3,
        "EOSFCFST": (left - dt.timedelta(days=40)).isoformat(),
        "EOSFCLST": (left - dt.timedelta(days=2)).isoformat(),
    }
    save_eos(staff, subject, lost)
    assert AuditEvent.objects.filter(subject=subject, item="off_study_date").count() == 1


def test_an_end_of_study_for_death_needs_the_death_record_first(refr):
    staff, subject = refr
    with pytest.raises(DomainError) as err:
        save_eos(staff, subject, eos_values(TODAY, "DEATH"))
    assert (err.value.code, err.value.field) == ("death_not_recorded", "EOSRSN")
    died = TODAY - dt.timedelta(days=5)
    services.record_death(ChangeContext(staff, "web"), subject, died, field="DTHDAT")
    save_eos(staff, subject, eos_values(TODAY, "DEATH"))
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_reason, subject.death_date) == (
        Status.OFF_STUDY,
        OffStudyReason.DEATH,
        died,
    )


def test_a_new_survival_form_opens_on_the_recorded_death(refr):
    staff, subject = refr
    died = TODAY - dt.timedelta(days=4)
    client = Client()
    client.force_login(staff)
    assert (
        client.post(
            f"/studies/T-REFR/subjects/{subject.subject_id}/status/death/",
            {"row_version": subject.row_version, "death_date": died.isoformat()},
        ).status_code
        == 302
    )
    forms = study_forms(subject.protocol_version_id)
    event = next(code for code, e in forms.events.items() if "surv" in e["forms"])
    html = client.get(
        f"/studies/T-REFR/subjects/{subject.subject_id}/forms/{event}/1/surv/1/"
    ).content.decode()
    assert f'value="{died.isoformat()}"' in html
    assert 'value="DEAD" checked' in html or 'value="DEAD" selected' in html


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def transitions(subject) -> str:
    return f"/api/v1/studies/T-REFR/subjects/{subject.subject_id}/transitions/"


def test_the_api_withdraws_from_treatment_and_keeps_the_subject_in_follow_up(refr):
    staff, subject = refr
    client = api(staff)
    body = {"status": "off_treatment_followup", "withdraw_treatment_consent": True}
    refused = client.post(transitions(subject), body, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "reason_required"
    done = client.post(
        transitions(subject), {**body, "reason": "Declines further PD-1"}, format="json"
    )
    assert done.status_code == 200, done.content
    assert done.json()["treatment_consent_withdrawn"] is True
    assert done.json()["status"] == "off_treatment_followup"
    # Withdrawal from treatment is not a way off study.
    wrong = client.post(
        transitions(subject),
        {"status": "off_study", "off_study_reason": "completed", "withdraw_treatment_consent": 1,
         "reason": "x"},
        format="json",
    )  # fmt: skip
    assert (
        wrong.status_code == 400 and wrong.json()["error"]["field"] == "withdraw_treatment_consent"
    )
    # Withdrawal from all follow-up is off study with its own reason.
    gone = client.post(
        transitions(subject),
        {"status": "off_study", "off_study_reason": "withdrawal_all_follow_up", "reason": "No"},
        format="json",
    )
    assert gone.json()["off_study_reason"] == "withdrawal_all_follow_up"


def test_the_api_records_a_death_with_its_date_once(refr):
    staff, subject = refr
    client = api(staff)
    body = {"status": "off_study", "off_study_reason": "death"}
    refused = client.post(transitions(subject), body, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "death_date"
    died = TODAY - dt.timedelta(days=1)
    done = client.post(transitions(subject), {**body, "death_date": str(died)}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["death_date"] == str(died)
    assert Subject.objects.get(pk=subject.pk).death_date == died
