"""The dated scenarios of domain spec §4 through the Django layer: events recorded with the
services, statuses and messages produced by the reminder scan run on explicit days (a frozen
clock: every service takes `today`)."""

import pytest

from crf.models import DeviationKind, ProtocolDeviation
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import ReasonRequired
from edc.reminders import services
from edc.reminders.models import PlannedVisit, ReminderMessage
from edc.schedule.definition import Anchor
from edc.schedule.events import (
    ConsentWithdrawn,
    Death,
    DiscontinuationReason,
    DoseGiven,
    LostToFollowUp,
    NewAnticancerTherapy,
    Pregnancy,
    Progression,
    ProgressionSite,
    RadiotherapyCompleted,
    RadiotherapyStarted,
    StudyEnded,
    TreatmentDiscontinued,
    WithdrawalScope,
)
from edc.subjects import services as subject_services
from tests.reminders.conftest import (
    DAY,
    SYSTEM,
    D,
    announced,
    enrol,
    scan_days,
    status,
    targets,
    visit,
)

BOTH_ARMS = pytest.mark.parametrize("arm", ["IMMEDIATE", "SELECTIVE"])


def lifecycle(subject, randomized_on):
    """The subject row follows the recorded events (registration, induction, randomization)."""
    subject_services.transition(SYSTEM, subject, "registered", on_date=randomized_on - 50 * DAY)
    subject_services.transition(SYSTEM, subject, "induction", on_date=randomized_on - 43 * DAY)
    subject_services.transition(SYSTEM, subject, "randomized", on_date=randomized_on)


def status_by_day(subject, code, sequence, first, last):
    seen = {}
    day = first
    while day <= last:
        services.scan(day)
        services.scan(day)  # a second run the same day changes nothing
        seen[day] = status(subject, code, sequence, day)
        day += DAY
    return seen


# --- W1: rolling dosing, ±3 days, lead 3, grace 7 ----------------------------------------------

W1_DOSES = [D(2026, 3, 23), D(2026, 4, 13), D(2026, 5, 4)]  # cycle 3 given 2026-05-04


def test_w1_cycle_4_statuses_and_one_message_per_transition(site):
    subject = enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES)
    cycle4 = visit(subject, "PD1", 4)
    assert (cycle4.target_date, cycle4.cycle) == (D(2026, 5, 25), 4)

    seen = status_by_day(subject, "PD1", 4, D(2026, 5, 5), D(2026, 6, 5))

    assert seen[D(2026, 5, 18)] == "scheduled"
    assert seen[D(2026, 5, 19)] == "upcoming"
    assert seen[D(2026, 5, 22)] == "window_open"
    assert seen[D(2026, 5, 25)] == "due"
    assert seen[D(2026, 5, 28)] == "due"
    assert seen[D(2026, 5, 29)] == "overdue"
    assert seen[D(2026, 6, 4)] == "overdue"
    assert seen[D(2026, 6, 5)] == "missed"
    assert announced(subject, "PD1", 4) == [
        ("PD1", 4, "upcoming", D(2026, 5, 19)),
        ("PD1", 4, "window_open", D(2026, 5, 22)),
        ("PD1", 4, "due", D(2026, 5, 25)),
        ("PD1", 4, "overdue", D(2026, 5, 29)),
        ("PD1", 4, "missed", D(2026, 6, 5)),
    ]
    # Every transition is in the audit trail, once.
    audited = AuditEvent.objects.filter(
        object_type="reminders.PlannedVisit", object_id=str(cycle4.pk), action="visit_status"
    ).values_list("new_value", flat=True)
    assert list(audited) == ["upcoming", "window_open", "due", "overdue", "missed"]


