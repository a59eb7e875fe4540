"""Eligibility: results with reasons, e-signed confirmation bound to the results, waivers."""

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from crf.models import DeviationKind, ProtocolDeviation
from crf.selectors import eligibility_state, eligibility_status
from crf.services import confirm_eligibility, save_form, waive_criterion
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def ctx(user, reason=""):
    return ChangeContext(user=user, channel="web", reason=reason)


def ago(days):
    return (TODAY - dt.timedelta(days=days)).isoformat()


def born_years_before_consent(subject, years):
    consent = subject.consents.get().consent_date
    return consent.replace(year=consent.year - years).isoformat()


def enter_registration_data(user, subject, *, ecog="1", weight="61.5", age=56):
    dm = {
        "BRTHDAT": born_years_before_consent(subject, age),
        "SEX": "F",
        "WEIGHT": weight,
        "ECOG": ecog,
    }
    save_form(ctx(user), subject, "SCREENING", 1, "dm", 1, dm, row_version=0)
    save_form(
        ctx(user),
        subject,
        "SCREENING",
        1,
        "elig",
        1,
        {"IEDAT": ago(1), "IELIFE": "Y"},
        row_version=0,
    )


def statuses(state):
    return {line.id: line.status for line in state.lines}


def test_nothing_entered_means_every_criterion_is_missing_and_blocks(subject):
    allowed, reasons, confirmation = eligibility_status(subject, "registration")
    assert not allowed and confirmation is None
    assert statuses(eligibility_state(subject, "registration")) == {
        "C-IN1": "missing",
        "C-IN2": "missing",
        "C-IN3": "missing",
        "C-EX1": "missing",
    }
    assert any(r.startswith("C-IN2 missing: attestation not recorded") for r in reasons)


def test_age_boundaries_from_the_date_of_birth(staff, subject):
    # Spec §1.6.3 E1/E2: 70 on the consent date passes, 71 fails.
    enter_registration_data(staff, subject, age=70)
    assert statuses(eligibility_state(subject, "registration"))["C-IN1"] == "pass"
    dm = {
        "BRTHDAT": born_years_before_consent(subject, 71),
        "SEX": "F",
        "WEIGHT": "61.5",
        "ECOG": "1",
    }
    save_form(ctx(staff, "typo"), subject, "SCREENING", 1, "dm", 1, dm, row_version=1)
    line = next(x for x in eligibility_state(subject, "registration").lines if x.id == "C-IN1")
    assert line.status == "fail" and "71" in line.reason


