"""Planning: the visits a subject's schedule holds, from the study definition and the schedule state.

`plan(state)` is independent of `today` and of visit statuses: it lists every occurrence the
schedule has produced so far (past and future) with its target and window, marking the ones a
stop rule cancelled. Imaging and follow-up calendars are fixed from their anchor (never from
dosing dates); dosing rolls from the previous actual dose, so only the next dose is planned.
Pure Python, no Django.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from edc.schedule.dates import add_days
from edc.schedule.definition import Anchor, EventDefinition, EventKind, Phase, Track
from edc.schedule.dosing import SeriesState, outlook
from edc.schedule.state import DoseOutcome, StopReason, SubjectScheduleState, TrackStop
from edc.schedule.stop_rules import reminders_allowed

NOT_DONE_REASONS = {
    DoseOutcome.HELD: "dose held for toxicity",
    DoseOutcome.SKIPPED: "cycle skipped",
}


@dataclass(frozen=True)
class PlannedVisit:
    event_code: str
    sequence: int  # 1-based occurrence number within the event: the stable key with event_code
    name: str
    kind: EventKind
    phase: Phase
    anchor: Anchor
    target: dt.date
    window_before: int
    window_after: int
    lead_days: int
    grace_days: int
    forms: tuple[str, ...] = ()
    cycle: int | None = (
        None  # dosing: the cycle this occurrence is or would be (held doses create none)
    )
    performed_on: dt.date | None = None  # dosing: the date the dose was given
    not_done_reason: str | None = None  # dosing occurrence closed without a dose
    reminders_paused: bool = False  # dosing on hold
    cancelled_by: StopReason | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.event_code, self.sequence)

    @property
    def window_start(self) -> dt.date:
        return add_days(self.target, -self.window_before)

    @property
    def window_end(self) -> dt.date:
        return add_days(self.target, self.window_after)

    @property
    def not_done(self) -> bool:
        return self.not_done_reason is not None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_by is not None


def plan(state: SubjectScheduleState) -> list[PlannedVisit]:
    """Every occurrence of every event that applies to the subject, ordered by target date."""
    definition = state.definition
    order = {event.code: index for index, event in enumerate(definition.events)}
    visits: list[PlannedVisit] = []
    for event in definition.events:
        if not event.schedulable or not event.applies_to(state.arm):
            continue
        if event.kind == EventKind.DOSING:
            visits.extend(_dosing_visits(state, event))
        else:
            visits.extend(_calendar_visits(state, event))
    return sorted(visits, key=lambda v: (v.target, order[v.event_code], v.sequence))


def visit_reminders_allowed(state: SubjectScheduleState, visit: PlannedVisit) -> bool:
    """Guard for the reminder job: the subject may be contacted and this visit is still expected."""
    return (
        reminders_allowed(state)
        and not visit.cancelled
        and not visit.not_done
        and not visit.reminders_paused
        and visit.performed_on is None
    )


def calendar_targets(state: SubjectScheduleState, event: EventDefinition) -> list[dt.date]:
    """Fixed-calendar targets: anchor + offset + k × interval, within max_count and the cap dates."""
    base = state.anchors.get(event.anchor)
    if base is None:
        return []
    first = add_days(base, event.offset_days)
    repeat = event.repeat
    if repeat is None:
        return [first]
    caps = []
    if repeat.max_duration is not None:
        caps.append(repeat.max_duration.after(base))
    if repeat.until_days is not None:
        caps.append(add_days(base, repeat.until_days))
    cap = min(caps) if caps else None
    targets: list[dt.date] = []
    while repeat.max_count is None or len(targets) < repeat.max_count:
        target = add_days(first, len(targets) * repeat.interval_days)
        if cap is not None and target > cap:
            break
        targets.append(target)
    return targets


def _calendar_visits(state: SubjectScheduleState, event: EventDefinition) -> list[PlannedVisit]:
    stops = _stops_for(state, event)
    return [
        _visit(event, sequence, target, cancelled_by=_cancellation(stops, event, target))
        for sequence, target in enumerate(calendar_targets(state, event), start=1)
    ]


def _dosing_visits(state: SubjectScheduleState, event: EventDefinition) -> list[PlannedVisit]:
    series = state.series(event.code)
    visits: list[PlannedVisit] = []
    doses_before = 0
    for sequence, closed in enumerate(series.closed, start=1):
        given = closed.outcome == DoseOutcome.GIVEN
        visits.append(
            _visit(
                event,
                sequence,
                closed.target,
                cycle=doses_before + 1,
                performed_on=closed.on if given else None,
                not_done_reason=None if given else NOT_DONE_REASONS[closed.outcome],
            )
        )
        doses_before += given
    view = outlook(state, event)
    if view.state == SeriesState.OPEN and view.pending_target is not None:
        visits.append(
            _visit(
                event,
                len(series.closed) + 1,
                view.pending_target,
                cycle=doses_before + 1,
                reminders_paused=series.held_since is not None,
                cancelled_by=_cancellation(_stops_for(state, event), event, view.pending_target),
            )
        )
    return visits


def _visit(
    event: EventDefinition,
    sequence: int,
    target: dt.date,
    *,
    cycle: int | None = None,
    performed_on: dt.date | None = None,
    not_done_reason: str | None = None,
    reminders_paused: bool = False,
    cancelled_by: StopReason | None = None,
) -> PlannedVisit:
    return PlannedVisit(
        event_code=event.code,
        sequence=sequence,
        name=event.name,
        kind=event.kind,
        phase=event.phase,
        anchor=event.anchor,
        target=target,
        window_before=event.window.before,
        window_after=event.window.after,
        lead_days=event.lead_days,
        grace_days=event.grace_days,
        forms=event.forms,
        cycle=cycle,
        performed_on=performed_on,
        not_done_reason=not_done_reason,
        reminders_paused=reminders_paused,
        cancelled_by=cancelled_by,
    )


def _stops_for(state: SubjectScheduleState, event: EventDefinition) -> list[TrackStop]:
    stops = [state.study_stop]
    if event.phase == Phase.INDUCTION:
        stops.append(state.induction_stop)
    if event.track == Track.DOSING:
        stops.append(state.dosing_stop)
    elif event.track == Track.IMAGING:
        stops.append(state.imaging_stop)
    return [stop for stop in stops if stop is not None]


def _cancellation(
    stops: list[TrackStop], event: EventDefinition, target: dt.date
) -> StopReason | None:
    """A stop cancels an occurrence that was not yet missed on the stop date (§4.2: missed after T + U + G)."""
    last_open_day = add_days(target, event.window.after + event.grace_days)
    applicable = [stop for stop in stops if stop.on <= last_open_day]
    if not applicable:
        return None
    return min(applicable, key=lambda stop: stop.on).reason