def test_w1_late_cycle_4_is_a_deviation_and_cycle_5_rolls_from_it(site):
    subject = enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES)
    scan_days(D(2026, 5, 5), D(2026, 5, 29))
    services.record_event(SYSTEM, subject, DoseGiven(D(2026, 5, 30), "PD1"), today=D(2026, 5, 30))

    cycle4 = visit(subject, "PD1", 4)
    assert cycle4.performed_on == D(2026, 5, 30)
    assert status(subject, "PD1", 4, D(2026, 5, 30)) == "completed_out_of_window"
    (deviation,) = ProtocolDeviation.objects.filter(subject=subject)
    assert deviation.kind == DeviationKind.VISIT_OUT_OF_WINDOW
    assert deviation.reference == f"PlannedVisit:{cycle4.pk}" and deviation.source == "schedule"
    assert "2026-05-30" in deviation.description and "2 day(s) after" in deviation.description
    cycle5 = visit(subject, "PD1", 5)
    assert (cycle5.target_date, cycle5.cycle) == (D(2026, 6, 20), 5)

    scan_days(D(2026, 5, 30), D(2026, 6, 20), twice=True)
    assert [t for *_, t, _ in announced(subject, "PD1", 4)] == [
        "upcoming",
        "window_open",
        "due",
        "overdue",
    ]
    assert announced(subject, "PD1", 5) == [
        ("PD1", 5, "upcoming", D(2026, 6, 14)),
        ("PD1", 5, "window_open", D(2026, 6, 17)),
        ("PD1", 5, "due", D(2026, 6, 20)),
    ]
    # Re-syncing later does not record the deviation twice.
    services.resync_subject(SYSTEM, subject, D(2026, 6, 21))
    assert ProtocolDeviation.objects.filter(subject=subject).count() == 1


# --- W2: imaging q12w from randomization, ±7 days ----------------------------------------------

W2_RANDOMIZATION = D(2026, 3, 2)
W2_TARGETS = [D(2026, 5, 25), D(2026, 8, 17), D(2026, 11, 9), D(2027, 2, 1), D(2027, 4, 26)]


@BOTH_ARMS
def test_w2_imaging_follows_randomization_not_delayed_doses(site, arm):
    delayed = [D(2026, 3, 2), D(2026, 3, 25), D(2026, 4, 17), D(2026, 5, 10)]
    subject = enrol(site, arm, W2_RANDOMIZATION, delayed)
    assert targets(subject, "IMAGING")[:5] == W2_TARGETS
    assert visit(subject, "PD1", 5).target_date == D(2026, 5, 31)  # 05-10 + 21: dosing rolls

    seen = status_by_day(subject, "IMAGING", 1, D(2026, 5, 11), D(2026, 6, 2))

    assert seen[D(2026, 5, 14)] == "scheduled"
    assert seen[D(2026, 5, 15)] == "upcoming"
    assert seen[D(2026, 5, 18)] == "window_open"
    assert seen[D(2026, 5, 24)] == "window_open"
    assert seen[D(2026, 5, 25)] == "due"
    assert seen[D(2026, 6, 1)] == "due"
    assert seen[D(2026, 6, 2)] == "overdue"
    assert announced(subject, "IMAGING", 1) == [
        ("IMAGING", 1, "upcoming", D(2026, 5, 15)),
        ("IMAGING", 1, "window_open", D(2026, 5, 18)),
        ("IMAGING", 1, "due", D(2026, 5, 25)),
        ("IMAGING", 1, "overdue", D(2026, 6, 2)),
    ]


def test_w2_imaging_done_in_window_is_completed_without_deviation(site):
    subject = enrol(site, "IMMEDIATE", W2_RANDOMIZATION, [W2_RANDOMIZATION])
    first = visit(subject, "IMAGING", 1)
    services.record_visit_performed(SYSTEM, first, D(2026, 5, 18), today=D(2026, 5, 18))
    first.refresh_from_db()
    assert status(subject, "IMAGING", 1, D(2026, 5, 18)) == "completed" and first.recheck_on is None
    assert not ProtocolDeviation.objects.filter(subject=subject).exists()
    late = visit(subject, "IMAGING", 2)
    services.record_visit_performed(SYSTEM, late, D(2026, 8, 25), today=D(2026, 8, 25))
    late.refresh_from_db()
    assert status(subject, "IMAGING", 2, D(2026, 8, 25)) == "completed_out_of_window"
    assert "1 day(s) after" in ProtocolDeviation.objects.get(subject=subject).description
    # Editing the date back into the window re-evaluates it (§4.2); a change needs a reason.
    with pytest.raises(ReasonRequired):
        services.record_visit_performed(SYSTEM, late, D(2026, 8, 24), today=D(2026, 8, 25))
    fixed = SYSTEM.with_reason("scan date mistyped")
    services.record_visit_performed(fixed, late, D(2026, 8, 24), today=D(2026, 8, 25))
    late.refresh_from_db()
    assert status(subject, "IMAGING", 2, D(2026, 8, 25)) == "completed"


