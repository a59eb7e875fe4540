"""Every row of the stop-rule table (domain spec §4.4) as a dated T-REIRR scenario, in both arms.

Scenario base: randomization 2026-03-02, PD-1 doses given on target (q21 from the actual dose):
03-02, 03-23, 04-13, 05-04, 05-25, 06-15, 07-06, 07-27; the 9th dose target is 2026-08-17, the
day of the third q12w tumour assessment (W2), when the stop-rule event is recorded.
"""

import datetime as dt

import pytest

from edc.schedule.definition import Anchor
from edc.schedule.dosing import outlook
from edc.schedule.events import (
    Consented,
    ConsentWithdrawn,
    Death,
    DiscontinuationReason,
    DoseGiven,
    InductionResponseAssessed,
    LostToFollowUp,
    NewAnticancerTherapy,
    Pregnancy,
    Progression,
    ProgressionSite,
    RadiotherapyCompleted,
    RadiotherapyStarted,
    Randomized,
    Registered,
    StudyEnded,
    TreatmentDiscontinued,
    WithdrawalScope,
)
from edc.schedule.planning import plan, visit_reminders_allowed
from edc.schedule.state import StopReason, StopRuleSettings, SubjectStatus
from edc.schedule.stop_rules import (
    ScheduleEventError,
    apply_event,
    meets_lost_to_follow_up,
    off_study_reason,
    reminders_allowed,
    replay,
    subject_status_after,
)
from edc.subjects.lifecycle import ALLOWED
from tests.unit.schedule_studies import t_reirr

D = dt.date
DAY = dt.timedelta(days=1)
RANDOMIZATION = D(2026, 3, 2)
LAST_DOSE = D(2026, 7, 27)
EVENT_DAY = D(2026, 8, 17)
BOTH_ARMS = pytest.mark.parametrize("arm", ["IMMEDIATE", "SELECTIVE"])
LR = ProgressionSite.LOCOREGIONAL_ONLY
W2_START = [D(2026, 5, 25), D(2026, 8, 17)]


def on_treatment(arm, settings=None):
    events = [Consented(D(2025, 12, 1)), Registered(D(2025, 12, 8)), Randomized(RANDOMIZATION, arm)]
    events += [DoseGiven(RANDOMIZATION + 21 * k * DAY, "PD1") for k in range(8)]
    return replay(t_reirr(), events, settings)


def visits(state, code):
    return [v for v in plan(state) if v.event_code == code]


def targets(state, code):
    return [v.target for v in visits(state, code)]


def next_dose(state):
    return [v for v in visits(state, "PD1") if v.performed_on is None][-1]


def live(state, code):
    return [v for v in visits(state, code) if not v.cancelled]


def q12w(start, count):
    return [start + 84 * k * DAY for k in range(1, count + 1)]


def assert_imaging_continues(state):
    assert all(not v.cancelled for v in visits(state, "IMAGING"))
    assert targets(state, "IMAGING")[1:4] == [D(2026, 8, 17), D(2026, 11, 9), D(2027, 2, 1)]


def assert_imaging_stopped(state, reason, on=EVENT_DAY):
    for visit in visits(state, "IMAGING") + visits(state, "IMAGING_LATE"):
        missed_by_time = visit.target + (visit.window_after + visit.grace_days) * DAY < on
        assert visit.cancelled == (not missed_by_time)
        if visit.cancelled:
            assert visit.cancelled_by == reason


def assert_post_treatment_visits(state, decision=EVENT_DAY, last_dose=LAST_DOSE):
    (eot,) = visits(state, "EOT")
    assert (eot.target, eot.window_start, eot.window_end) == (
        decision + 30 * DAY,
        decision,
        decision + 37 * DAY,
    )
    (safety,) = visits(state, "SAFETY30")
    assert (safety.target, safety.window_start, safety.window_end) == (
        last_dose + 30 * DAY,
        last_dose + 23 * DAY,
        last_dose + 37 * DAY,
    )
    (irae,) = visits(state, "IRAE90")
    assert (irae.target, irae.window_before, irae.window_after) == (last_dose + 90 * DAY, 14, 14)


