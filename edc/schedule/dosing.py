"""Rolling dosing series: next target and cumulative caps (domain spec §1.6.4, §4.1, §4.3). Pure Python.

A dose target rolls from the previous actual dose; a dose is allowed only while the dose count is
below every applicable maximum and its target is on or before every applicable cap date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from edc.schedule.dates import add_days, add_years
from edc.schedule.definition import Anchor, EventDefinition
from edc.schedule.state import DoseOutcome, DosingSeries, SubjectScheduleState


class SeriesState(StrEnum):
    NOT_STARTED = "not_started"  # anchor date unknown yet
    OPEN = "open"
    CAPPED = "capped"  # maximum number of doses or cap date reached: no further dose


@dataclass(frozen=True)
class DosingOutlook:
    state: SeriesState
    pending_target: dt.date | None = None
    cap_date: dt.date | None = None
    max_doses: int | None = None
    doses_counted: int = 0


def first_target(state: SubjectScheduleState, event: EventDefinition) -> dt.date | None:
    anchor_date = state.anchors.get(event.anchor)
    return None if anchor_date is None else add_days(anchor_date, event.offset_days)


def pending_target(state: SubjectScheduleState, event: EventDefinition) -> dt.date | None:
    """Target of the next occurrence of the series, ignoring caps."""
    series = state.series(event.code)
    if series.next_target_override is not None:
        return series.next_target_override
    if not series.closed:
        return first_target(state, event)
    last = series.closed[-1]
    interval = event.repeat.interval_days if event.repeat else 0
    base = last.on if last.outcome == DoseOutcome.GIVEN else last.target
    return add_days(base, interval)


def outlook(state: SubjectScheduleState, event: EventDefinition) -> DosingOutlook:
    series = state.series(event.code)
    target = pending_target(state, event)
    if target is None:
        return DosingOutlook(SeriesState.NOT_STARTED)
    max_doses, counted = _dose_limit(state, event, series)
    cap = cap_date(state, event)
    capped = (max_doses is not None and counted >= max_doses) or (cap is not None and target > cap)
    return DosingOutlook(
        state=SeriesState.CAPPED if capped else SeriesState.OPEN,
        pending_target=None if capped else target,
        cap_date=cap,
        max_doses=max_doses,
        doses_counted=counted,
    )


def cap_date(state: SubjectScheduleState, event: EventDefinition) -> dt.date | None:
    """Last date on which a dose of this series may be given, or None if uncapped (or cap anchor unknown)."""
    candidates: list[dt.date] = []
    anchor_date = state.anchors.get(event.anchor)
    repeat = event.repeat
    if repeat is not None and anchor_date is not None:
        if repeat.max_duration is not None:
            candidates.append(repeat.max_duration.after(anchor_date))
        if repeat.until_days is not None:
            candidates.append(add_days(anchor_date, repeat.until_days))
    cap = state.definition.treatment_cap
    if cap is not None and cap.max_years is not None and event.is_treatment_dosing:
        cap_anchor = state.anchors.get(cap.anchor)
        if cap_anchor is not None:
            candidates.append(add_years(cap_anchor, cap.max_years))
    return min(candidates) if candidates else None


def _dose_limit(
    state: SubjectScheduleState, event: EventDefinition, series: DosingSeries
) -> tuple[int | None, int]:
    """The binding (maximum, count so far) pair: the one with the fewest doses left."""
    own_max = event.repeat.max_count if event.repeat else 1
    limits: list[tuple[int, int]] = []
    if own_max is not None:
        limits.append((own_max, series.dose_count))
    cap = state.definition.treatment_cap
    if cap is not None and cap.max_doses is not None and event.is_treatment_dosing:
        counted = series.dose_count
        if cap.anchor == Anchor.FIRST_INDUCTION_DOSE:
            counted += sum(
                state.series(other.code).dose_count
                for other in state.definition.events
                if other.is_induction_dosing
            )
        limits.append((cap.max_doses, counted))
    if not limits:
        return None, series.dose_count
    return min(limits, key=lambda pair: pair[0] - pair[1])
