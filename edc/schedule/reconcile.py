"""What to change in the stored visits so they follow a new plan. Pure Python, no Django.

After an event or an anchor correction the Django layer re-plans and applies these changes, writing
an audit entry per moved target. A target is never moved silently: completed, not-done, cancelled
and past visits keep their stored target and are reported in `kept` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from edc.schedule.planning import PlannedVisit
from edc.schedule.state import StopReason


class StoredVisit(Protocol):
    @property
    def event_code(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def target(self) -> dt.date: ...
    @property
    def performed_on(self) -> dt.date | None: ...
    @property
    def not_done(self) -> bool: ...
    @property
    def cancelled(self) -> bool: ...


@dataclass(frozen=True)
class TargetChange:
    event_code: str
    sequence: int
    old_target: dt.date
    new_target: dt.date


@dataclass(frozen=True)
class Cancellation:
    event_code: str
    sequence: int
    reason: StopReason | None  # None: the occurrence is no longer part of the plan at all


@dataclass(frozen=True)
class VisitChanges:
    create: tuple[PlannedVisit, ...] = ()
    move: tuple[TargetChange, ...] = ()
    cancel: tuple[Cancellation, ...] = ()
    mark_not_done: tuple[
        PlannedVisit, ...
    ] = ()  # dosing occurrences closed by a hold or a skipped cycle
    mark_performed: tuple[PlannedVisit, ...] = ()  # doses the engine knows were given
    kept: tuple[
        TargetChange, ...
    ] = ()  # plan differs, stored target kept (done, closed or past): review

    @property
    def empty(self) -> bool:
        return not (
            self.create
            or self.move
            or self.cancel
            or self.mark_not_done
            or self.mark_performed
            or self.kept
        )


def reconcile(
    stored: Iterable[StoredVisit], planned: Sequence[PlannedVisit], today: dt.date
) -> VisitChanges:
    rows = {(row.event_code, row.sequence): row for row in stored}
    create: list[PlannedVisit] = []
    move: list[TargetChange] = []
    cancel: list[Cancellation] = []
    not_done: list[PlannedVisit] = []
    performed: list[PlannedVisit] = []
    kept: list[TargetChange] = []
    for visit in planned:
        row = rows.get(visit.key)
        if row is None:
            if not visit.cancelled:
                create.append(visit)
            continue
        done = row.performed_on is not None
        if visit.cancelled:
            if not done and not row.cancelled:
                cancel.append(Cancellation(visit.event_code, visit.sequence, visit.cancelled_by))
            continue
        if visit.performed_on is not None and not done:
            performed.append(visit)
        elif visit.not_done and not row.not_done and not done:
            not_done.append(visit)
        if visit.target != row.target:
            change = TargetChange(visit.event_code, visit.sequence, row.target, visit.target)
            frozen = done or row.not_done or row.cancelled or row.target < today
            (kept if frozen else move).append(change)
    planned_keys = {visit.key for visit in planned}
    for key, row in rows.items():
        if key not in planned_keys and row.performed_on is None and not row.cancelled:
            cancel.append(Cancellation(key[0], key[1], None))
    return VisitChanges(
        create=tuple(create),
        move=tuple(move),
        cancel=tuple(cancel),
        mark_not_done=tuple(not_done),
        mark_performed=tuple(performed),
        kept=tuple(kept),
    )