def assert_dosing_stopped(state, reason):
    assert state.dosing_stop.on == EVENT_DAY and state.dosing_stop.reason == reason
    nine = next_dose(state)
    assert (nine.cycle, nine.target, nine.cancelled_by) == (9, EVENT_DAY, reason)
    assert not visit_reminders_allowed(state, nine)


# --- induction ------------------------------------------------------------------------------


REGISTRATION = D(2025, 12, 1)


def induction(registration=REGISTRATION, cycles=4):
    state = replay(t_reirr(), [Consented(registration - 10 * DAY), Registered(registration)])
    for k in range(cycles):
        state = apply_event(state, DoseGiven(registration + (7 + 21 * k) * DAY, "IND_CYCLE"))
    return state


def test_induction_is_scheduled_from_registration():
    state = induction(cycles=0)
    assert state.status == SubjectStatus.REGISTERED
    assert targets(state, "IND_CYCLE") == [D(2025, 12, 8)]
    assert targets(state, "IND_IMAGING") == [D(2026, 1, 12), D(2026, 2, 23), D(2026, 4, 6)]
    assert targets(state, "IMAGING") == [] and targets(state, "PD1") == []
    state = apply_event(state, DoseGiven(D(2025, 12, 10), "IND_CYCLE"))
    assert state.status == SubjectStatus.INDUCTION
    assert targets(state, "IND_CYCLE") == [D(2025, 12, 8), D(2025, 12, 31)]


@pytest.mark.parametrize(("response", "cycles"), [("SD", 4), ("PD", 6), ("PR", 3), ("NE", 4)])
def test_induction_failure_takes_the_subject_off_study(response, cycles):
    state = induction(cycles=cycles)
    assessed = D(2026, 4, 6)
    state = apply_event(state, InductionResponseAssessed(assessed, response, cycles))
    assert state.status == SubjectStatus.INDUCTION_FAILED
    assert off_study_reason(state) == StopReason.INDUCTION_FAILURE
    assert not reminders_allowed(state)
    assert all(
        v.cancelled
        for v in plan(state)
        if v.target + 14 * DAY >= assessed and v.performed_on is None
    )
    with pytest.raises(ScheduleEventError):
        apply_event(state, Randomized(D(2026, 4, 20), "SELECTIVE"))


def test_induction_failure_can_be_followed_for_survival():
    state = replay(
        t_reirr(),
        [
            Consented(D(2025, 11, 21)),
            Registered(D(2025, 12, 1)),
            InductionResponseAssessed(D(2026, 1, 12), "PD", 1),
        ],
        StopRuleSettings(induction_failure_survival_followup=True),
    )
    assert state.status == SubjectStatus.INDUCTION_FAILED and reminders_allowed(state)
    assert targets(state, "SURVIVAL")[:2] == [D(2026, 4, 6), D(2026, 6, 29)]


def test_responder_after_induction_is_randomized_and_calendar_starts_at_randomization():
    state = induction(cycles=4)
    state = apply_event(state, InductionResponseAssessed(D(2026, 3, 10), "CR", 4))
    assert state.status == SubjectStatus.INDUCTION
    assert next(v for v in visits(state, "IND_CYCLE") if v.performed_on is None).cancelled_by == (
        StopReason.INDUCTION_COMPLETED
    )
    state = apply_event(state, Randomized(D(2026, 3, 30), "IMMEDIATE"))
    assert state.status == SubjectStatus.RANDOMIZED
    assert targets(state, "IMAGING")[:3] == q12w(D(2026, 3, 30), 3)
    assert targets(state, "PD1") == [D(2026, 3, 30)]
    assert live(state, "RT_IMMEDIATE")[0].window_end == D(2026, 4, 13)
    # The induction imaging of 2026-02-23 was already past its window: it stays (missed or done), not cancelled.
    assert [v.cancelled for v in visits(state, "IND_IMAGING")] == [False, False, True]


def test_progression_during_induction_is_an_induction_failure():
    state = apply_event(
        induction(cycles=2), Progression(D(2026, 1, 12), ProgressionSite.DISTANT_ONLY)
    )
    assert state.status == SubjectStatus.INDUCTION_FAILED
    assert off_study_reason(state) == StopReason.INDUCTION_FAILURE and not reminders_allowed(state)


