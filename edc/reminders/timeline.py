"""When a visit's status (domain spec §4.2) can next change. Pure Python, no Django.

The daily scan looks only at visits whose next change date has come, so its cost follows the
number of transitions due, not the number of subjects. A status is a step function of `today`
between five boundaries; a visit that is done, cancelled, marked not done, superseded by a later
completed occurrence, or already missed never changes again by the passing of time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from edc.schedule.windows import VisitFacts, VisitStatus, status_on

FINAL_STATUSES = frozenset(
    {
        VisitStatus.COMPLETED,
        VisitStatus.COMPLETED_OUT_OF_WINDOW,
        VisitStatus.NOT_APPLICABLE,
        VisitStatus.MISSED,
    }
)


@dataclass(frozen=True)
class WindowDates:
    """The dates a visit row stores so that lists can filter on plain date columns."""

    window_start: dt.date
    window_end: dt.date
    reminder_from: dt.date  # first `upcoming` day
    missed_after: dt.date  # last `overdue` day; the day after it the visit is missed


def shift(day: dt.date, days: int) -> dt.date:
    """``day`` moved by ``days``, held at the calendar's ends: an implausible anchor (a consent
    typed as 0001-01-01 before dates were checked) gives nonsense windows, never a crash."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min if days < 0 else dt.date.max


def window_dates(
    target: dt.date, window_before: int, window_after: int, lead_days: int, grace_days: int
) -> WindowDates:
    start = shift(target, -window_before)
    end = shift(target, window_after)
    return WindowDates(
        window_start=start,
        window_end=end,
        reminder_from=shift(start, -lead_days),
        missed_after=shift(end, grace_days),
    )


def boundaries(visit: VisitFacts) -> tuple[dt.date, ...]:
    """First days of upcoming, window_open, due, overdue and missed, in that order."""
    dates = window_dates(
        visit.target, visit.window_before, visit.window_after, visit.lead_days, visit.grace_days
    )
    return (
        dates.reminder_from,
        dates.window_start,
        visit.target,
        shift(dates.window_end, 1),
        shift(dates.missed_after, 1),
    )


def next_change(
    visit: VisitFacts, day: dt.date, *, later_visit_completed: bool = False
) -> dt.date | None:
    """The first day after `day` on which the visit's status differs, or None if it never will."""
    return evaluate(visit, day, later_visit_completed=later_visit_completed)[1]


def evaluate(
    visit: VisitFacts, day: dt.date, *, later_visit_completed: bool = False
) -> tuple[VisitStatus, dt.date | None]:
    """(status on `day`, first later day with another status or None)."""
    status = status_on(visit, day, later_visit_completed=later_visit_completed).code
    if status in FINAL_STATUSES:
        return status, None
    return status, min((b for b in boundaries(visit) if b > day), default=None)
