"""Reads of schedules: a subject's calendar, a site's to-do list and the next due visit of many
subjects. Statuses are computed for `today` from the stored visit facts (the same pure status
model as the scan), so a page never shows a status the scan has not reached yet as stale."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext

from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.reminders.models import PlannedVisit, ReminderMessage, ScheduleEvent
from edc.reminders.services import contactable_open_visits, may_contact
from edc.schedule.definition import EventKind
from edc.schedule.windows import Status, VisitStatus, status_on, statuses_on
from edc.studies.models import Site
from edc.subjects.models import Subject

TO_DO = (VisitStatus.OVERDUE, VisitStatus.DUE)
COMING = (VisitStatus.WINDOW_OPEN, VisitStatus.UPCOMING)


def occurrence_label(visit: PlannedVisit) -> str:
    """Which occurrence of a visit: a dose by its cycle, any other visit by its number."""
    if visit.kind == EventKind.DOSING and visit.cycle:
        return gettext("cycle %(cycle)s") % {"cycle": visit.cycle}
    return f"#{visit.sequence}"


@dataclass(frozen=True)
class CalendarRow:
    visit: PlannedVisit
    status: Status
    reminders: tuple[ReminderMessage, ...]

    @property
    def code(self) -> str:
        return self.status.code.value

    @property
    def label(self) -> str:
        return self.status.code.value.replace("_", " ")

    @property
    def occurrence(self) -> str:
        return occurrence_label(self.visit)


@dataclass(frozen=True)
class Calendar:
    subject: Subject
    today: dt.date
    rows: tuple[CalendarRow, ...]
    events: tuple[ScheduleEvent, ...]
    contactable: bool

    @property
    def conflicts(self) -> tuple[ScheduleEvent, ...]:
        return tuple(e for e in self.events if e.conflict)

    @property
    def open_rows(self) -> tuple[CalendarRow, ...]:
        return tuple(r for r in self.rows if r.visit.is_open)


def subject_calendar(subject: Subject, today: dt.date) -> Calendar:
    """Every planned visit of a subject (the caller fetched the subject through its Scope)."""
    visits = list(
        PlannedVisit.objects.filter(subject=subject).order_by(
            "target_date", "event_code", "sequence"
        )
    )
    statuses = statuses_on(visits, today)
    reminders: dict[int, list[ReminderMessage]] = defaultdict(list)
    for message in ReminderMessage.objects.filter(visit__subject=subject).order_by("day", "id"):
        reminders[message.visit_id].append(message)
    events = tuple(
        ScheduleEvent.objects.filter(subject=subject, voided_at__isnull=True).order_by("on", "id")
    )
    rows = tuple(
        CalendarRow(v, s, tuple(reminders[v.pk])) for v, s in zip(visits, statuses, strict=True)
    )
    return Calendar(subject, today, rows, events, may_contact(subject.status, subject.death_date))


@dataclass(frozen=True)
class TodoItem:
    visit: PlannedVisit
    status: VisitStatus
    today: dt.date

    @property
    def label(self) -> str:
        return self.status.value.replace("_", " ")

    @property
    def days_late(self) -> int:
        return max(0, (self.today - self.visit.window_end).days)


@dataclass(frozen=True)
class Todo:
    site: Site
    today: dt.date
    act_now: tuple[TodoItem, ...]  # overdue, then due
    coming: tuple[TodoItem, ...]  # window open, then upcoming


def site_todo(scope: Scope, site: Site, today: dt.date) -> Todo:
    """What is due, overdue or coming up at a site on `today`, across its subjects."""
    visits = scope.filter(
        contactable_open_visits(today).filter(site=site, reminder_from__lte=today),
        prefix="",
        permission=Permission.VIEW_DATA,
    ).select_related("subject")
    by_status: dict[VisitStatus, list[TodoItem]] = defaultdict(list)
    for visit in visits:
        status = status_on(visit, today).code
        by_status[status].append(TodoItem(visit, status, today))
    order = {
        VisitStatus.OVERDUE: lambda i: (i.visit.window_end, i.visit.subject.subject_id),
        VisitStatus.DUE: lambda i: (i.visit.window_end, i.visit.subject.subject_id),
        VisitStatus.WINDOW_OPEN: lambda i: (i.visit.target_date, i.visit.subject.subject_id),
        VisitStatus.UPCOMING: lambda i: (i.visit.window_start, i.visit.subject.subject_id),
    }
    for status, key in order.items():
        by_status[status].sort(key=key)
    return Todo(
        site=site,
        today=today,
        act_now=tuple(item for status in TO_DO for item in by_status[status]),
        coming=tuple(item for status in COMING for item in by_status[status]),
    )


@dataclass(frozen=True)
class NextDue:
    name: str
    occurrence: str
    target: dt.date
    status: VisitStatus

    @property
    def status_text(self) -> str:
        return self.status.value.replace("_", " ")

    def __str__(self) -> str:
        return f"{self.name} {self.occurrence} · {self.target} ({self.status_text})"


def next_due(subjects: Sequence[Subject], today: dt.date) -> dict[int, NextDue]:
    """The earliest open visit, not yet missed, of each subject that may be contacted: one query."""
    ids = [s.pk for s in subjects if may_contact(s.status, s.death_date)]
    if not ids:
        return {}
    rows = PlannedVisit.objects.filter(
        subject_id__in=ids,
        performed_on__isnull=True,
        cancelled_reason="",
        not_done_reason="",
        missed_after__gte=today,
    ).order_by("subject_id", "target_date", "event_code", "sequence")
    if connection.vendor == "postgresql":
        rows = rows.distinct("subject_id")
    found: dict[int, NextDue] = {}
    for visit in rows:
        if visit.subject_id in found:
            continue
        found[visit.subject_id] = NextDue(
            visit.name, occurrence_label(visit), visit.target_date, status_on(visit, today).code
        )
    return found


def attach_next_due(subjects: Iterable[Subject], today: dt.date) -> list[Subject]:
    """Set `subject.next_due` (a NextDue or None) on each subject, for the site subject list."""
    subjects = list(subjects)
    due = next_due(subjects, today)
    for subject in subjects:
        subject.next_due = due.get(subject.pk)
    return subjects