def test_pregnancy_during_induction_keeps_the_pregnancy_follow_up():
    state = apply_event(induction(cycles=2), Pregnancy(D(2026, 1, 5)))
    assert state.status == SubjectStatus.INDUCTION_FAILED
    assert reminders_allowed(state)
    assert targets(state, "PREGNANCY_FU") == [D(2026, 1, 5)]
    assert all(v.cancelled for v in visits(state, "IND_CYCLE") if v.performed_on is None)
    assert targets(state, "SAFETY30") == [
        D(2025, 12, 29) + 30 * DAY
    ]  # PD-1 was given during induction


def test_discontinuation_before_any_dose_plans_eot_only_when_doses_were_given():
    state = replay(
        t_reirr(),
        [
            Consented(D(2025, 12, 1)),
            Registered(D(2025, 12, 8)),
            Randomized(RANDOMIZATION, "IMMEDIATE"),
        ],
    )
    state = apply_event(
        state, TreatmentDiscontinued(D(2026, 3, 5), DiscontinuationReason.INVESTIGATOR_DECISION)
    )
    assert state.status == SubjectStatus.OFF_TREATMENT_FOLLOWUP
    assert visits(state, "EOT") == [] and visits(state, "SAFETY30") == []
    assert targets(state, "IMAGING")[:2] == W2_START


# --- progression ----------------------------------------------------------------------------


@pytest.mark.parametrize("site", list(ProgressionSite))
def test_immediate_arm_any_progression_ends_treatment(site):
    state = apply_event(on_treatment("IMMEDIATE"), Progression(EVENT_DAY, site))
    assert state.status == SubjectStatus.SURVIVAL_FOLLOWUP
    assert state.anchors[Anchor.PROGRESSION] == EVENT_DAY  # PFS event
    assert_dosing_stopped(state, StopReason.PROGRESSION)
    assert_imaging_stopped(state, StopReason.PROGRESSION)
    assert_post_treatment_visits(state)
    assert targets(state, "SURVIVAL")[:3] == [D(2026, 11, 9), D(2027, 2, 1), D(2027, 4, 26)]
    assert visits(state, "REIRRADIATION") == []


def test_selective_arm_first_locoregional_progression_continues_pd1():
    before = on_treatment("SELECTIVE")
    state = apply_event(before, Progression(EVENT_DAY, LR))
    assert state.status == SubjectStatus.REIRRADIATION_PENDING
    assert (
        state.anchors[Anchor.PROGRESSION] == EVENT_DAY
    )  # PFS event recorded although treatment continues
    assert state.progressions[0].treatment_continued
    assert state.dosing_stop is None and state.imaging_stop is None
    nine = next_dose(state)
    assert (nine.target, nine.cancelled) == (EVENT_DAY, False)
    assert visit_reminders_allowed(state, nine)
    (task,) = visits(state, "REIRRADIATION")
    assert (task.target, task.window_end, task.forms) == (
        EVENT_DAY,
        D(2026, 9, 14),
        ("radiotherapy",),
    )
    assert visits(state, "IMAGING") == visits(before, "IMAGING")
    assert_imaging_continues(state)
    assert state.recist_episode == 2
    assert visits(state, "EOT") == [] and visits(state, "SURVIVAL") == []