# --- anchor corrections (§4.5) ---------------------------------------------------------------


def test_corrected_randomization_date_moves_future_targets_with_audit(site):
    subject = enrol(site, "SELECTIVE", W2_RANDOMIZATION, [W2_RANDOMIZATION])
    lifecycle(subject, W2_RANDOMIZATION)
    ctx = ChangeContext.system(reason="randomization date mistyped: 09 not 02")
    today = D(2026, 6, 10)  # the first scan (05-25) is past: its target is kept

    result = services.correct_anchor(ctx, subject, Anchor.RANDOMIZATION, D(2026, 3, 9), today=today)

    assert targets(subject, "IMAGING")[:5] == [
        D(2026, 5, 25), D(2026, 8, 24), D(2026, 11, 16), D(2027, 2, 8), D(2027, 5, 3)
    ]  # fmt: skip
    assert [(c.old_target, c.new_target) for c in result.moved][:1] == [
        (D(2026, 8, 17), D(2026, 8, 24))
    ]
    assert [(c.event_code, c.sequence) for c in result.kept] == [("IMAGING", 1)]
    moves = AuditEvent.objects.filter(subject=subject, action="schedule_target_moved")
    assert moves.filter(
        item="IMAGING#2 target", old_value="2026-08-17", new_value="2026-08-24"
    ).exists()
    assert set(moves.values_list("reason", flat=True)) == {ctx.reason}
    assert AuditEvent.objects.filter(
        subject=subject, action="anchor_corrected", item="randomization",
        old_value="2026-03-02", new_value="2026-03-09",
    ).exists()  # fmt: skip
    subject.refresh_from_db()
    assert subject.randomization_date == D(2026, 3, 9)
    assert AuditEvent.objects.filter(
        subject=subject, action="update", item="randomization_date"
    ).exists()


def test_anchor_correction_needs_a_reason_and_a_known_anchor(site):
    subject = enrol(site, "IMMEDIATE", W2_RANDOMIZATION)
    with pytest.raises(Exception) as no_reason:
        services.correct_anchor(
            SYSTEM, subject, Anchor.RANDOMIZATION, D(2026, 3, 9), today=D(2026, 4, 1)
        )
    assert no_reason.value.code == "reason_required"
    with pytest.raises(Exception) as unknown:
        services.correct_anchor(
            SYSTEM.with_reason("typo"), subject, Anchor.RT_END, D(2026, 3, 9), today=D(2026, 4, 1)
        )
    assert unknown.value.code == "anchor_unknown"
    assert targets(subject, "IMAGING")[0] == W2_TARGETS[0]


# --- the stop-rule table (§4.4), T-REIRR, both arms ------------------------------------------

RANDOMIZATION = D(2026, 3, 2)
ON_TARGET = [RANDOMIZATION + 21 * k * DAY for k in range(8)]  # 03-02 … 07-27
EVENT_DAY = D(2026, 8, 17)  # target of dose 9 and of the second q12w scan (W2)
LAST_DOSE = D(2026, 7, 27)
LR = ProgressionSite.LOCOREGIONAL_ONLY


def on_treatment(site, arm):
    subject = enrol(site, arm, RANDOMIZATION, ON_TARGET)
    scan_days(D(2026, 8, 10), EVENT_DAY - DAY)
    return subject


def stop(subject, event):
    services.record_event(SYSTEM, subject, event, today=EVENT_DAY)


FOLLOW_UNTIL = D(2027, 3, 1)


