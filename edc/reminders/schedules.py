"""A subject's schedule in the database: its study schedule, its replayed state, and the stored
visits brought in line with the plan. Used by the write services; never writes on its own
without a caller's transaction and subject lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import audit_row
from edc.errors import DomainError
from edc.phrases import Phrase, in_language
from edc.reminders.event_codec import decode, encode
from edc.reminders.models import OPEN_AND_ACTIVE, PlannedVisit, ScheduleEvent
from edc.reminders.timeline import window_dates
from edc.schedule.definition import DefinitionError, ScheduleDefinition, from_definition
from edc.schedule.events import SAME_DAY_ORDER, ClinicalEvent
from edc.schedule.planning import PlannedVisit as Planned
from edc.schedule.planning import plan
from edc.schedule.reconcile import TargetChange, reconcile
from edc.schedule.state import SubjectScheduleState, initial_state
from edc.schedule.stop_rules import ScheduleEventError, apply_event
from edc.schedule.windows import VisitStatus, status_on
from edc.studies.models import ProtocolVersion
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
            # A phrase: stored as its English text, shown in the reader's language.
            conflicts[row.pk] = exc.phrase
    return Replay(state, conflicts)


def check_applies(definition: ScheduleDefinition, rows: Sequence[ScheduleEvent]) -> None:
    """Raise ScheduleConflict if the last row (the new event) does not fit the others."""
    new = rows[-1]
    conflicts = replay_rows(definition, rows).conflicts
    if new.pk in conflicts:
        conflict = conflicts[new.pk]
        raise ScheduleConflict(in_language(conflict) if isinstance(conflict, Phrase) else conflict)


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
        self.rows.append(
            audit_row(
                self.ctx,
                action,
                object_type=object_type,
                object_id=object_id,
                item=item,
                old=old,
                new=new,
                at=self.at,
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
        return [v for v in self.completed if out_of_window(v)]


def out_of_window(visit: PlannedVisit) -> bool:
    return (
        visit.performed_on is not None
        and status_on(visit, visit.performed_on).code == VisitStatus.COMPLETED_OUT_OF_WINDOW
    )


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
    recheck: set[int] = set()  # visits whose status may have changed with their facts

    for change in changes.move:
        visit = stored[(change.event_code, change.sequence)]
        _set_target(visit, change.new_target)
        dirty[visit.pk] = visit
        recheck.add(visit.pk)
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
        with status_change(visit, today, audit):
            visit.cancelled_reason = str(cancellation.reason or NO_LONGER_PLANNED)
        dirty[visit.pk] = visit
        result.cancelled += 1
    for closed in changes.mark_not_done:
        visit = stored[closed.key]
        with status_change(visit, today, audit):
            visit.not_done_reason = closed.not_done_reason or "not done"
        dirty[visit.pk] = visit
    for given in changes.mark_performed:
        visit = stored[given.key]
        with status_change(visit, today, audit):
            visit.performed_on = given.performed_on
        dirty[visit.pk] = visit
        result.completed.append(visit)
    for visit_plan in planned:
        visit = stored.get(visit_plan.key)
        if visit is None or visit_plan.cancelled:
            continue
        # reconcile never reinstates; a voided stop event (a corrected entry) must.
        if visit.cancelled and visit.performed_on is None:
            audit.visit("visit_reinstated", visit, "cancelled_reason", visit.cancelled_reason, None)
            with status_change(visit, today, audit):
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
            dirty[visit.pk] = visit
            recheck.add(visit.pk)
        # An edited dose date re-evaluates completed vs completed out of window (§4.2).
        if (
            visit_plan.performed_on
            and visit.performed_on
            and visit.performed_on != visit_plan.performed_on
        ):
            with status_change(visit, today, audit):
                audit.visit(
                    "visit_performed_date_changed",
                    visit,
                    "performed_on",
                    _iso(visit.performed_on),
                    _iso(visit_plan.performed_on),
                )
                visit.performed_on = visit_plan.performed_on
            dirty[visit.pk] = visit
            result.completed.append(visit)
        if visit.reminders_paused != visit_plan.reminders_paused or visit.cycle != visit_plan.cycle:
            if visit.reminders_paused != visit_plan.reminders_paused:
                audit.visit(
                    "visit_reminders_paused",
                    visit,
                    "reminders_paused",
                    visit.reminders_paused,
                    visit_plan.reminders_paused,
                )
            visit.reminders_paused = visit_plan.reminders_paused
            visit.cycle = visit_plan.cycle
            dirty[visit.pk] = visit
            recheck.add(visit.pk)

    for visit in dirty.values():
        visit.row_version += 1
    if dirty:
        PlannedVisit.objects.bulk_update(
            list(dirty.values()),
            [
                "target_date", "window_start", "window_end", "reminder_from", "missed_after",
                "performed_on", "not_done_reason", "cancelled_reason", "reminders_paused", "cycle",
                "row_version",
            ],
        )  # fmt: skip
    created = [_new_visit(subject, p, today) for p in changes.create]
    if created:
        PlannedVisit.objects.bulk_create(created)
        for visit in created:
            audit.visit("visit_planned", visit, "target", None, _iso(visit.target_date))
            if not visit.is_open:
                audit.visit(
                    "visit_status", visit, "status", None, status_on(visit, today).code.value
                )
            if visit.performed_on:
                result.completed.append(visit)
    result.created = len(created)
    recheck |= {v.pk for v in created}
    done = [v for v in result.completed if v.performed_on is not None]
    mark_for_recheck(PlannedVisit.objects.filter(subject=subject), today, recheck, done)
    return result


def mark_for_recheck(
    visits, today: dt.date, pks: Iterable[int], done: Iterable[PlannedVisit] = ()
) -> None:
    """Have the next scan evaluate these open visits whatever the day, and the open earlier
    occurrences of each visit just done (a later completed occurrence makes them missed, §4.2)."""
    which = Q(pk__in=list(pks))
    for visit in done:
        which |= Q(event_code=visit.event_code, sequence__lt=visit.sequence)
    visits.filter(which).filter(OPEN_AND_ACTIVE).filter(
        Q(recheck_on__isnull=True) | Q(recheck_on__gt=today)
    ).update(recheck_on=today, row_version=F("row_version") + 1)


@contextmanager
def status_change(visit: PlannedVisit, today: dt.date, audit: AuditBatch) -> Iterator[None]:
    """Audit the status change the facts changed inside the block cause (a done, cancelled or
    not-done visit has its final status at once; no reminder follows it: a site that marks a
    visit not done needs no message that it was missed)."""
    before = status_on(visit, today).code
    yield
    after = status_on(visit, today).code
    if after != before:
        audit.visit("visit_status", visit, "status", before.value, after.value)


def settle_performed(
    visit: PlannedVisit, performed_on: dt.date, today: dt.date, audit: AuditBatch
) -> None:
    with status_change(visit, today, audit):
        audit.visit(
            "visit_performed", visit, "performed_on", _iso(visit.performed_on), _iso(performed_on)
        )
        visit.performed_on = performed_on


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
    )
    _set_target(visit, planned.target)
    visit.recheck_on = today if visit.is_open and not visit.reminders_paused else None
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
    return ScheduleEvent(
        subject=subject,
        kind=kind,
        on=on,
        payload=payload,
        source=source,
        recorded_at=timezone.now(),
        recorded_by=ctx.actor,
    )
