"""Writing the audit trail. Callers run inside their own transaction, so the audit row and
the change it describes commit or roll back together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError


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


def _row(
    ctx: ChangeContext,
    action: str,
    obj_type: str,
    obj_id: Any,
    scope: dict,
    item: str,
    old: Any,
    new: Any,
    at,
) -> AuditEvent:
    user = ctx.user if ctx.user is not None and ctx.user.is_authenticated else None
    return AuditEvent(
        at=at,
        actor=user,
        actor_username=ctx.username,
        channel=ctx.channel,
        action=action,
        object_type=obj_type,
        object_id="" if obj_id is None else str(obj_id),
        item=item,
        old_value=old,
        new_value=new,
        reason=ctx.reason or "",
        study=scope.get("study"),
        site=scope.get("site"),
        subject=scope.get("subject"),
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
    scope = {"study": study, "site": site, "subject": subject}
    row = _row(ctx, action, object_type, object_id, scope, item, old, new, timezone.now())
    row.save(force_insert=True)
    return row


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
    """One INSERT for every changed item of one object."""
    now = timezone.now()
    scope = {"study": study, "site": site, "subject": subject}
    rows = [
        _row(ctx, action, object_type, object_id, scope, c.item, c.old, c.new, now) for c in changes
    ]
    if rows:
        AuditEvent.objects.bulk_create(rows)
    return rows