def test_selective_arm_reirradiation_then_second_progression_ends_treatment():
    state = apply_event(on_treatment("SELECTIVE"), Progression(EVENT_DAY, LR))
    state = apply_event(state, DoseGiven(D(2026, 8, 18), "PD1"))
    state = apply_event(state, RadiotherapyStarted(D(2026, 9, 1)))
    assert state.status == SubjectStatus.REIRRADIATING
    state = apply_event(state, DoseGiven(D(2026, 9, 8), "PD1"))
    state = apply_event(state, RadiotherapyCompleted(D(2026, 10, 13)))
    assert state.status == SubjectStatus.ON_TREATMENT_POST_RT
    assert targets(state, "POST_RT_MRI") == [D(2027, 1, 5)]
    # The 2-year clock and the imaging calendar are not reset by re-irradiation.
    assert outlook(state, state.definition.event("PD1")).cap_date == D(2028, 3, 2)
    assert_imaging_continues(state)

    second = D(2027, 2, 1)
    state = apply_event(state, Progression(second, ProgressionSite.LOCOREGIONAL_ONLY))
    assert state.status == SubjectStatus.SURVIVAL_FOLLOWUP
    assert state.dosing_stop.reason == state.imaging_stop.reason == StopReason.PROGRESSION
    assert state.anchors[Anchor.PROGRESSION] == EVENT_DAY  # PFS keeps the first progression
    assert state.anchors[Anchor.TREATMENT_STOP_DECISION] == second
    assert state.anchors[Anchor.LAST_DOSE] == D(2026, 9, 8)
    assert targets(state, "SURVIVAL")[0] == second + 84 * DAY
    assert visits(state, "REIRRADIATION")[0].cancelled is False  # long done: history is kept
    assert (
        visits(state, "POST_RT_MRI")[0].cancelled is False
    )  # its window had passed: missed or done, not cancelled


@pytest.mark.parametrize("site", [ProgressionSite.DISTANT_ONLY, ProgressionSite.BOTH])
def test_selective_arm_progression_with_distant_component_ends_treatment(site):
    state = apply_event(on_treatment("SELECTIVE"), Progression(EVENT_DAY, site))
    assert state.status == SubjectStatus.SURVIVAL_FOLLOWUP
    assert_dosing_stopped(state, StopReason.PROGRESSION)
    assert_imaging_stopped(state, StopReason.PROGRESSION)
    assert_post_treatment_visits(state)
    assert visits(state, "REIRRADIATION") == []
    assert state.recist_episode == 1


def test_combined_progression_may_be_configured_to_allow_reirradiation():
    state = on_treatment(
        "SELECTIVE", StopRuleSettings(combined_progression_allows_reirradiation=True)
    )
    state = apply_event(state, Progression(EVENT_DAY, ProgressionSite.BOTH))
    assert state.status == SubjectStatus.REIRRADIATION_PENDING and state.dosing_stop is None


# --- treatment stops that keep imaging ------------------------------------------------------


@BOTH_ARMS
@pytest.mark.parametrize("reason", list(DiscontinuationReason))
def test_toxicity_or_discontinuation_stops_dosing_keeps_imaging_until_pd(arm, reason):
    state = apply_event(on_treatment(arm), TreatmentDiscontinued(EVENT_DAY, reason))
    assert state.status == SubjectStatus.OFF_TREATMENT_FOLLOWUP
    assert_dosing_stopped(state, StopReason(reason.value))
    assert_imaging_continues(state)
    assert_post_treatment_visits(state)
    assert visits(state, "SURVIVAL") == []
    # A later progression, even locoregional in the selective arm, ends imaging: PD-1 is no longer given.
    pd_day = D(2027, 2, 1)
    state = apply_event(state, Progression(pd_day, LR))
    assert state.status == SubjectStatus.SURVIVAL_FOLLOWUP
    assert visits(state, "REIRRADIATION") == []
    assert_imaging_stopped(state, StopReason.PROGRESSION, on=pd_day)
    assert targets(state, "SURVIVAL")[0] == pd_day + 84 * DAY
    assert (
        visits(state, "EOT")[0].target == EVENT_DAY + 30 * DAY
    )  # the EOT decision date is not moved


@BOTH_ARMS
def test_withdrawal_from_treatment_only_keeps_imaging(arm):
    state = apply_event(
        on_treatment(arm), ConsentWithdrawn(EVENT_DAY, WithdrawalScope.TREATMENT_ONLY)
    )
    assert state.status == SubjectStatus.OFF_TREATMENT_FOLLOWUP
    assert_dosing_stopped(state, StopReason.WITHDRAWAL_TREATMENT)
    assert_imaging_continues(state)
    assert_post_treatment_visits(state)
    assert reminders_allowed(state)


