"""A subject's schedule in the database: its study schedule, its replayed state, and the stored
visits brought in line with the plan. Used by the write services; never writes on its own
without a caller's transaction and subject lock."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from edc.reminders.event_codec import decode, encode
from edc.reminders.models import PlannedVisit, ScheduleEvent
from edc.reminders.timeline import next_change, window_dates
from edc.schedule.definition import DefinitionError, ScheduleDefinition, from_definition
from edc.schedule.events import SAME_DAY_ORDER, ClinicalEvent
from edc.schedule.planning import PlannedVisit as Planned
from edc.schedule.planning import plan
from edc.schedule.reconcile import TargetChange, reconcile
from edc.schedule.state import SubjectScheduleState, initial_state
from edc.schedule.stop_rules import ScheduleEventError, apply_event
from edc.schedule.windows import VisitStatus, status_on
from edc.studies.models import ProtocolVersion, Site
from edc.subjects.models import Subject

NO_LONGER_PLANNED = "no_longer_planned"


class ScheduleUnavailable(DomainError):
    status = 409

    def __init__(self, study_code: str, problem: str):
        super().__init__(
            "schedule_invalid",
            "schedule",
            f"the schedule of {study_code} cannot be used for reminders: {problem}",
        )


class ScheduleConflict(DomainError):
    status = 409

    def __init__(self, message: str):
        super().__init__("schedule_conflict", "event", message)


_DEFINITIONS: dict[int, ScheduleDefinition | DefinitionError] = {}


def definition_for(subject: Subject) -> ScheduleDefinition:
    """The schedule of the protocol version the subject is followed under (cached per version:
    a loaded protocol version never changes)."""
    version_id = subject.protocol_version_id
    cached = _DEFINITIONS.get(version_id)
    if cached is None:
        data = ProtocolVersion.objects.values_list("definition", flat=True).get(pk=version_id)
        try:
            cached = from_definition(data)
        except DefinitionError as exc:
            cached = exc
        _DEFINITIONS[version_id] = cached
    if isinstance(cached, DefinitionError):
        raise ScheduleUnavailable(subject.study.code, str(cached))
    return cached


def local_today(site: Site) -> dt.date:
    """Visit statuses are evaluated on the calendar day of the site (domain spec §4.2)."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(site.timezone)).date()


def lock_subject(subject: Subject) -> Subject:
    return (
        Subject.objects.select_for_update(of=("self",))
        .select_related("study", "site")
        .get(pk=subject.pk)
    )


def live_events(subject: Subject) -> list[ScheduleEvent]:
    return list(
        ScheduleEvent.objects.filter(subject=subject, voided_at__isnull=True).order_by("on", "id")
    )


@dataclass(frozen=True)
class Replay:
    state: SubjectScheduleState
    conflicts: dict[int, str]


def replay_rows(definition: ScheduleDefinition, rows: Iterable[ScheduleEvent]) -> Replay:
    """edc.schedule.stop_rules.replay over stored rows, leaving out (and reporting) the events
    the engine refuses instead of failing the whole subject."""
    decoded = sorted(
        ((row, decode(row.kind, row.on, row.payload)) for row in rows),
        key=lambda pair: (pair[1].on, SAME_DAY_ORDER[type(pair[1])], pair[0].pk),
    )
    state = initial_state(definition)
    conflicts: dict[int, str] = {}
    for row, event in decoded:
        try:
            state = apply_event(state, event)
        except ScheduleEventError as exc:
            conflicts[row.pk] = str(exc)
    return Replay(state, conflicts)


def check_applies(definition: ScheduleDefinition, rows: Sequence[ScheduleEvent]) -> None:
    """Raise ScheduleConflict if the last row (the new event) does not fit the others."""
    new = rows[-1]
    conflicts = replay_rows(definition, rows).conflicts
    if new.pk in conflicts:
        raise ScheduleConflict(conflicts[new.pk])


class AuditBatch:
    """Audit rows of one schedule change, written with one INSERT."""

    def __init__(self, ctx: ChangeContext, subject: Subject):
        self.ctx = ctx
        self.subject = subject
        self.at = timezone.now()
        self.rows: list[AuditEvent] = []

    def add(
        self, action: str, object_type: str, object_id: Any, item: str, old: Any, new: Any
    ) -> None:
        user = self.ctx.user
        self.rows.append(
            AuditEvent(
                at=self.at,
                actor=user if user is not None and user.is_authenticated else None,
                actor_username=self.ctx.username,
                channel=self.ctx.channel,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                item=item,
                old_value=old,
                new_value=new,
                reason=self.ctx.reason or "",
                study_id=self.subject.study_id,
                site_id=self.subject.site_id,
                subject_id=self.subject.pk,
            )
        )

    def visit(self, action: str, visit: PlannedVisit, item: str, old: Any, new: Any) -> None:
        self.add(
            action, "reminders.PlannedVisit", visit.pk, f"{visit_label(visit)} {item}", old, new
        )

    def flush(self) -> None:
        if self.rows:
            AuditEvent.objects.bulk_create(self.rows)
            self.rows = []


