import datetime as dt

import pytest

from edc.schedule.windows import (
    NOTIFIABLE_STATUSES,
    VisitRecord,
    VisitStatus,
    notification_for,
    status_on,
    statuses_on,
)

D = dt.date
S = VisitStatus

# §4.2 W1: cycle 3 given 2026-05-04 ⇒ cycle 4 target 2026-05-25, ±3 days, lead 3, grace 7.
W1_CYCLE4 = VisitRecord(
    "PD1", 4, target=D(2026, 5, 25), window_before=3, window_after=3, lead_days=3, grace_days=7
)
# §4.2 W2: first q12w imaging target after randomization 2026-03-02, ±7 days.
W2_FIRST = VisitRecord("IMAGING", 1, target=D(2026, 5, 25), window_before=7, window_after=7)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 5, 18), S.SCHEDULED),
        (D(2026, 5, 19), S.UPCOMING),
        (D(2026, 5, 22), S.WINDOW_OPEN),
        (D(2026, 5, 25), S.DUE),
        (D(2026, 5, 28), S.DUE),
        (D(2026, 5, 29), S.OVERDUE),
        (D(2026, 6, 4), S.OVERDUE),
        (D(2026, 6, 5), S.MISSED),
    ],
)
def test_w1_dosing_vector(today, expected):
    assert status_on(W1_CYCLE4, today).code == expected


def test_w1_dose_given_late_is_a_deviation():
    given = VisitRecord("PD1", 4, D(2026, 5, 25), 3, 3, performed_on=D(2026, 5, 30))
    status = status_on(given, D(2026, 6, 1))
    assert status.code == S.COMPLETED_OUT_OF_WINDOW
    assert status.protocol_deviation
    assert status.days_outside_window == 2  # window closed 2026-05-28


def test_early_completion_reports_negative_days_outside_window():
    status = status_on(
        VisitRecord("X", 1, D(2026, 5, 25), 3, 3, performed_on=D(2026, 5, 20)), D(2026, 5, 20)
    )
    assert status.code == S.COMPLETED_OUT_OF_WINDOW
    assert status.days_outside_window == -2


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 5, 14), S.SCHEDULED),
        (D(2026, 5, 15), S.UPCOMING),
        (D(2026, 5, 17), S.UPCOMING),
        (D(2026, 5, 18), S.WINDOW_OPEN),
        (D(2026, 5, 24), S.WINDOW_OPEN),
        (D(2026, 5, 25), S.DUE),
        (D(2026, 6, 1), S.DUE),
        (D(2026, 6, 2), S.OVERDUE),
        (D(2026, 6, 8), S.OVERDUE),
        (D(2026, 6, 9), S.MISSED),
    ],
)
def test_w2_imaging_vector(today, expected):
    assert status_on(W2_FIRST, today).code == expected


@pytest.mark.parametrize("performed", [D(2026, 5, 18), D(2026, 5, 25), D(2026, 6, 1)])
def test_completion_on_window_edges_is_in_window(performed):
    status = status_on(
        VisitRecord("IMAGING", 1, D(2026, 5, 25), 7, 7, performed_on=performed), D(2026, 7, 1)
    )
    assert status.code == S.COMPLETED
    assert not status.protocol_deviation


def test_completed_visit_never_reverts():
    done = VisitRecord(
        "IMAGING",
        1,
        D(2026, 5, 25),
        7,
        7,
        performed_on=D(2026, 5, 26),
        cancelled=True,
        not_done=True,
    )
    for today in (D(2026, 5, 26), D(2026, 8, 1), D(2030, 1, 1)):
        assert status_on(done, today, later_visit_completed=True).code == S.COMPLETED


def test_cancelled_visit_is_not_applicable_even_when_long_past():
    cancelled = VisitRecord("IMAGING", 2, D(2026, 8, 17), 7, 7, cancelled=True)
    assert status_on(cancelled, D(2027, 1, 1)).code == S.NOT_APPLICABLE


def test_not_done_is_missed_immediately():
    assert (
        status_on(VisitRecord("X", 1, D(2026, 5, 25), 7, 7, not_done=True), D(2026, 5, 1)).code
        == S.MISSED
    )


def test_later_visit_of_same_schedule_completed_makes_earlier_missed():
    visits = [
        VisitRecord("IMAGING", 1, D(2026, 5, 25), 7, 7),
        VisitRecord("IMAGING", 2, D(2026, 8, 17), 7, 7, performed_on=D(2026, 5, 30)),
        VisitRecord("PD1", 1, D(2026, 5, 25), 3, 3),
    ]
    today = D(2026, 5, 30)
    codes = [s.code for s in statuses_on(visits, today)]
    # The PD1 visit belongs to another schedule: still in its own window logic (overdue on 05-30).
    assert codes == [S.MISSED, S.COMPLETED_OUT_OF_WINDOW, S.OVERDUE]


def test_grace_is_configurable_per_visit():
    record = VisitRecord("X", 1, D(2026, 5, 25), 3, 3, grace_days=0)
    assert status_on(record, D(2026, 5, 28)).code == S.DUE
    assert status_on(record, D(2026, 5, 29)).code == S.MISSED


def test_notification_once_per_transition():
    assert notification_for(None, S.UPCOMING) == S.UPCOMING
    assert notification_for(S.UPCOMING, S.UPCOMING) is None
    assert notification_for(S.DUE, S.OVERDUE) == S.OVERDUE
    assert notification_for(S.SCHEDULED, S.SCHEDULED) is None
    assert notification_for(S.DUE, S.COMPLETED) is None
    assert {S.UPCOMING, S.WINDOW_OPEN, S.DUE, S.OVERDUE, S.MISSED} == NOTIFIABLE_STATUSES
