"""Clinical events of the schedule engine as stored rows (kind, date, payload) and back.

Pure Python, no Django. A stored row must turn back into exactly the event that was recorded, so
every field type of every event class is handled explicitly and anything unknown is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, get_args

from edc.schedule.definition import Anchor
from edc.schedule.events import (
    ClinicalEvent,
    DiscontinuationReason,
    ProgressionSite,
    WithdrawalScope,
)

EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in get_args(ClinicalEvent)}

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "corrected_date": dt.date.fromisoformat,
    "site": ProgressionSite,
    "reason": DiscontinuationReason,
    "scope": WithdrawalScope,
    "anchor": Anchor,
    "event_code": str,
    "arm": str,
    "response": str,
    "cycles_tolerated": int,
}


class EventCodecError(ValueError):
    pass


def encode(event: ClinicalEvent) -> tuple[str, dt.date, dict[str, Any]]:
    """(kind, on, payload) with JSON-safe payload values."""
    kind = type(event).__name__
    if kind not in EVENT_TYPES:
        raise EventCodecError(f"{kind} is not a schedule event")
    payload: dict[str, Any] = {}
    for field in dataclasses.fields(event):
        if field.name == "on":
            continue
        value = getattr(event, field.name)
        if isinstance(value, StrEnum):
            value = value.value
        elif isinstance(value, dt.date):
            value = value.isoformat()
        payload[field.name] = value
    return kind, event.on, payload


def decode(kind: str, on: dt.date, payload: Mapping[str, Any]) -> ClinicalEvent:
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise EventCodecError(f"unknown schedule event kind {kind!r}")
    names = [f.name for f in dataclasses.fields(cls) if f.name != "on"]
    missing = [name for name in names if name not in payload]
    extra = sorted(set(payload) - set(names))
    if missing or extra:
        raise EventCodecError(f"{kind}: missing {missing}, unexpected {extra}")
    try:
        values = {name: _DECODERS[name](payload[name]) for name in names}
    except (KeyError, ValueError, TypeError) as exc:
        raise EventCodecError(f"{kind}: {exc}") from None
    return cls(on=on, **values)


def describe(event: ClinicalEvent) -> str:
    """A short human label, e.g. "DoseGiven MAINT 2026-05-04"."""
    kind, on, payload = encode(event)
    details = " ".join(str(v) for v in payload.values())
    return f"{kind} {details} {on.isoformat()}".replace("  ", " ")