@BOTH_ARMS
def test_pregnancy_stops_dosing_and_plans_pregnancy_follow_up(arm):
    state = apply_event(on_treatment(arm), Pregnancy(EVENT_DAY))
    assert state.status == SubjectStatus.OFF_TREATMENT_FOLLOWUP
    assert_dosing_stopped(state, StopReason.PREGNANCY)
    assert_imaging_continues(state)
    (form,) = visits(state, "PREGNANCY_FU")
    assert (form.target, form.window_end, form.forms, form.cancelled) == (
        EVENT_DAY,
        D(2026, 8, 31),
        ("pregnancy_followup",),
        False,
    )


@BOTH_ARMS
def test_cap_reached_in_both_arms_even_after_reirradiation(arm):
    state = on_treatment(arm)
    if arm == "SELECTIVE":
        state = apply_event(state, Progression(EVENT_DAY, LR))
    doses = 8
    while (visit := next_dose(state)) is not None and not visit.cancelled:
        state = apply_event(state, DoseGiven(visit.target, "PD1"))
        doses += 1
        if arm == "SELECTIVE" and doses == 9:
            state = apply_event(state, RadiotherapyStarted(D(2026, 8, 20)))
        if arm == "SELECTIVE" and doses == 11:
            state = apply_event(state, RadiotherapyCompleted(D(2026, 10, 1)))
        if state.dosing_stop is not None:
            break
    if arm == "SELECTIVE":
        assert state.anchors[Anchor.RT_END] == D(2026, 10, 1)
    assert doses == 35
    assert state.dosing_stop == type(state.dosing_stop)(D(2028, 2, 14), StopReason.TREATMENT_CAP)
    assert state.status == SubjectStatus.OFF_TREATMENT_FOLLOWUP
    assert_post_treatment_visits(state, decision=D(2028, 2, 14), last_dose=D(2028, 2, 14))
    assert all(not v.cancelled for v in visits(state, "IMAGING_LATE"))


# --- stops of imaging and of everything -----------------------------------------------------


@BOTH_ARMS
def test_new_anticancer_therapy_stops_dosing_and_imaging(arm):
    state = apply_event(on_treatment(arm), NewAnticancerTherapy(EVENT_DAY))
    assert state.status == SubjectStatus.SURVIVAL_FOLLOWUP
    assert_dosing_stopped(state, StopReason.NEW_ANTICANCER_THERAPY)
    assert_imaging_stopped(state, StopReason.NEW_ANTICANCER_THERAPY)
    assert_post_treatment_visits(state)
    assert targets(state, "SURVIVAL")[0] == D(2026, 11, 9)


@BOTH_ARMS
@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (ConsentWithdrawn(EVENT_DAY, WithdrawalScope.ALL_FOLLOW_UP), StopReason.WITHDRAWAL_ALL),
        (LostToFollowUp(EVENT_DAY), StopReason.LOST_TO_FOLLOW_UP),
        (Death(EVENT_DAY), StopReason.DEATH),
        (StudyEnded(EVENT_DAY), StopReason.STUDY_END),
    ],
)
def test_study_stops_end_every_reminder(arm, event, reason):
    before = on_treatment(arm)
    state = apply_event(before, event)
    assert state.status == SubjectStatus.OFF_STUDY
    assert off_study_reason(state) == reason
    assert not reminders_allowed(state)
    assert not any(visit_reminders_allowed(state, v) for v in plan(state))
    for visit in plan(state):
        open_on_stop = visit.target + (visit.window_after + visit.grace_days) * DAY >= EVENT_DAY
        if visit.performed_on is None and visit.cancelled_by != StopReason.INDUCTION_COMPLETED:
            assert visit.cancelled == open_on_stop
            assert visit.cancelled_by in (None, reason)
    assert visits(state, "EOT") == [] and visits(state, "SURVIVAL") == []
    with pytest.raises(ScheduleEventError):
        apply_event(state, DoseGiven(EVENT_DAY + DAY, "PD1"))