def follow(until=FOLLOW_UNTIL):
    """Daily scans for two weeks after the event, then weekly."""
    scan_days(EVENT_DAY, EVENT_DAY + 14 * DAY)
    day = EVENT_DAY + 21 * DAY
    while day <= until:
        services.scan(day)
        day += 7 * DAY


def codes_announced(subject, since=EVENT_DAY):
    return {code for code, _, _, day in announced(subject) if day >= since}


def assert_dosing_stopped(subject, reason):
    nine = visit(subject, "PD1", 9)
    assert (nine.target_date, nine.cancelled_reason, status(subject, "PD1", 9, EVENT_DAY)) == (
        EVENT_DAY,
        reason,
        "not_applicable",
    )
    assert not PlannedVisit.objects.filter(subject=subject, event_code="PD1", sequence=10).exists()


def assert_post_treatment_visits(subject, decision=EVENT_DAY, last_dose=LAST_DOSE):
    eot = visit(subject, "EOT", 1)
    assert (eot.target_date, eot.window_start, eot.window_end) == (
        decision + 30 * DAY,
        decision,
        decision + 37 * DAY,
    )
    safety = visit(subject, "SAFETY30", 1)
    assert (safety.target_date, safety.window_start, safety.window_end) == (
        last_dose + 30 * DAY, last_dose + 23 * DAY, last_dose + 37 * DAY
    )  # fmt: skip
    assert visit(subject, "IRAE90", 1).target_date == last_dose + 90 * DAY


def assert_imaging_continues(subject):
    assert targets(subject, "IMAGING")[1:3] == [D(2026, 8, 17), D(2026, 11, 9)]


def assert_imaging_stopped(subject, reason):
    for row in PlannedVisit.objects.filter(
        subject=subject, event_code__in=["IMAGING", "IMAGING_LATE"]
    ):
        if row.target_date >= EVENT_DAY:
            assert row.cancelled_reason == reason, row


@pytest.mark.parametrize("site_class", list(ProgressionSite))
def test_immediate_arm_any_progression_ends_treatment_and_imaging(site, site_class):
    subject = on_treatment(site, "IMMEDIATE")
    stop(subject, Progression(EVENT_DAY, site_class))
    assert_dosing_stopped(subject, "progression")
    assert_imaging_stopped(subject, "progression")
    assert_post_treatment_visits(subject)
    assert targets(subject, "SURVIVAL")[:2] == [D(2026, 11, 9), D(2027, 2, 1)]
    assert not PlannedVisit.objects.filter(subject=subject, event_code="REIRRADIATION").exists()
    follow()
    assert codes_announced(subject) == {"EOT", "SAFETY30", "IRAE90", "SURVIVAL"}


def test_selective_arm_first_locoregional_progression_keeps_pd1_and_plans_reirradiation(site):
    subject = on_treatment(site, "SELECTIVE")
    stop(subject, Progression(EVENT_DAY, LR))
    nine = visit(subject, "PD1", 9)
    assert (nine.target_date, nine.cancelled_reason) == (EVENT_DAY, "")
    task = visit(subject, "REIRRADIATION", 1)
    assert (task.target_date, task.window_end) == (EVENT_DAY, D(2026, 9, 14))
    assert_imaging_continues(subject)
    assert not PlannedVisit.objects.filter(
        subject=subject, event_code__in=["EOT", "SURVIVAL"]
    ).exists()
    follow(until=D(2026, 11, 9))
    assert ("PD1", 9, "due", EVENT_DAY) in announced(subject)
    assert ("REIRRADIATION", 1, "due", EVENT_DAY) in announced(subject)
    assert {"PD1", "REIRRADIATION", "IMAGING"} <= codes_announced(subject)
    assert codes_announced(subject) & {"EOT", "SAFETY30", "IRAE90", "SURVIVAL"} == set()


