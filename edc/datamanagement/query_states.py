"""The query (data clarification) state machine and who may drive it. Pure Python: no Django import.

open → answered → closed; answered → open when the answer does not resolve it (re-query);
open or answered → cancelled. Closed and cancelled are final. Site roles answer; monitors
and data managers raise, re-query, close and cancel (ICH E6: sponsor-side roles correct site
data only through queries, never by editing it themselves).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from edc.accounts.roles import Permission
from edc.errors import DomainError


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class QueryAction(StrEnum):
    ANSWER = "answer"
    REQUERY = "requery"
    CLOSE = "close"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return "Re-query" if self is QueryAction.REQUERY else self.value.capitalize()


class QuerySource(StrEnum):
    MANUAL = "manual"
    EDIT_CHECK = "edit_check"


TRANSITIONS: dict[tuple[QueryStatus, QueryAction], QueryStatus] = {
    (QueryStatus.OPEN, QueryAction.ANSWER): QueryStatus.ANSWERED,
    (QueryStatus.ANSWERED, QueryAction.REQUERY): QueryStatus.OPEN,
    (QueryStatus.ANSWERED, QueryAction.CLOSE): QueryStatus.CLOSED,
    (QueryStatus.OPEN, QueryAction.CANCEL): QueryStatus.CANCELLED,
    (QueryStatus.ANSWERED, QueryAction.CANCEL): QueryStatus.CANCELLED,
}

REQUIRED_PERMISSION: dict[QueryAction, Permission] = {
    QueryAction.ANSWER: Permission.ANSWER_QUERY,
    QueryAction.REQUERY: Permission.RAISE_QUERY,
    QueryAction.CLOSE: Permission.RAISE_QUERY,
    QueryAction.CANCEL: Permission.RAISE_QUERY,
}

UNRESOLVED: frozenset[QueryStatus] = frozenset({QueryStatus.OPEN, QueryStatus.ANSWERED})

# An answer or a re-query without text says nothing; a cancellation must say why.
TEXT_REQUIRED: frozenset[QueryAction] = frozenset(
    {QueryAction.ANSWER, QueryAction.REQUERY, QueryAction.CANCEL}
)


class IllegalQueryTransition(DomainError):
    status = 409

    def __init__(self, current: str, action: str):
        allowed = ", ".join(a.value for a in actions_from(current)) or "none (it is final)"
        super().__init__(
            "illegal_transition",
            "action",
            f"a query that is {current} does not allow {action!r}; allowed: {allowed}",
        )


def _status(value: str) -> QueryStatus | None:
    return QueryStatus(value) if value in QueryStatus._value2member_map_ else None


def actions_from(current: str) -> list[QueryAction]:
    status = _status(current)
    return [action for (state, action) in TRANSITIONS if state is status]


def next_status(current: str, action: str) -> QueryStatus:
    """The status a query moves to, or IllegalQueryTransition."""
    status = _status(current)
    if status is None or action not in QueryAction._value2member_map_:
        raise IllegalQueryTransition(current, action)
    target = TRANSITIONS.get((status, QueryAction(action)))
    if target is None:
        raise IllegalQueryTransition(current, action)
    return target


def may(action: str, permissions: Iterable[Permission]) -> bool:
    """Whether holding these permissions allows the action (state aside)."""
    if action not in QueryAction._value2member_map_:
        return False
    return REQUIRED_PERMISSION[QueryAction(action)] in set(permissions)


def allowed_actions(current: str, permissions: Iterable[Permission]) -> list[QueryAction]:
    """What a user with these permissions can do to a query in this state, for rendering buttons."""
    held = set(permissions)
    return [a for a in actions_from(current) if REQUIRED_PERMISSION[a] in held]


def is_unresolved(current: str) -> bool:
    return _status(current) in UNRESOLVED
