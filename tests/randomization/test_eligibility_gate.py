"""The eligibility gate trusts an investigator's signature only while nothing it was evaluated
on has changed (one query); any change of a form, the consent, a waiver or (for rules that read
it) the day sends it back to a full evaluation of the rules."""

import copy
import datetime as dt

import pytest
import yaml

from crf.models import EligibilityConfirmation
from crf.selectors import eligibility_state, eligibility_status, snapshot_sha256
from crf.services import confirm_eligibility, save_form, waive_criterion
from edc.audit.context import ChangeContext
from edc.studies.services import create_site, load_study_definition
from edc.subjects.services import correct_consent
from tests.factories import FIXTURES, PASSWORD, UserFactory, member
from tests.randomization.helpers import registered_subject, site_investigator, store_form

POINT = "randomization"
TODAY = dt.date.today()


def edit(user, reason="corrected at source verification"):
    return ChangeContext(user, "web", reason)


def sign(subject):
    investigator = site_investigator(subject.site)
    return confirm_eligibility(
        ChangeContext(investigator, "web"), subject, POINT, password=PASSWORD
    )


def test_an_unchanged_signature_is_trusted_in_one_query(
    study, site_a, coordinator_a, django_assert_num_queries
):
    subject = registered_subject(site_a)
    signed = EligibilityConfirmation.objects.get(subject=subject)
    with django_assert_num_queries(1):
        allowed, reasons, confirmation = eligibility_status(subject, POINT)
    assert (allowed, reasons, confirmation) == (True, [], signed)
    # The full evaluation agrees.
    state = eligibility_state(subject, POINT)
    assert state.allowed and state.confirmation == signed


def test_a_form_saved_after_signing_is_evaluated_again(
    study, site_a, coordinator_a, django_assert_max_num_queries
):
    subject = registered_subject(site_a)
    demographics = {"BRTHDAT": "1970-05-01", "SEX": "M"}
    save_form(
        edit(coordinator_a), subject, "SCREEN", 1, "demographics", 1, demographics, row_version=1
    )
    # Same results: the signature still covers them, found by evaluating the rules again.
    allowed, _, confirmation = eligibility_status(subject, POINT)
    assert allowed and confirmation is not None
    old = {**demographics, "BRTHDAT": (TODAY - dt.timedelta(days=72 * 366)).isoformat()}
    save_form(edit(coordinator_a), subject, "SCREEN", 1, "demographics", 1, old, row_version=2)
    allowed, reasons, confirmation = eligibility_status(subject, POINT)
    assert not allowed and confirmation is None and reasons[0].startswith("M-IN1 fail")


def test_a_form_no_criterion_reads_does_not_void_the_fast_check(
    study, site_a, coordinator_a, django_assert_num_queries
):
    subject = registered_subject(site_a, "CR")
    save_form(
        edit(coordinator_a), subject, "RAND", 1, "randomization", 1, {"STRESP": "PR"}, row_version=1
    )
    with django_assert_num_queries(1):
        assert eligibility_status(subject, POINT)[0]


def test_a_consent_date_corrected_after_signing_is_evaluated_again(study, site_a, coordinator_a):
    subject = registered_subject(site_a, eligibility="none")
    consent = subject.consents.get()
    turned_18 = consent.consent_date.replace(year=consent.consent_date.year - 18)
    store_form(subject, "SCREEN", "demographics", {"BRTHDAT": turned_18.isoformat(), "SEX": "F"})
    store_form(subject, "SCREEN", "eligibility", {"IELIFE": "Y"})
    sign(subject)
    assert eligibility_status(subject, POINT)[0]
    correct_consent(
        edit(coordinator_a, "date typed wrongly"),
        consent,
        row_version=consent.row_version,
        consent_date=consent.consent_date - dt.timedelta(days=1),
    )
    allowed, reasons, _ = eligibility_status(subject, POINT)
    assert not allowed and reasons[0].startswith("M-IN1 fail")


