"""The allocation service: next slot of the subject's stratum, or a refusal with a stable code."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crf.models import FormInstance, ProtocolDeviation
from crf.services import confirm_eligibility, save_form, waive_criterion
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from edc.studies.models import StudyStatus
from edc.subjects.models import Subject
from randomization import services
from randomization.models import Allocation, Slot, Stratum
from randomization.selectors import awaiting_follow_up
from randomization.services import (
    flag_randomized_in_error,
    follow_up_allocations,
    go_live,
    randomize,
    withdraw_slot,
)
from tests.factories import PASSWORD, UserFactory, member
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.helpers import registered_subject, store_form
from tests.randomization.independent import stratum_rows

ARMS = [("A", 1), ("B", 1)]


def ctx_of(user):
    return ChangeContext(user, "api")


def refusal(call) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value


@pytest.fixture
def pool(live, site_a):
    return [registered_subject(site_a, "CR") for _ in range(6)]


def test_allocations_follow_the_committed_list_of_the_subjects_stratum(live, site_a, coordinator_a):
    expected = stratum_rows(FIXED_SEED, "T-MINI", "response=PR", ARMS, (2, 4), 20)
    subjects = [registered_subject(site_a, "PR") for _ in range(7)]
    made = [randomize(ctx_of(coordinator_a), s).allocation for s in subjects]
    assert [(a.sequence, a.arm) for a in made] == [(row[0], row[4]) for row in expected[:7]]
    assert all(a.stratum.key == "response=PR" for a in made)
    assert Stratum.objects.get(key="response=PR").next_sequence == 8
    assert Stratum.objects.get(key="response=CR").next_sequence == 1


def test_allocation_freezes_strata_moves_the_subject_and_is_audited(pool, coordinator_a):
    subject = pool[0]
    allocation = randomize(ctx_of(coordinator_a), subject).allocation
    assert allocation.stratum_values == {"response": "CR", "site": "01"}
    assert allocation.randomized_by == coordinator_a and allocation.channel == "api"
    subject.refresh_from_db()
    assert subject.status == "randomized" and subject.randomization_date is not None
    (event,) = AuditEvent.objects.filter(action="randomize", object_id=str(allocation.pk))
    assert (event.item, event.old_value, event.actor) == ("allocation", None, coordinator_a)
    assert event.new_value == {
        "arm": allocation.arm,
        "sequence": 1,
        "stratum": "response=CR",
        "stratum_values": {"response": "CR", "site": "01"},
        "eligibility": allocation.eligibility,
    }
    assert event.subject_id == subject.pk and event.site_id == subject.site_id
    assert AuditEvent.objects.filter(
        action="transition", subject=subject, item="status", new_value="randomized"
    ).exists()


def test_a_second_randomization_is_refused_unless_it_repeats_the_idempotency_key(
    pool, coordinator_a
):
    subject = pool[0]
    first = randomize(ctx_of(coordinator_a), subject, idempotency_key="k-1")
    assert first.created
    for _ in range(10):
        again = randomize(ctx_of(coordinator_a), subject, idempotency_key="k-1")
        assert not again.created and again.allocation.pk == first.allocation.pk
    assert refusal(lambda: randomize(ctx_of(coordinator_a), subject)).code == "already_randomized"
    other_key = refusal(lambda: randomize(ctx_of(coordinator_a), subject, idempotency_key="k-2"))
    assert other_key.code == "already_randomized" and other_key.status == 409
    assert Allocation.objects.count() == 1
    assert Stratum.objects.get(key="response=CR").next_sequence == 2


def test_an_idempotency_key_cannot_be_reused_for_another_subject(pool, coordinator_a):
    randomize(ctx_of(coordinator_a), pool[0], idempotency_key="same")
    error = refusal(lambda: randomize(ctx_of(coordinator_a), pool[1], idempotency_key="same"))
    assert error.code == "idempotency_key_reused"
    assert Subject.objects.get(pk=pool[1].pk).status == "registered"


def test_callers_without_randomize_rights_at_the_site_are_refused(pool, study, site_b):
    other_site = UserFactory()
    member(other_site, site_b, "site_staff")
    monitor = UserFactory()
    member(monitor, study, "monitor")
    for user in (other_site, monitor):
        error = refusal(lambda user=user: randomize(ctx_of(user), pool[0]))
        assert (error.code, error.status) == ("not_site_member", 403)
    assert not Allocation.objects.exists()


def test_a_study_that_is_not_open_refuses(pool, study, coordinator_a):
    study.status = StudyStatus.CLOSED
    study.save()
    assert refusal(lambda: randomize(ctx_of(coordinator_a), pool[0])).code == "study_not_open"


def test_no_randomization_before_go_live(study, site_a, coordinator_a):
    subject = registered_subject(site_a)
    error = refusal(lambda: randomize(ctx_of(coordinator_a), subject))
    assert error.code == "randomization_not_live"


def test_strata_come_from_the_crf_and_a_contradicting_caller_is_refused(
    live, site_a, coordinator_a
):
    no_form = registered_subject(site_a, response=None)
    missing = refusal(lambda: randomize(ctx_of(coordinator_a), no_form))
    assert (missing.code, missing.field, missing.status) == (
        "strata_missing",
        "strata.response",
        400,
    )
    subject = registered_subject(site_a, "CR")
    mismatch = refusal(lambda: randomize(ctx_of(coordinator_a), subject, strata={"response": "PR"}))
    assert (mismatch.code, mismatch.field, mismatch.status) == (
        "strata_mismatch",
        "strata.response",
        409,
    )
    wrong_site = refusal(lambda: randomize(ctx_of(coordinator_a), subject, strata={"site": "02"}))
    assert wrong_site.code == "strata_mismatch"
    unknown = refusal(lambda: randomize(ctx_of(coordinator_a), subject, strata={"ecog": "0"}))
    assert unknown.code == "strata_unknown"
    agreed = randomize(ctx_of(coordinator_a), subject, strata={"response": "CR", "site": "01"})
    assert agreed.allocation.stratum.key == "response=CR"


def test_an_unconfirmed_subject_is_refused_and_nothing_is_consumed(live, site_a, coordinator_a):
    subject = registered_subject(site_a, eligibility="entered")
    error = refusal(lambda: randomize(ctx_of(coordinator_a), subject))
    assert (error.code, error.status) == ("not_eligible", 409)
    assert "no investigator has confirmed" in error.message
    assert Subject.objects.get(pk=subject.pk).status == "registered"
    assert Stratum.objects.get(key="response=CR").next_sequence == 1


def test_a_failing_criterion_is_refused(live, site_a, coordinator_a):
    subject = registered_subject(site_a, eligibility="none")
    too_young = (dt.date.today() - dt.timedelta(days=17 * 365)).isoformat()
    store_form(subject, "SCREEN", "demographics", {"BRTHDAT": too_young, "SEX": "M"})
    store_form(subject, "SCREEN", "eligibility", {"IELIFE": "Y"})
    error = refusal(lambda: randomize(ctx_of(coordinator_a), subject))
    assert error.code == "not_eligible" and "M-IN1" in error.message


def test_data_changed_after_the_signature_voids_it(live, site_a, coordinator_a):
    subject = registered_subject(site_a)
    save_form(
        ctx_of(coordinator_a).with_reason("investigator re-assessed"),
        subject,
        "SCREEN",
        1,
        "eligibility",
        1,
        {"IELIFE": "N"},
        row_version=1,
    )
    error = refusal(lambda: randomize(ctx_of(coordinator_a), subject))
    assert error.code == "not_eligible" and "M-IN2" in error.message


def test_a_sponsor_waiver_lets_the_subject_through_as_a_protocol_deviation(
    live, site_a, coordinator_a, investigator_a
):
    subject = registered_subject(site_a, eligibility="none")
    too_old = (dt.date.today() - dt.timedelta(days=71 * 366)).isoformat()
    store_form(subject, "SCREEN", "demographics", {"BRTHDAT": too_old, "SEX": "M"})
    store_form(subject, "SCREEN", "eligibility", {"IELIFE": "Y"})
    signer = ChangeContext(investigator_a, "web")
    waive_criterion(
        signer,
        subject,
        "randomization",
        "M-IN1",
        sponsor_approval_reference="SPONSOR-2026-014",
        sponsor_approver="Dr Sponsor",
        approved_on=dt.date.today(),
        reason="age 71, fit; sponsor medical monitor approved",
    )
    confirm_eligibility(signer, subject, "randomization", password=PASSWORD)
    allocation = randomize(ctx_of(coordinator_a), subject).allocation
    assert allocation.eligibility["confirmation_id"] is not None
    deviation = ProtocolDeviation.objects.get(subject=subject)
    assert deviation.kind == "eligibility_waiver" and "SPONSOR-2026-014" in deviation.description


def test_a_subject_not_yet_registered_is_refused(live, site_a, coordinator_a):
    from tests.factories import screen

    subject = screen(site_a)
    assert refusal(lambda: randomize(ctx_of(coordinator_a), subject)).code == "illegal_transition"


@pytest.mark.django_db(transaction=True)
def test_exhausted_list_refuses_and_admin_is_mailed_at_80_and_100_percent(
    study, site_a, coordinator_a, study_admin, smtp
):
    go_live(ChangeContext.system(), study, seed=FIXED_SEED, min_slots_per_stratum=5)
    total = Stratum.objects.get(key="response=CR").slots_total
    assert total >= 5
    subjects = [registered_subject(site_a, "CR") for _ in range(total + 1)]
    for subject in subjects[:total]:
        randomize(ctx_of(coordinator_a), subject)
    error = refusal(lambda: randomize(ctx_of(coordinator_a), subjects[-1]))
    assert (error.code, error.status) == ("list_exhausted", 409)
    assert smtp.messages == [], "e-mails are the worker's job, not the request's"
    assert follow_up_allocations() == (total, 0)
    mails = [(to, str(m["Subject"]), m.get_content()) for to, m in smtp.messages]
    alerts = [(to, subject) for to, subject, _ in mails if "list" in subject and "used" in subject]
    assert [subject.split(" list ")[1].split("%")[0] for _, subject in alerts] == ["80", "100"]
    assert all(to == ["admin@example.org"] for to, _ in alerts)
    site_mails = [(to, body) for to, subject, body in mails if "randomized" in subject]
    assert len(site_mails) == total and site_mails[0][0] == [site_a.staff_email]
    assert "Arm" in site_mails[0][1]


def test_site_staff_are_mailed_by_the_follow_up_not_by_the_request(
    pool, coordinator_a, site_a, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        allocation = randomize(ctx_of(coordinator_a), pool[0]).allocation
    # The request queued nothing and sent nothing: the allocation is simply pending.
    assert queued == [] and smtp.messages == []
    assert list(awaiting_follow_up()) == [allocation]
    assert follow_up_allocations() == (1, 0)
    ((to, message),) = smtp.messages
    assert to == [site_a.staff_email]
    assert pool[0].subject_id in str(message["Subject"])
    assert allocation.arm in message.get_content()
    assert list(awaiting_follow_up()) == []
    assert follow_up_allocations() == (0, 0) and len(smtp.messages) == 1


def test_a_failed_follow_up_stays_pending_and_is_done_by_a_later_run(
    pool, coordinator_a, smtp, settings
):
    made = [randomize(ctx_of(coordinator_a), s).allocation for s in pool[:2]]
    # A real refused SMTP connection: nothing listens on port 1.
    settings.EMAIL_PORT = 1
    assert follow_up_allocations() == (0, 2)
    assert list(awaiting_follow_up()) == made and smtp.messages == []
    settings.EMAIL_PORT = smtp.port
    assert follow_up_allocations() == (2, 0)
    assert len(smtp.messages) == 2
    assert all("randomized" in str(message["Subject"]) for _, message in smtp.messages)
    assert list(awaiting_follow_up()) == []


def test_a_withdrawn_slot_is_skipped_and_never_reused(pool, study, coordinator_a, study_admin):
    admin = ChangeContext(study_admin, "web")
    assert refusal(lambda: withdraw_slot(admin, study, "response=CR", 2)).code == "reason_required"
    withdraw_slot(admin.with_reason("kit 2 damaged"), study, "response=CR", 2)
    made = [randomize(ctx_of(coordinator_a), s).allocation for s in pool[:3]]
    assert [a.sequence for a in made] == [1, 3, 4]
    assert not Slot.objects.get(stratum__key="response=CR", sequence=2).available
    error = refusal(lambda: withdraw_slot(admin.with_reason("x"), study, "response=CR", 1))
    assert error.code == "slot_already_passed"
    assert AuditEvent.objects.filter(
        action="randomization_slot_withdrawn", reason="kit 2 damaged"
    ).exists()


def test_randomized_in_error_is_recorded_with_a_reason_and_the_slot_stays_used(
    pool, coordinator_a, study_admin
):
    allocation = randomize(ctx_of(coordinator_a), pool[0]).allocation
    admin = ChangeContext(study_admin, "web")
    assert refusal(lambda: flag_randomized_in_error(admin, allocation)).code == "reason_required"
    flag_randomized_in_error(admin.with_reason("consent not signed"), allocation)
    assert refusal(lambda: randomize(ctx_of(coordinator_a), pool[0])).code == "already_randomized"
    assert randomize(ctx_of(coordinator_a), pool[1]).allocation.sequence == 2
    event = AuditEvent.objects.get(action="randomized_in_error")
    assert event.reason == "consent not signed" and event.actor == study_admin


def test_each_allocation_takes_the_same_small_number_of_queries(
    live, site_a, coordinator_a, django_assert_num_queries
):
    subjects = [registered_subject(site_a, "CR") for _ in range(18)]
    with CaptureQueriesContext(connection) as first:
        randomize(ctx_of(coordinator_a), subjects[0])
    # The test runs inside a transaction, so the allocation's BEGIN/COMMIT become a savepoint
    # pair here; every other statement is the allocation's own.
    statements = [
        q["sql"] for q in first.captured_queries if "SAVEPOINT" not in q["sql"].split(" ", 2)[:2]
    ]
    assert len(first.captured_queries) - len(statements) == 2
    assert len(statements) <= 15, "\n".join(sql[:90] for sql in statements)
    for subject in subjects[1:-1]:
        randomize(ctx_of(coordinator_a), subject)
    # A fresh user object, as each request has, so no cache carries over between calls.
    caller = type(coordinator_a).objects.get(pk=coordinator_a.pk)
    with django_assert_num_queries(len(first.captured_queries)):
        randomize(ctx_of(caller), subjects[-1])
    assert Allocation.objects.count() == 18


def test_the_allocation_is_copied_into_the_forms_derived_items(
    db, django_capture_on_commit_callbacks
):
    import copy

    import yaml

    from edc.studies.services import create_site, load_study_definition
    from tests.factories import FIXTURES

    data = copy.deepcopy(yaml.safe_load((FIXTURES / "minimal_study.yaml").read_text()))
    data["code"] = "T-DRV"
    rand_form = next(f for f in data["forms"] if f["code"] == "randomization")
    rand_form["items"] += [
        {"code": "RNDDAT", "label": "Randomized on", "type": "date", "derived": True},
        {"code": "RNDNO", "label": "Randomization number", "type": "text", "derived": True},
        {"code": "RNDARM", "label": "Arm", "type": "text", "derived": True},
    ]
    study = load_study_definition(ChangeContext.system(), data, source_name="drv.yaml").study
    site = create_site(ChangeContext.system(), study, code="01", name="One")
    go_live(ChangeContext.system(), study, seed=FIXED_SEED)
    staff = UserFactory()
    member(staff, site, "site_staff")
    subject = registered_subject(site, "PR")
    with django_capture_on_commit_callbacks(execute=True):
        allocation = randomize(ctx_of(staff), subject).allocation
    form = FormInstance.objects.get(subject=subject, form_code="randomization")
    assert "RNDARM" not in form.data, "the copy is the worker's job, not the request's"
    assert follow_up_allocations() == (1, 0)
    # Run again as if the mark had not been written (a crash between the e-mail and the
    # commit): the copy changes nothing more.
    services.derive_and_announce(Allocation.objects.get(pk=allocation.pk))
    form.refresh_from_db()
    subject.refresh_from_db()
    ordinal = sorted(["response=CR", "response=PR"]).index("response=PR") + 1
    assert form.data["RNDARM"] == allocation.arm
    assert form.data["RNDNO"] == f"{ordinal:02d}-{allocation.sequence:03d}"
    assert form.data["RNDDAT"] == subject.randomization_date.isoformat()
    assert form.data["STRESP"] == "PR"
    copied = AuditEvent.objects.filter(action="derived_update", subject=subject)
    assert sorted(copied.values_list("item", flat=True)) == ["RNDARM", "RNDDAT", "RNDNO"]
    assert {e.actor for e in copied} == {staff} and {e.channel for e in copied} == {"api"}


@pytest.fixture
def broker_down():
    """The Celery app pointed at a port where no broker listens (a real refused connection)."""
    from edc.celery import app

    # The write URL, because CELERY_BROKER_URL in the environment outranks broker_url.
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    app._after_fork()  # drop the pooled connections to the working broker
    yield
    app.conf.broker_write_url = None
    app._after_fork()


def test_randomizing_needs_no_broker_and_the_allocation_waits_for_its_follow_up(
    pool, coordinator_a, site_a, broker_down, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        allocation = randomize(ctx_of(coordinator_a), pool[0]).allocation
    assert smtp.messages == [] and list(awaiting_follow_up()) == [allocation]
    assert follow_up_allocations() == (1, 0)
    ((to, message),) = smtp.messages
    assert to == [site_a.staff_email] and allocation.arm in message.get_content()


def test_the_task_starts_the_arms_calendar_on_the_randomization_date(pool, coordinator_a):
    from edc.reminders.models import ScheduleEvent

    allocation = randomize(ctx_of(coordinator_a), pool[0]).allocation
    assert not ScheduleEvent.objects.filter(subject=pool[0], source="randomization").exists()
    assert follow_up_allocations() == (1, 0)
    # A repeated run (a crash before the mark was written) adds no second event.
    services.derive_and_announce(Allocation.objects.get(pk=allocation.pk))
    subject = Subject.objects.get(pk=pool[0].pk)
    (event,) = ScheduleEvent.objects.filter(
        subject=subject, source="randomization", voided_at__isnull=True
    )
    assert event.on == subject.randomization_date
    assert event.payload == {"arm": allocation.arm}
    assert event.recorded_by == coordinator_a


def test_allocation_date_is_the_sites_local_date(pool, coordinator_a):
    allocation = randomize(ctx_of(coordinator_a), pool[0]).allocation
    subject = Subject.objects.get(pk=pool[0].pk)
    assert abs((subject.randomization_date - allocation.randomized_at.date()).days) <= 1
    assert isinstance(subject.randomization_date, dt.date)
