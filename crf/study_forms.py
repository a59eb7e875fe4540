"""Looking up forms and visits in a study definition. Pure Python: no Django import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from crf.rules.eligibility import item_labels
from crf.rules.expressions import ItemLabel


class UnknownSlot(LookupError):
    """A visit, form or repeat that the study definition does not have."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StudyForms:
    """An index over one protocol version's definition."""

    definition: Mapping[str, Any]
    forms: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    event_order: tuple[str, ...] = ()

    @classmethod
    def of(cls, definition: Mapping[str, Any]) -> StudyForms:
        events = definition.get("schedule", {}).get("events", [])
        return cls(
            definition=definition,
            forms={f["code"]: f for f in definition.get("forms", [])},
            events={e["code"]: e for e in events},
            event_order=tuple(e["code"] for e in events),
        )

    @property
    def codelists(self) -> dict:
        return self.definition.get("codelists", {})

    @cached_property
    def labels(self) -> dict[str, ItemLabel]:
        """Labels and units by "form.ITEM", for the reasons the rule engines write."""
        return item_labels(self.definition)

    def forms_of_kind(self, kind: str) -> list[dict]:
        return [f for f in self.forms.values() if f.get("kind", "standard") == kind]

    def events_with_form(self, form_code: str) -> list[dict]:
        return [self.events[c] for c in self.event_order if form_code in self.events[c]["forms"]]

    def resolve(
        self, event_code: str, event_repeat: int, form_code: str, form_repeat: int
    ) -> tuple[dict, dict]:
        """The (event, form) of a slot; UnknownSlot when the definition has no such slot."""
        event = self.events.get(event_code)
        if event is None:
            raise UnknownSlot("unknown_event", f"the schedule has no visit {event_code!r}")
        form = self.forms.get(form_code)
        if form is None or form_code not in event["forms"]:
            raise UnknownSlot(
                "unknown_form", f"visit {event_code} has no form {form_code!r} in this protocol"
            )
        if event_repeat < 1 or form_repeat < 1:
            raise UnknownSlot("invalid_repeat", "repeat numbers start at 1")
        if event_repeat > 1 and not event_repeats(event):
            raise UnknownSlot("invalid_repeat", f"visit {event_code} does not repeat")
        if form_repeat > 1 and not form.get("repeating"):
            raise UnknownSlot("invalid_repeat", f"form {form_code} does not repeat within a visit")
        return event, form


def event_repeats(event: Mapping) -> bool:
    return "repeat" in event or event.get("kind") == "unscheduled"