def test_death_after_treatment_stop_cancels_follow_up_visits_too():
    state = apply_event(on_treatment("IMMEDIATE"), Progression(EVENT_DAY, LR))
    died = D(2026, 9, 1)
    state = apply_event(state, Death(died))
    assert state.dead and not reminders_allowed(state)
    assert [v.cancelled_by for v in visits(state, "EOT") + visits(state, "IRAE90")] == [
        StopReason.DEATH
    ] * 2
    assert all(v.cancelled_by == StopReason.DEATH for v in visits(state, "SURVIVAL"))
    # The 30-day safety visit (2026-08-26 ±7) was still open on 09-01: cancelled as well.
    assert visits(state, "SAFETY30")[0].cancelled_by == StopReason.DEATH


def test_lost_to_follow_up_rule_needs_three_contacts_over_30_days():
    assert meets_lost_to_follow_up([D(2026, 9, 1), D(2026, 9, 15), D(2026, 10, 1)])
    assert not meets_lost_to_follow_up([D(2026, 9, 1), D(2026, 9, 15), D(2026, 9, 30)])
    assert not meets_lost_to_follow_up([D(2026, 9, 1), D(2026, 11, 1)])


# --- subject lifecycle ----------------------------------------------------------------------


def test_selective_path_moves_the_subject_only_through_allowed_lifecycle_transitions():
    state = replay(t_reirr(), [Consented(D(2025, 11, 20))])
    events = [
        Registered(D(2025, 12, 1)),
        DoseGiven(D(2025, 12, 8), "IND_CYCLE"),
        DoseGiven(D(2025, 12, 29), "IND_CYCLE"),
        DoseGiven(D(2026, 1, 19), "IND_CYCLE"),
        DoseGiven(D(2026, 2, 9), "IND_CYCLE"),
        InductionResponseAssessed(D(2026, 2, 23), "PR", 4),
        Randomized(RANDOMIZATION, "SELECTIVE"),
        DoseGiven(RANDOMIZATION, "PD1"),
        Progression(EVENT_DAY, LR),
        RadiotherapyStarted(D(2026, 9, 1)),
        RadiotherapyCompleted(D(2026, 10, 13)),
        TreatmentDiscontinued(D(2026, 11, 2), DiscontinuationReason.UNACCEPTABLE_TOXICITY),
        Progression(D(2027, 2, 1), ProgressionSite.DISTANT_ONLY),
        Death(D(2027, 6, 1)),
    ]
    path = [state.status]
    for event in events:
        expected = subject_status_after(state, event)
        state = apply_event(state, event)
        assert state.status == expected
        if state.status != path[-1]:
            assert state.status in ALLOWED[path[-1]], (path[-1], state.status)
            path.append(state.status)
    assert path == [
        SubjectStatus.SCREENING,
        SubjectStatus.REGISTERED,
        SubjectStatus.INDUCTION,
        SubjectStatus.RANDOMIZED,
        SubjectStatus.ON_TREATMENT,
        SubjectStatus.REIRRADIATION_PENDING,
        SubjectStatus.REIRRADIATING,
        SubjectStatus.ON_TREATMENT_POST_RT,
        SubjectStatus.OFF_TREATMENT_FOLLOWUP,
        SubjectStatus.SURVIVAL_FOLLOWUP,
        SubjectStatus.OFF_STUDY,
    ]


@BOTH_ARMS
def test_every_stop_rule_status_is_a_legal_lifecycle_move(arm):
    base = on_treatment(arm)
    for event in [
        Progression(EVENT_DAY, LR),
        Progression(EVENT_DAY, ProgressionSite.DISTANT_ONLY),
        TreatmentDiscontinued(EVENT_DAY, DiscontinuationReason.UNACCEPTABLE_TOXICITY),
        NewAnticancerTherapy(EVENT_DAY),
        ConsentWithdrawn(EVENT_DAY, WithdrawalScope.TREATMENT_ONLY),
        ConsentWithdrawn(EVENT_DAY, WithdrawalScope.ALL_FOLLOW_UP),
        LostToFollowUp(EVENT_DAY),
        Pregnancy(EVENT_DAY),
        Death(EVENT_DAY),
        StudyEnded(EVENT_DAY),
    ]:
        assert subject_status_after(base, event) in ALLOWED[base.status]