def visit_label(visit: PlannedVisit | Planned) -> str:
    return f"{visit.event_code}#{visit.sequence}"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass
class SyncResult:
    created: int = 0
    moved: list[TargetChange] = field(default_factory=list)
    kept: list[TargetChange] = field(default_factory=list)
    cancelled: int = 0
    completed: list[PlannedVisit] = field(default_factory=list)
    conflicts: dict[int, str] = field(default_factory=dict)

    @property
    def out_of_window(self) -> list[PlannedVisit]:
        return [v for v in self.completed if v.status == VisitStatus.COMPLETED_OUT_OF_WINDOW]


def sync_visits(
    ctx: ChangeContext,
    subject: Subject,
    definition: ScheduleDefinition,
    rows: Sequence[ScheduleEvent],
    today: dt.date,
    audit: AuditBatch,
) -> SyncResult:
    """Bring the stored visits in line with the plan of the replayed events (domain spec §4.5:
    every moved target is audited; done, closed and past visits keep their stored target)."""
    replayed = replay_rows(definition, rows)
    result = SyncResult(conflicts=replayed.conflicts)
    _store_conflicts(rows, replayed.conflicts, audit)
    planned = plan(replayed.state)
    stored = {
        (v.event_code, v.sequence): v
        for v in PlannedVisit.objects.filter(subject=subject).order_by("event_code", "sequence")
    }
    changes = reconcile(stored.values(), planned, today)
    dirty: dict[int, PlannedVisit] = {}

    for change in changes.move:
        visit = stored[(change.event_code, change.sequence)]
        _set_target(visit, change.new_target)
        visit.next_check_on = today
        dirty[visit.pk] = visit
        audit.visit(
            "schedule_target_moved",
            visit,
            "target",
            _iso(change.old_target),
            _iso(change.new_target),
        )
        result.moved.append(change)
    for change in changes.kept:
        visit = stored[(change.event_code, change.sequence)]
        audit.visit(
            "schedule_target_kept",
            visit,
            "target",
            _iso(change.old_target),
            _iso(change.new_target),
        )
        result.kept.append(change)
    for cancellation in changes.cancel:
        visit = stored[(cancellation.event_code, cancellation.sequence)]
        visit.cancelled_reason = str(cancellation.reason or NO_LONGER_PLANNED)
        _settle(visit, today, audit)
        dirty[visit.pk] = visit
        result.cancelled += 1
    for closed in changes.mark_not_done:
        visit = stored[closed.key]
        visit.not_done_reason = closed.not_done_reason or "not done"
        _settle(visit, today, audit)
        dirty[visit.pk] = visit
    for given in changes.mark_performed:
        visit = stored[given.key]
        visit.performed_on = given.performed_on
        _settle(visit, today, audit)
        dirty[visit.pk] = visit
        result.completed.append(visit)
    for visit_plan in planned:
        visit = stored.get(visit_plan.key)
        if visit is None or visit_plan.cancelled:
            continue
        # reconcile never reinstates; a voided stop event (a corrected entry) must.
        if visit.cancelled and visit.performed_on is None:
            audit.visit("visit_reinstated", visit, "cancelled_reason", visit.cancelled_reason, None)
            visit.cancelled_reason = ""
            if visit.target_date != visit_plan.target and visit_plan.target >= today:
                audit.visit(
                    "schedule_target_moved",
                    visit,
                    "target",
                    _iso(visit.target_date),
                    _iso(visit_plan.target),
                )
                _set_target(visit, visit_plan.target)
            audit.visit("visit_status", visit, "status", visit.status or None, None)
            visit.status, visit.status_changed_on, visit.next_check_on = "", today, today
            dirty[visit.pk] = visit
        # An edited dose date re-evaluates completed vs completed out of window (§4.2).
        if (
            visit_plan.performed_on
            and visit.performed_on
            and visit.performed_on != visit_plan.performed_on
        ):
            audit.visit(
                "visit_performed_date_changed",
                visit,
                "performed_on",
                _iso(visit.performed_on),
                _iso(visit_plan.performed_on),
            )
            visit.performed_on = visit_plan.performed_on
            _settle(visit, today, audit)
            dirty[visit.pk] = visit
            result.completed.append(visit)
        if visit.reminders_paused != visit_plan.reminders_paused or visit.cycle != visit_plan.cycle:
            visit.reminders_paused = visit_plan.reminders_paused
            visit.cycle = visit_plan.cycle
            if visit.is_open:
                visit.next_check_on = None if visit.reminders_paused else today
            dirty[visit.pk] = visit

    for visit in dirty.values():
        visit.row_version += 1
    if dirty:
        PlannedVisit.objects.bulk_update(
            list(dirty.values()),
            [
                "target_date",
                "window_start",
                "window_end",
                "reminder_from",
                "missed_after",
                "performed_on",
                "not_done_reason",
                "cancelled_reason",
                "reminders_paused",
                "cycle",
                "status",
                "status_changed_on",
                "next_check_on",
                "row_version",
            ],
        )
    created = [_new_visit(subject, p, today) for p in changes.create]
    if created:
        PlannedVisit.objects.bulk_create(created)
        for visit in created:
            audit.visit("visit_planned", visit, "target", None, _iso(visit.target_date))
            if visit.status:
                audit.visit("visit_status", visit, "status", None, visit.status)
            if visit.performed_on:
                result.completed.append(visit)
    result.created = len(created)
    # A later completed occurrence, a moved target or a new anchor can change statuses of visits
    # the scan is not due to look at yet: have it look at every open visit of the subject.
    PlannedVisit.objects.filter(
        Q(next_check_on__isnull=True) | Q(next_check_on__gt=today),
        subject=subject,
        performed_on__isnull=True,
        cancelled_reason="",
        not_done_reason="",
        reminders_paused=False,
    ).update(next_check_on=today)
    return result