def test_a_waived_criterion_stays_cleared_by_the_fast_check(
    study, site_a, investigator_a, django_assert_num_queries
):
    subject = registered_subject(site_a, eligibility="none")
    too_old = (TODAY - dt.timedelta(days=72 * 366)).isoformat()
    store_form(subject, "SCREEN", "demographics", {"BRTHDAT": too_old, "SEX": "M"})
    store_form(subject, "SCREEN", "eligibility", {"IELIFE": "Y"})
    assert not eligibility_status(subject, POINT)[0]
    waive_criterion(
        ChangeContext(investigator_a, "web"),
        subject,
        POINT,
        "M-IN1",
        sponsor_approval_reference="SPONSOR-9",
        sponsor_approver="Dr Sponsor",
        approved_on=TODAY,
        reason="fit, sponsor approved",
    )
    signed = sign(subject)
    with django_assert_num_queries(1):
        assert eligibility_status(subject, POINT) == (True, [], signed)


@pytest.fixture
def labs_study(db):
    """T-MINI with a criterion that reads the (intended) randomization date: labs at most 14
    days before it."""
    data = copy.deepcopy(yaml.safe_load((FIXTURES / "minimal_study.yaml").read_text()))
    data["code"] = "T-LAB"
    screen = next(e for e in data["schedule"]["events"] if e["code"] == "SCREEN")
    screen["forms"].append("labs")
    data["forms"].append(
        {
            "code": "labs",
            "name": "Labs",
            "domain": "LB",
            "items": [{"code": "LBDAT", "label": "Lab date", "type": "date", "required": True}],
        }
    )
    data["eligibility"].append(
        {
            "id": "M-IN3",
            "kind": "inclusion",
            "text": "Labs within 14 days before randomization",
            "evaluated_at": ["randomization"],
            "type": "rule",
            "rule": {
                "within_days": {
                    "date": {"item": "labs.LBDAT"},
                    "ref": {"context": "randomization_date"},
                    "min": 0,
                    "max": 14,
                }
            },
        }
    )
    study = load_study_definition(ChangeContext.system(), data, source_name="lab.yaml").study
    # The dates below are on the server's day (TODAY), so the site keeps the server's zone.
    site = create_site(ChangeContext.system(), study, code="01", name="One", timezone="UTC")
    staff = UserFactory()
    member(staff, site, "site_staff")
    return site


def signed_yesterday(subject) -> EligibilityConfirmation:
    """The confirmation an investigator would have signed yesterday: the results as evaluated
    on yesterday's date, bound by their hash."""
    yesterday = TODAY - dt.timedelta(days=1)
    state = eligibility_state(subject, POINT, today=yesterday)
    assert not state.blocking
    investigator = site_investigator(subject.site)
    return EligibilityConfirmation.objects.create(
        subject=subject,
        point=POINT,
        results=state.snapshot,
        results_sha256=snapshot_sha256(state.snapshot),
        meaning="eligible (signed yesterday)",
        signed_by=investigator,
        signed_by_name=investigator.username,
        signed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )


def test_a_signature_of_an_earlier_day_is_evaluated_again_when_a_rule_reads_the_day(labs_study):
    subject = registered_subject(labs_study, eligibility="none")
    store_form(subject, "SCREEN", "demographics", {"BRTHDAT": "1970-05-01", "SEX": "F"})
    store_form(subject, "SCREEN", "eligibility", {"IELIFE": "Y"})
    # 15 days before today: 14 days before yesterday, when the investigator signed.
    store_form(subject, "SCREEN", "labs", {"LBDAT": (TODAY - dt.timedelta(days=15)).isoformat()})
    signed_yesterday(subject)
    allowed, reasons, confirmation = eligibility_status(subject, POINT)
    assert not allowed and confirmation is None
    assert reasons[0].startswith("M-IN3 fail") and "15 days" in reasons[0]


def test_a_signature_of_an_earlier_day_stands_when_no_rule_reads_the_day(
    study, site_a, django_assert_num_queries
):
    subject = registered_subject(site_a, eligibility="entered")
    signed = signed_yesterday(subject)
    with django_assert_num_queries(1):
        assert eligibility_status(subject, POINT) == (True, [], signed)
