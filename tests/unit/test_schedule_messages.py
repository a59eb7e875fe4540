"""The schedule engine refuses an event with a translatable phrase: the English text callers
and stored conflicts read, and a template with its values that a page renders in its reader's
language."""

from __future__ import annotations

import datetime as dt

import pytest

from edc.phrases import render
from edc.schedule.events import Consented, DoseGiven, Randomized, Registered
from edc.schedule.stop_rules import ScheduleEventError, apply_event, replay
from tests.unit.schedule_studies import t_reirr

D = dt.date


def registered():
    return replay(t_reirr(), [Consented(D(2025, 12, 1)), Registered(D(2025, 12, 8))])


def test_an_out_of_order_event_names_both_dates_in_a_template():
    state = apply_event(registered(), Randomized(D(2026, 3, 2), "SELECTIVE"))
    with pytest.raises(ScheduleEventError) as caught:
        apply_event(state, DoseGiven(D(2026, 3, 1), "PD1"))
    error = caught.value
    assert str(error) == (
        "DoseGiven on 2026-03-01 is earlier than the last event (2026-03-02); replay the "
        "subject's events in date order"
    )
    assert error.phrase.message == (
        "{event} on {date} is earlier than the last event ({last}); replay the subject's "
        "events in date order"
    )
    assert dict(error.phrase.params) == {
        "event": "DoseGiven",
        "date": "2026-03-01",
        "last": "2026-03-02",
    }
    # A catalogue's template gets the same values (here a stand-in translation).
    chinese = {error.phrase.message: "{event}（{date}）早于上一事件（{last}）"}
    assert render(error.phrase, lambda t: chinese.get(t, t), str) == (
        "DoseGiven（2026-03-01）早于上一事件（2026-03-02）"
    )


def test_an_unknown_arm_is_refused_with_its_code():
    with pytest.raises(ScheduleEventError) as caught:
        apply_event(registered(), Randomized(D(2026, 3, 2), "NOPE"))
    assert str(caught.value) == "unknown arm 'NOPE'"
    assert caught.value.phrase.message == "unknown arm {arm}"
