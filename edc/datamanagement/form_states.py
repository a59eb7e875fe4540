"""The one state a form shows in the site status grid. Pure Python: no Django import.

A form has a data status (not started, in progress, complete) and data-management marks on top
(an open query, source verification, a signature, a lock). The grid shows the one that says most
about what happens next: a lock ends the story; an open query needs the site before anything
else; a signature is the investigator's word over a monitor's verification; verification over
plain completeness.
"""

from __future__ import annotations

from enum import StrEnum


class FormState(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    OPEN_QUERY = "open_query"
    VERIFIED = "verified"
    SIGNED = "signed"
    LOCKED = "locked"


# Legend order: how a form moves from empty to locked.
ORDER: tuple[FormState, ...] = (
    FormState.NOT_STARTED,
    FormState.IN_PROGRESS,
    FormState.COMPLETE,
    FormState.OPEN_QUERY,
    FormState.VERIFIED,
    FormState.SIGNED,
    FormState.LOCKED,
)

# A symbol per state, so the grid does not rely on colour alone (WCAG 1.4.1).
ICONS: dict[FormState, str] = {
    FormState.NOT_STARTED: "○",
    FormState.IN_PROGRESS: "◐",
    FormState.COMPLETE: "●",
    FormState.OPEN_QUERY: "⚑",
    FormState.VERIFIED: "✓",
    FormState.SIGNED: "✍",
    FormState.LOCKED: "⊠",
}


def form_state(
    status: str | None,
    *,
    locked: bool = False,
    signed: bool = False,
    verified: bool = False,
    open_queries: int = 0,
) -> FormState:
    """`status` is the stored form's status (None or "removed" for a form never saved)."""
    if status in (None, "", "removed"):
        return FormState.NOT_STARTED
    if locked:
        return FormState.LOCKED
    if open_queries:
        return FormState.OPEN_QUERY
    if signed:
        return FormState.SIGNED
    if verified:
        return FormState.VERIFIED
    if status == "complete" or status == "not_done":
        return FormState.COMPLETE
    return FormState.IN_PROGRESS