def test_selective_arm_second_progression_after_reirradiation_ends_treatment(site):
    subject = on_treatment(site, "SELECTIVE")
    stop(subject, Progression(EVENT_DAY, LR))
    record = services.record_event
    for day in (D(2026, 8, 18), D(2026, 9, 8), D(2026, 9, 29)):
        record(SYSTEM, subject, DoseGiven(day, "PD1"), today=day)
    record(SYSTEM, subject, RadiotherapyStarted(D(2026, 9, 1)), today=D(2026, 9, 1))
    record(SYSTEM, subject, RadiotherapyCompleted(D(2026, 10, 13)), today=D(2026, 10, 13))
    assert targets(subject, "POST_RT_MRI") == [D(2027, 1, 5)]
    assert visit(subject, "PD1", 12).target_date == D(2026, 10, 20)
    second = D(2026, 10, 20)
    record(SYSTEM, subject, Progression(second, LR), today=second)
    assert visit(subject, "PD1", 12).cancelled_reason == "progression"
    assert visit(subject, "POST_RT_MRI", 1).cancelled_reason == "progression"
    assert visit(subject, "EOT", 1).target_date == second + 30 * DAY
    assert visit(subject, "SAFETY30", 1).target_date == D(2026, 9, 29) + 30 * DAY
    assert targets(subject, "SURVIVAL")[0] == second + 84 * DAY
    assert visit(subject, "REIRRADIATION", 1).cancelled_reason == ""  # history is kept


@pytest.mark.parametrize("site_class", [ProgressionSite.DISTANT_ONLY, ProgressionSite.BOTH])
def test_selective_arm_progression_with_distant_component_ends_treatment(site, site_class):
    subject = on_treatment(site, "SELECTIVE")
    stop(subject, Progression(EVENT_DAY, site_class))
    assert_dosing_stopped(subject, "progression")
    assert_imaging_stopped(subject, "progression")
    assert_post_treatment_visits(subject)
    assert not PlannedVisit.objects.filter(subject=subject, event_code="REIRRADIATION").exists()


@BOTH_ARMS
@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (TreatmentDiscontinued(EVENT_DAY, DiscontinuationReason.UNACCEPTABLE_TOXICITY), "unacceptable_toxicity"),
        (TreatmentDiscontinued(EVENT_DAY, DiscontinuationReason.INVESTIGATOR_DECISION), "investigator_decision"),
        (TreatmentDiscontinued(EVENT_DAY, DiscontinuationReason.PERMANENT_DISCONTINUATION), "pd1_permanently_discontinued"),
        (ConsentWithdrawn(EVENT_DAY, WithdrawalScope.TREATMENT_ONLY), "withdrawal_treatment_only"),
    ],
)  # fmt: skip
def test_treatment_stops_keep_imaging_until_progression(site, arm, event, reason):
    subject = on_treatment(site, arm)
    stop(subject, event)
    assert_dosing_stopped(subject, reason)
    assert_imaging_continues(subject)
    assert_post_treatment_visits(subject)
    assert not PlannedVisit.objects.filter(subject=subject, event_code="SURVIVAL").exists()
    follow(until=D(2026, 11, 30))
    assert "PD1" not in codes_announced(subject)
    assert {"IMAGING", "EOT", "SAFETY30", "IRAE90"} <= codes_announced(subject)


@BOTH_ARMS
def test_pregnancy_stops_dosing_and_plans_the_follow_up(site, arm):
    subject = on_treatment(site, arm)
    stop(subject, Pregnancy(EVENT_DAY))
    assert_dosing_stopped(subject, "pregnancy")
    assert_imaging_continues(subject)
    task = visit(subject, "PREGNANCY_FU", 1)
    assert (task.target_date, task.window_end) == (EVENT_DAY, D(2026, 8, 31))
    follow(until=D(2026, 9, 15))
    assert ("PREGNANCY_FU", 1, "due", EVENT_DAY) in announced(subject)
    assert "PD1" not in codes_announced(subject)


@BOTH_ARMS
def test_new_anticancer_therapy_stops_dosing_and_imaging(site, arm):
    subject = on_treatment(site, arm)
    stop(subject, NewAnticancerTherapy(EVENT_DAY))
    assert_dosing_stopped(subject, "new_anticancer_therapy")
    assert_imaging_stopped(subject, "new_anticancer_therapy")
    assert_post_treatment_visits(subject)
    assert targets(subject, "SURVIVAL")[0] == D(2026, 11, 9)
    follow()
    assert codes_announced(subject) == {"EOT", "SAFETY30", "IRAE90", "SURVIVAL"}


