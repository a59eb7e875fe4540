"""Writing the audit trail. Callers run inside their own transaction, so the audit row and
the change it describes commit or roll back together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from edc.text_limits import REASON_MAX_LENGTH, check_length


class ReasonRequired(DomainError):
    """A change to data that was already saved needs a reason."""

    def __init__(self, field: str = "reason"):
        super().__init__(
            "reason_required", field, "a reason for change is required to change saved data"
        )


def require_reason(ctx: ChangeContext) -> str:
    reason = (ctx.reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason


@dataclass(frozen=True)
class Change:
    item: str
    old: Any
    new: Any


def audit_row(
    ctx: ChangeContext,
    action: str,
    *,
    object_type: str,
    object_id: Any = None,
    item: str = "",
    old: Any = None,
    new: Any = None,
    at: dt.datetime,
    **scope: Any,
) -> AuditEvent:
    """An unsaved audit row, for callers that write many rows about several objects with one
    ``bulk_create``. `scope` is study/site/subject (objects) or study_id/site_id/subject_id."""
    for name in ("study", "site", "subject"):
        if name not in scope and f"{name}_id" not in scope:
            scope[name] = None
    return AuditEvent(
        at=at,
        actor=ctx.actor,
        actor_username=ctx.username,
        channel=ctx.channel,
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        item=item,
        old_value=old,
        new_value=new,
        reason=check_length(ctx.reason or "", "reason", REASON_MAX_LENGTH),
        **scope,
    )


def record(
    ctx: ChangeContext,
    action: str,
    *,
    object_type: str,
    object_id: Any = None,
    item: str = "",
    old: Any = None,
    new: Any = None,
    study=None,
    site=None,
    subject=None,
) -> AuditEvent:
    row = audit_row(
        ctx,
        action,
        object_type=object_type,
        object_id=object_id,
        item=item,
        old=old,
        new=new,
        at=timezone.now(),
        study=study,
        site=site,
        subject=subject,
    )
    row.save(force_insert=True)
    return row


def apply_changes(obj: Any, values: Mapping[str, Any]) -> list[Change]:
    """Set ``values`` on ``obj`` (not saved) and return a Change for each field whose value
    differs from what ``obj`` held: what its audit rows record."""
    changes = [
        Change(name, getattr(obj, name), value)
        for name, value in values.items()
        if getattr(obj, name) != value
    ]
    for name, value in values.items():
        setattr(obj, name, value)
    return changes


def change_rows(
    ctx: ChangeContext,
    action: str,
    changes: Iterable[Change],
    *,
    object_type: str,
    object_id: Any,
    at: dt.datetime,
    **scope: Any,
) -> list[AuditEvent]:
    """Unsaved rows, one per changed item of one object, for callers that insert the rows of
    several objects with one ``bulk_create``. `scope` as for ``audit_row``."""
    return [
        audit_row(
            ctx,
            action,
            object_type=object_type,
            object_id=object_id,
            item=c.item,
            old=c.old,
            new=c.new,
            at=at,
            **scope,
        )
        for c in changes
    ]


def record_changes(
    ctx: ChangeContext,
    action: str,
    changes: Iterable[Change],
    *,
    object_type: str,
    object_id: Any,
    study=None,
    site=None,
    subject=None,
) -> list[AuditEvent]:
    """One INSERT for every changed item of one object. The rows come back with their ids
    (bulk_create returns them on PostgreSQL and SQLite), for a caller that links them, e.g. to
    the query a change answers."""
    rows = change_rows(
        ctx,
        action,
        changes,
        object_type=object_type,
        object_id=object_id,
        at=timezone.now(),
        study=study,
        site=site,
        subject=subject,
    )
    AuditEvent.objects.bulk_create(rows)
    return rows
