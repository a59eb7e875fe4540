"""PD-1 dosing series: rolling targets, holds, the 2-year / 35-dose cap (domain spec §1.6.4, §4.2 W1, §4.3)."""

import datetime as dt

import pytest

from edc.schedule.definition import from_definition
from edc.schedule.dosing import outlook
from edc.schedule.events import (
    Consented,
    CycleSkipped,
    DoseGiven,
    DoseHeld,
    DoseResumed,
    InductionResponseAssessed,
    Randomized,
    Registered,
)
from edc.schedule.planning import plan, visit_reminders_allowed
from edc.schedule.state import StopReason, SubjectStatus
from edc.schedule.stop_rules import ScheduleEventError, apply_event, holds_due_for_review, replay
from edc.schedule.windows import VisitStatus, status_on
from tests.unit.schedule_studies import t_reirr, t_reirr_study

D = dt.date
DAY = dt.timedelta(days=1)


RANDOMIZATION = D(2026, 3, 2)


def randomized(arm="SELECTIVE", on=RANDOMIZATION, definition=None):
    return replay(
        definition or t_reirr(),
        [Consented(on - 70 * DAY), Registered(on - 60 * DAY), Randomized(on, arm)],
    )


def visits(state, code):
    return [v for v in plan(state) if v.event_code == code]


def pending(state, code="PD1"):
    open_visits = [v for v in visits(state, code) if v.performed_on is None and not v.not_done]
    return open_visits[-1] if open_visits else None


def give_on_target(state, until=None):
    """Give every PD-1 dose on its target date until the series stops (or `until` doses)."""
    given = 0
    while (
        (visit := pending(state)) is not None
        and not visit.cancelled
        and (until is None or given < until)
    ):
        state = apply_event(state, DoseGiven(visit.target, "PD1"))
        given += 1
    return state, given


def test_first_dose_target_is_randomization_and_next_rolls_from_actual_dose():
    state = randomized()
    assert pending(state).target == D(2026, 3, 2)
    state = apply_event(state, DoseGiven(D(2026, 3, 4), "PD1"))
    assert state.status == SubjectStatus.ON_TREATMENT
    nxt = pending(state)
    assert (nxt.target, nxt.cycle, nxt.sequence) == (D(2026, 3, 25), 2, 2)
    assert (nxt.window_start, nxt.window_end) == (D(2026, 3, 22), D(2026, 3, 28))


def test_w1_late_cycle_4_is_out_of_window_and_cycle_5_rolls_from_it():
    state = randomized(on=D(2026, 3, 23))
    for day in (D(2026, 3, 23), D(2026, 4, 13), D(2026, 5, 4)):
        state = apply_event(state, DoseGiven(day, "PD1"))
    cycle4 = pending(state)
    assert (cycle4.cycle, cycle4.target) == (4, D(2026, 5, 25))
    assert status_on(cycle4, D(2026, 5, 22)).code == VisitStatus.WINDOW_OPEN
    state = apply_event(state, DoseGiven(D(2026, 5, 30), "PD1"))
    given4 = next(v for v in visits(state, "PD1") if v.cycle == 4)
    status = status_on(given4, D(2026, 5, 30))
    assert status.code == VisitStatus.COMPLETED_OUT_OF_WINDOW and status.protocol_deviation
    assert pending(state).target == D(2026, 6, 20)
    assert pending(state).cycle == 5


def test_cap_example_35_doses_then_end_of_treatment():
    # §1.6.4: anchor 2026-03-02 ⇒ cap 2028-03-02; 35th dose 2028-02-14; 36th target 2028-03-06 is beyond the cap.
    state, given = give_on_target(randomized(on=D(2026, 3, 2)))
    assert given == 35
    doses = [v for v in visits(state, "PD1") if v.performed_on]
    assert doses[-1].performed_on == D(2028, 2, 14)
    assert doses[-1].cycle == 35
    assert pending(state) is None  # no reminder for a 36th dose (target 2028-03-06)
    assert outlook(state, state.definition.event("PD1")).cap_date == D(2028, 3, 2)
    assert state.dosing_stop.reason == StopReason.TREATMENT_CAP
    assert state.status == SubjectStatus.OFF_TREATMENT_FOLLOWUP
    eot = visits(state, "EOT")[0]
    assert (eot.target, eot.window_start, eot.window_end) == (
        D(2028, 3, 15),
        D(2028, 2, 14),
        D(2028, 3, 22),
    )
    assert visits(state, "SAFETY30")[0].target == D(2028, 2, 14) + 30 * DAY
    assert visits(state, "IRAE90")[0].target == D(2028, 2, 14) + 90 * DAY
    # Imaging continues until PD after the cap (§4.4); survival follow-up only starts at PD.
    assert not any(v.cancelled for v in visits(state, "IMAGING"))
    assert visits(state, "SURVIVAL") == []


@pytest.mark.parametrize("cap", [{"max_doses": 35}, {"max_years": 2}])
def test_each_cap_bound_alone_stops_a_punctual_series_at_35(cap):
    study = t_reirr_study()
    study["pd1_cap"] = cap
    _, given = give_on_target(randomized(definition=from_definition(study)))
    assert given == 35


