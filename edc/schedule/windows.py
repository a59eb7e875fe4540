"""The visit status model of domain spec §4.2. Pure Python, no Django.

A status is a function of the visit's facts and of `today` only, so the daily job, the subject
calendar and the site to-do list all agree, and a re-run on the same day gives the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class VisitStatus(StrEnum):
    SCHEDULED = "scheduled"
    UPCOMING = "upcoming"
    WINDOW_OPEN = "window_open"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"
    COMPLETED = "completed"
    COMPLETED_OUT_OF_WINDOW = "completed_out_of_window"
    NOT_APPLICABLE = "not_applicable"


NOTIFIABLE_STATUSES = frozenset(
    {
        VisitStatus.UPCOMING,
        VisitStatus.WINDOW_OPEN,
        VisitStatus.DUE,
        VisitStatus.OVERDUE,
        VisitStatus.MISSED,
    }
)


class VisitFacts(Protocol):
    """What the status model reads; a Django visit row with these attributes can be passed as is."""

    @property
    def target(self) -> dt.date: ...
    @property
    def window_before(self) -> int: ...
    @property
    def window_after(self) -> int: ...
    @property
    def lead_days(self) -> int: ...
    @property
    def grace_days(self) -> int: ...
    @property
    def performed_on(self) -> dt.date | None: ...
    @property
    def not_done(self) -> bool: ...
    @property
    def cancelled(self) -> bool: ...


class SeriesVisitFacts(VisitFacts, Protocol):
    @property
    def event_code(self) -> str: ...
    @property
    def sequence(self) -> int: ...


@dataclass(frozen=True)
class VisitRecord:
    event_code: str
    sequence: int
    target: dt.date
    window_before: int
    window_after: int
    lead_days: int = 3
    grace_days: int = 7
    performed_on: dt.date | None = None
    not_done: bool = False
    cancelled: bool = False


@dataclass(frozen=True)
class Status:
    code: VisitStatus
    # Days outside the window for an out-of-window completion: negative = early, positive = late.
    days_outside_window: int = 0

    @property
    def protocol_deviation(self) -> bool:
        return self.code == VisitStatus.COMPLETED_OUT_OF_WINDOW


def status_on(visit: VisitFacts, today: dt.date, *, later_visit_completed: bool = False) -> Status:
    """Status of one visit on `today`; the first matching row of §4.2 wins."""
    target = visit.target
    opens = target - dt.timedelta(days=visit.window_before)
    closes = target + dt.timedelta(days=visit.window_after)
    performed = visit.performed_on
    if performed is not None:
        if opens <= performed <= closes:
            return Status(VisitStatus.COMPLETED)
        outside = (performed - closes).days if performed > closes else (performed - opens).days
        return Status(VisitStatus.COMPLETED_OUT_OF_WINDOW, days_outside_window=outside)
    if visit.cancelled:
        return Status(VisitStatus.NOT_APPLICABLE)
    if (
        visit.not_done
        or later_visit_completed
        or today > closes + dt.timedelta(days=visit.grace_days)
    ):
        return Status(VisitStatus.MISSED)
    if today > closes:
        return Status(VisitStatus.OVERDUE)
    if today >= target:
        return Status(VisitStatus.DUE)
    if today >= opens:
        return Status(VisitStatus.WINDOW_OPEN)
    if today >= opens - dt.timedelta(days=visit.lead_days):
        return Status(VisitStatus.UPCOMING)
    return Status(VisitStatus.SCHEDULED)


def statuses_on(visits: Sequence[SeriesVisitFacts], today: dt.date) -> list[Status]:
    """Statuses of a subject's visits, in input order, applying "a later visit of the same schedule was completed"."""
    last_done: dict[str, int] = {}
    for visit in visits:
        if visit.performed_on is not None:
            last_done[visit.event_code] = max(last_done.get(visit.event_code, 0), visit.sequence)
    return [
        status_on(
            visit, today, later_visit_completed=last_done.get(visit.event_code, 0) > visit.sequence
        )
        for visit in visits
    ]


def notification_for(previous: VisitStatus | None, current: VisitStatus) -> VisitStatus | None:
    """The transition to announce (one message per visit and transition), or None."""
    if current in NOTIFIABLE_STATUSES and current != previous:
        return current
    return None