def test_all_met_still_needs_the_investigators_signature(staff, investigator, subject):
    enter_registration_data(staff, subject)
    state = eligibility_state(subject, "registration")
    assert set(statuses(state).values()) == {"pass", "attested_yes"}
    allowed, reasons, _ = eligibility_status(subject, "registration")
    assert not allowed and reasons == ["no investigator has confirmed eligibility at registration"]

    with pytest.raises(PermissionDenied):
        confirm_eligibility(ctx(staff), subject, "registration", password=PASSWORD)
    with pytest.raises(DomainError) as caught:
        confirm_eligibility(ctx(investigator), subject, "registration", password="wrong")
    assert caught.value.code == "bad_credentials" and caught.value.status == 403
    assert AuditEvent.objects.filter(action="eligibility_signature_failed").count() == 1

    confirmation = confirm_eligibility(
        ctx(investigator), subject, "registration", password=PASSWORD
    )
    expected = hashlib.sha256(
        json.dumps(
            confirmation.results, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    ).hexdigest()
    assert confirmation.results_sha256 == expected
    assert "Ada Lovelace" in confirmation.meaning and subject.subject_id in confirmation.meaning
    allowed, reasons, signed = eligibility_status(subject, "registration")
    assert allowed and reasons == [] and signed == confirmation


def test_a_change_of_results_voids_the_confirmation(staff, investigator, subject):
    enter_registration_data(staff, subject)
    confirm_eligibility(ctx(investigator), subject, "registration", password=PASSWORD)
    dm = {
        "BRTHDAT": born_years_before_consent(subject, 56),
        "SEX": "F",
        "WEIGHT": "61.5",
        "ECOG": "2",
    }
    save_form(ctx(staff, "re-assessed"), subject, "SCREENING", 1, "dm", 1, dm, row_version=1)
    allowed, reasons, signed = eligibility_status(subject, "registration")
    assert not allowed and signed is None
    assert reasons[0].startswith("C-IN3 fail")


def test_a_waiver_needs_sponsor_approval_and_records_a_deviation(staff, investigator, subject):
    enter_registration_data(staff, subject, ecog="2")
    with pytest.raises(DomainError) as caught:
        confirm_eligibility(ctx(investigator), subject, "registration", password=PASSWORD)
    assert caught.value.code == "not_eligible"
    approval = {
        "sponsor_approval_reference": "SPONSOR-WAIVER-7",
        "sponsor_approver": "Dr Sponsor",
        "approved_on": TODAY - dt.timedelta(days=1),
        "reason": "ECOG 2 due to a recent fracture, expected to recover",
    }
    with pytest.raises(DomainError) as caught:
        waive_criterion(ctx(investigator), subject, "registration", "C-IN1", **approval)
    assert caught.value.code == "not_needed"
    with pytest.raises(DomainError) as caught:
        waive_criterion(
            ctx(investigator),
            subject,
            "registration",
            "C-IN3",
            **{**approval, "sponsor_approval_reference": " "},
        )
    assert caught.value.field == "sponsor_approval_reference"
    with pytest.raises(PermissionDenied):
        waive_criterion(ctx(staff), subject, "registration", "C-IN3", **approval)

    waiver = waive_criterion(ctx(investigator), subject, "registration", "C-IN3", **approval)
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == DeviationKind.ELIGIBILITY_WAIVER and deviation.subject == subject
    assert deviation.reference == f"EligibilityWaiver:{waiver.pk}"
    assert "SPONSOR-WAIVER-7" in deviation.description and "C-IN3" in deviation.description
    confirmation = confirm_eligibility(
        ctx(investigator), subject, "registration", password=PASSWORD
    )
    assert "waivers of C-IN3" in confirmation.meaning
    assert eligibility_status(subject, "registration")[0]


def test_randomization_needs_the_induction_response(staff, investigator, subject):
    enter_registration_data(staff, subject)
    state = eligibility_state(subject, "randomization")
    assert statuses(state) == {
        "C-IN1": "pass",
        "C-IN2": "attested_yes",
        "C-IN3": "pass",
        "C-IN4": "missing",
        "C-EX1": "pass",
    }
    assert not eligibility_status(subject, "randomization")[0]


def test_first_dose_rules_use_labs_within_14_days(staff, subject):
    # Register-before-induction: the induction first dose gates only first-dose criteria.
    lab = {"LBHEMDT": ago(14), "HGB": "90", "HGBLLN": "115"}
    save_form(
        ctx(staff), subject, "SCREENING", 1, "lb", 1, lab, row_version=0, confirm_warnings=True
    )
    state = eligibility_state(subject, "first_dose")
    assert [(x.id, x.status) for x in state.lines] == [("C-IN5", "pass")]  # 90 g/L, 14 days: pass
    save_form(
        ctx(staff, "redrawn"),
        subject,
        "SCREENING",
        1,
        "lb",
        1,
        {**lab, "LBHEMDT": ago(15)},
        row_version=1,
        confirm_warnings=True,
    )
    [line] = eligibility_state(subject, "first_dose").lines
    assert line.status == "missing"  # 15 days before: outside the window (spec E10)


def test_eligibility_page_shows_reasons_and_signs(staff, investigator, subject):
    enter_registration_data(staff, subject, ecog="2")
    client = Client()
    client.force_login(investigator)
    address = f"/studies/{subject.study.code}/subjects/{subject.subject_id}/eligibility/?point=registration"
    page = client.get(address).content.decode()
    assert 'id="criterion-C-IN3" data-status="fail"' in page and "ECOG" in page
    assert 'id="confirm-form"' not in page and 'id="waiver"' in page
    save_form(
        ctx(staff, "re-assessed"),
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        {
            "BRTHDAT": born_years_before_consent(subject, 56),
            "SEX": "F",
            "WEIGHT": "61.5",
            "ECOG": "1",
        },
        row_version=1,
    )
    sign = {"point": "registration", "action": "confirm", "username": investigator.username}
    wrong = client.post(address, {**sign, "password": "nope"})
    assert wrong.status_code == 403
    assert 'id="f-password-error"' in wrong.content.decode()
    signed = client.post(address, {**sign, "password": PASSWORD})
    assert signed.status_code == 302
    page = client.get(address).content.decode()
    assert "Eligible at registration: confirmed by Ada Lovelace" in page