def test_delays_reduce_the_number_of_doses():
    anchor, cap = D(2026, 3, 2), D(2028, 3, 2)
    delays = {10: 14, 20: 7}  # dose number ⇒ days given after its target
    expected, day, number = [], anchor, 1
    while (
        day <= cap
    ):  # independent oracle: rolling q21 from actual doses, allowed while ≤ anchor + 2 years
        day_given = day + delays.get(number, 0) * DAY
        expected.append(day_given)
        day, number = day_given + 21 * DAY, number + 1
    assert len(expected) == 34

    state = randomized(on=anchor)
    number = 1
    while (visit := pending(state)) is not None:
        state = apply_event(state, DoseGiven(visit.target + delays.get(number, 0) * DAY, "PD1"))
        number += 1
    assert [v.performed_on for v in visits(state, "PD1")] == expected
    assert state.dosing_stop.reason == StopReason.TREATMENT_CAP
    assert state.dosing_stop.on == D(2028, 2, 14)


def test_cap_from_a_29_february_anchor_ends_on_28_february():
    state = randomized(on=D(2024, 2, 29))
    state = apply_event(state, DoseGiven(D(2024, 2, 29), "PD1"))
    assert outlook(state, state.definition.event("PD1")).cap_date == D(2026, 2, 28)
    state = apply_event(state, DoseHeld(D(2024, 3, 20), "PD1"))

    on_cap = apply_event(state, DoseResumed(D(2026, 2, 28), "PD1"))
    assert pending(on_cap).target == D(2026, 2, 28)
    assert on_cap.dosing_stop is None

    past_cap = apply_event(state, DoseResumed(D(2026, 3, 1), "PD1"))
    assert pending(past_cap) is None
    assert past_cap.dosing_stop.reason == StopReason.TREATMENT_CAP


def test_cap_anchor_is_the_first_maintenance_dose_not_randomization():
    state = randomized(on=D(2026, 2, 23))
    state = apply_event(state, DoseGiven(D(2026, 3, 2), "PD1"))
    assert outlook(state, state.definition.event("PD1")).cap_date == D(2028, 3, 2)


def test_cap_counted_from_first_induction_dose_leaves_35_minus_induction_doses():
    study = t_reirr_study()
    study["pd1_cap"] = {"anchor": "first_induction_dose", "max_doses": 35, "max_years": 2}
    definition = from_definition(study)
    state = replay(definition, [Consented(D(2025, 8, 20)), Registered(D(2025, 9, 1))])
    induction_doses = 0
    while (visit := pending(state, "IND_CYCLE")) is not None:
        state = apply_event(state, DoseGiven(visit.target, "IND_CYCLE"))
        induction_doses += 1
    assert induction_doses == 6
    state = apply_event(state, InductionResponseAssessed(D(2026, 1, 5), "PR", 6))
    state = apply_event(state, Randomized(D(2026, 1, 12), "SELECTIVE"))
    state, given = give_on_target(state)
    assert given == 35 - 6
    assert state.dosing_stop.reason == StopReason.TREATMENT_CAP


def test_dose_hold_pauses_reminders_and_resume_sets_target():
    state = randomized()
    state, _ = give_on_target(state, until=3)  # 03-02, 03-23, 04-13
    held_target = pending(state).target
    assert held_target == D(2026, 5, 4)
    state = apply_event(state, DoseHeld(D(2026, 5, 1), "PD1"))
    paused = pending(state)
    assert paused.reminders_paused and not visit_reminders_allowed(state, paused)

    state = apply_event(state, DoseResumed(D(2026, 5, 20), "PD1"))
    held, resumed = visits(state, "PD1")[-2:]
    assert (held.target, held.not_done_reason) == (held_target, "dose held for toxicity")
    assert status_on(held, D(2026, 5, 20)).code == VisitStatus.MISSED
    assert (resumed.target, resumed.cycle, resumed.reminders_paused) == (D(2026, 5, 20), 4, False)
    assert visit_reminders_allowed(state, resumed)


def test_skip_this_cycle_targets_held_target_plus_21():
    state, _ = give_on_target(randomized(), until=3)
    state = apply_event(state, DoseHeld(D(2026, 5, 1), "PD1"))
    state = apply_event(state, CycleSkipped(D(2026, 5, 6), "PD1"))
    skipped, nxt = visits(state, "PD1")[-2:]
    assert skipped.not_done_reason == "cycle skipped"
    assert (nxt.target, nxt.cycle, nxt.sequence) == (D(2026, 5, 25), 4, 5)


def test_hold_longer_than_84_days_prompts_review():
    state, _ = give_on_target(randomized(), until=2)
    state = apply_event(state, DoseHeld(D(2026, 4, 10), "PD1"))
    assert holds_due_for_review(state, D(2026, 7, 2)) == ()
    assert holds_due_for_review(state, D(2026, 7, 3)) == ("PD1",)


def test_events_that_contradict_the_series_are_refused():
    state, _ = give_on_target(randomized(), until=2)
    with pytest.raises(ScheduleEventError):
        apply_event(state, DoseGiven(D(2026, 3, 10), "PD1"))  # earlier than the last event
    with pytest.raises(ScheduleEventError):
        apply_event(state, DoseResumed(D(2026, 4, 20), "PD1"))  # not on hold
    with pytest.raises(ScheduleEventError):
        apply_event(state, DoseGiven(D(2026, 4, 20), "IMAGING"))  # not a dosing event
    with pytest.raises(ScheduleEventError):
        apply_event(
            state, DoseGiven(D(2026, 4, 20), "IND_CYCLE")
        )  # induction ended at randomization
    capped, _ = give_on_target(state)
    with pytest.raises(ScheduleEventError):
        apply_event(capped, DoseGiven(D(2028, 3, 6), "PD1"))