@BOTH_ARMS
@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (ConsentWithdrawn(EVENT_DAY, WithdrawalScope.ALL_FOLLOW_UP), "withdrawal_all_follow_up"),
        (LostToFollowUp(EVENT_DAY), "lost_to_follow_up"),
        (Death(EVENT_DAY), "death"),
        (StudyEnded(EVENT_DAY), "study_end"),
    ],
)
def test_study_stops_end_every_reminder(site, arm, event, reason):
    subject = on_treatment(site, arm)
    stop(subject, event)
    open_visits = PlannedVisit.objects.filter(
        subject=subject, performed_on__isnull=True, cancelled_reason=""
    )
    for row in open_visits:
        assert row.missed_after < EVENT_DAY, row  # only visits missed before the stop stay open
    assert {v.cancelled_reason for v in PlannedVisit.objects.filter(subject=subject).exclude(cancelled_reason="")} <= {
        reason, "induction_completed"
    }  # fmt: skip
    before = ReminderMessage.objects.filter(visit__subject=subject).count()
    follow(until=D(2027, 9, 1))
    assert ReminderMessage.objects.filter(visit__subject=subject).count() == before
    assert codes_announced(subject) == set()


@BOTH_ARMS
def test_two_year_cap_ends_dosing_after_35_doses(site, arm):
    subject = on_treatment(site, arm)
    if arm == "SELECTIVE":
        stop(subject, Progression(EVENT_DAY, LR))
    doses = len(ON_TARGET)
    while True:
        pending = PlannedVisit.objects.filter(
            subject=subject, event_code="PD1", performed_on__isnull=True, cancelled_reason=""
        ).first()
        if pending is None:
            break
        services.record_event(
            SYSTEM, subject, DoseGiven(pending.target_date, "PD1"), today=pending.target_date
        )
        doses += 1
        if arm == "SELECTIVE" and doses == 9:
            services.record_event(
                SYSTEM, subject, RadiotherapyStarted(D(2026, 8, 20)), today=D(2026, 8, 20)
            )
        if arm == "SELECTIVE" and doses == 11:
            services.record_event(
                SYSTEM, subject, RadiotherapyCompleted(D(2026, 10, 1)), today=D(2026, 10, 1)
            )
    assert doses == 35
    last = visit(subject, "PD1", 35)
    assert (last.performed_on, status(subject, "PD1", 35, D(2028, 2, 14))) == (
        D(2028, 2, 14),
        "completed",
    )
    assert PlannedVisit.objects.filter(subject=subject, event_code="PD1").count() == 35
    assert_post_treatment_visits(subject, decision=D(2028, 2, 14), last_dose=D(2028, 2, 14))
    assert all(
        not v.cancelled_reason
        for v in PlannedVisit.objects.filter(subject=subject, event_code="IMAGING_LATE")
    )
    scan_days(D(2028, 2, 14), D(2028, 3, 20))
    assert "PD1" not in codes_announced(subject, since=D(2028, 2, 15))
    assert ("EOT", 1, "window_open", D(2028, 2, 14)) in announced(subject)


def test_death_recorded_only_on_the_subject_still_silences_the_scan(site):
    """Death entered through the subject lifecycle: the lifecycle hook cancels the open visits,
    and whatever the scan still finds due is withheld, so nothing is announced."""
    subject = on_treatment(site, "IMMEDIATE")
    lifecycle(subject, RANDOMIZATION)
    subject_services.transition(
        SYSTEM,
        subject,
        "off_study",
        on_date=EVENT_DAY,
        off_study_reason="death",
        death_date=EVENT_DAY,
    )
    before = announced(subject)
    result = services.scan(EVENT_DAY)
    assert result.transitions == result.withheld
    follow(until=D(2026, 12, 1))
    assert announced(subject) == before