def settle_performed(
    visit: PlannedVisit, performed_on: dt.date, today: dt.date, audit: AuditBatch
) -> None:
    audit.visit(
        "visit_performed", visit, "performed_on", _iso(visit.performed_on), _iso(performed_on)
    )
    visit.performed_on = performed_on
    _settle(visit, today, audit)


def _settle(visit: PlannedVisit, today: dt.date, audit: AuditBatch) -> None:
    """A visit that is done, cancelled or not done has its final status now: no reminder follows
    (a site that marks a visit not done needs no message that it was missed)."""
    status = status_on(visit, today).code
    if status != visit.status:
        audit.visit("visit_status", visit, "status", visit.status or None, status.value)
        visit.status = status.value
        visit.status_changed_on = today
    visit.next_check_on = next_change(visit, today)


def _set_target(visit: PlannedVisit, target: dt.date) -> None:
    visit.target_date = target
    dates = window_dates(
        target, visit.window_before, visit.window_after, visit.lead_days, visit.grace_days
    )
    visit.window_start = dates.window_start
    visit.window_end = dates.window_end
    visit.reminder_from = dates.reminder_from
    visit.missed_after = dates.missed_after


def _new_visit(subject: Subject, planned: Planned, today: dt.date) -> PlannedVisit:
    visit = PlannedVisit(
        subject=subject,
        study_id=subject.study_id,
        site_id=subject.site_id,
        event_code=planned.event_code,
        sequence=planned.sequence,
        name=planned.name[:200],
        kind=planned.kind.value,
        cycle=planned.cycle,
        window_before=planned.window_before,
        window_after=planned.window_after,
        lead_days=planned.lead_days,
        grace_days=planned.grace_days,
        performed_on=planned.performed_on,
        not_done_reason=planned.not_done_reason or "",
        reminders_paused=planned.reminders_paused,
        status="",
    )
    _set_target(visit, planned.target)
    if not visit.is_open:
        status = status_on(visit, today).code
        visit.status = status.value
        visit.status_changed_on = today
        visit.next_check_on = None
    else:
        visit.next_check_on = None if visit.reminders_paused else today
    return visit


def _store_conflicts(
    rows: Sequence[ScheduleEvent], conflicts: dict[int, str], audit: AuditBatch
) -> None:
    changed = []
    for row in rows:
        text = conflicts.get(row.pk, "")
        if row.conflict != text:
            audit.add(
                "schedule_event_conflict",
                "reminders.ScheduleEvent",
                row.pk,
                row.kind,
                row.conflict or None,
                text or None,
            )
            row.conflict = text
            changed.append(row)
    if changed:
        ScheduleEvent.objects.bulk_update(changed, ["conflict"])


def event_row(
    ctx: ChangeContext, subject: Subject, event: ClinicalEvent, source: str
) -> ScheduleEvent:
    kind, on, payload = encode(event)
    user = ctx.user if ctx.user is not None and ctx.user.is_authenticated else None
    return ScheduleEvent(
        subject=subject,
        kind=kind,
        on=on,
        payload=payload,
        source=source,
        recorded_at=timezone.now(),
        recorded_by=user,
    )
