"""A subject's casebook: the visits of the schedule with their forms and each form's status.

Pure Python: no Django import. Statuses: not started, in progress, complete, signed, locked (the
widest applies). The to-do list comes first: forms in progress, and forms not started in a
visit that has begun, in the first visit, or in a visit the schedule says is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crf.study_forms import StudyForms, event_repeats

NOT_STARTED, IN_PROGRESS, COMPLETE, SIGNED, LOCKED = (
    "not_started",
    "in_progress",
    "complete",
    "signed",
    "locked",
)
LABELS = {
    NOT_STARTED: "Not started",
    IN_PROGRESS: "In progress",
    COMPLETE: "Complete",
    SIGNED: "Signed",
    LOCKED: "Locked",
}


@dataclass(frozen=True)
class SavedForm:
    pk: int
    event_code: str
    event_repeat: int
    form_code: str
    form_repeat: int
    status: str  # FormInstance.status


@dataclass
class FormEntry:
    event_code: str
    event_repeat: int
    form_code: str
    form_repeat: int
    name: str
    status: str
    instance_pk: int | None = None
    flags: Any = None
    visit_name: str = ""

    @property
    def status_label(self) -> str:
        return LABELS[self.status]

    @property
    def is_todo(self) -> bool:
        return self.status in (NOT_STARTED, IN_PROGRESS)


@dataclass
class NewForm:
    """A link that opens the next repeat of a repeating form (e.g. another adverse event)."""

    form_code: str
    form_repeat: int
    name: str


@dataclass
class Visit:
    event_code: str
    repeat: int
    name: str
    kind: str
    forms: list[FormEntry] = field(default_factory=list)
    new_forms: list[NewForm] = field(default_factory=list)

    @property
    def started(self) -> bool:
        return any(f.status != NOT_STARTED for f in self.forms)

    @property
    def title(self) -> str:
        return f"{self.name} #{self.repeat}" if self.repeat > 1 else self.name


@dataclass
class NewVisit:
    event_code: str
    repeat: int
    name: str
    first_form: str


@dataclass
class Casebook:
    visits: list[Visit]
    todo: list[FormEntry]
    new_visits: list[NewVisit]


def form_status(saved: SavedForm | None, flags: Any) -> str:
    if saved is None:
        return NOT_STARTED
    if flags is not None and getattr(flags, "locked", None):
        return LOCKED
    if flags is not None and getattr(flags, "signed", False):
        return SIGNED
    return COMPLETE if saved.status == "complete" else IN_PROGRESS


def _max_count(event: Mapping[str, Any]) -> int | None:
    return event.get("repeat", {}).get("max_count")


def build_casebook(
    forms: StudyForms,
    saved: Iterable[SavedForm],
    *,
    flags: Mapping[int, Any] | None = None,
    arm_code: str | None = None,
    due: Iterable[tuple[str, int]] = (),
) -> Casebook:
    flags = flags or {}
    saved = [s for s in saved if s.status != "removed"]
    by_slot = {(s.event_code, s.event_repeat, s.form_code, s.form_repeat): s for s in saved}
    repeats: dict[str, set[int]] = {}
    form_repeats: dict[tuple[str, int, str], set[int]] = {}
    for s in saved:
        repeats.setdefault(s.event_code, set()).add(s.event_repeat)
        form_repeats.setdefault((s.event_code, s.event_repeat, s.form_code), set()).add(
            s.form_repeat
        )
    due_slots = set(due)
    visits: list[Visit] = []
    new_visits: list[NewVisit] = []
    for code in forms.event_order:
        event = forms.events[code]
        existing = sorted(repeats.get(code, set()))
        if event.get("arms") and arm_code not in event["arms"] and not existing:
            continue
        if event_repeats(event):
            shown = existing or ([1] if event.get("kind") != "unscheduled" else [])
            limit = _max_count(event)
            following = (max(shown) + 1) if shown else 1
            # The next occurrence is offered once the latest one has data.
            if (limit is None or following <= limit) and (not shown or max(shown) in existing):
                new_visits.append(NewVisit(code, following, event["name"], event["forms"][0]))
        else:
            shown = [1]
        for repeat in shown:
            visit = Visit(code, repeat, event["name"], event.get("kind", "visit"))
            for form_code in event["forms"]:
                form = forms.forms[form_code]
                numbers = sorted(form_repeats.get((code, repeat, form_code), set()))
                if form.get("repeating"):
                    visit.new_forms.append(
                        NewForm(form_code, (max(numbers) + 1) if numbers else 1, form["name"])
                    )
                    slots = numbers
                else:
                    slots = [1]
                for form_repeat in slots:
                    found = by_slot.get((code, repeat, form_code, form_repeat))
                    visit.forms.append(
                        FormEntry(
                            code,
                            repeat,
                            form_code,
                            form_repeat,
                            form["name"] + (f" #{form_repeat}" if form.get("repeating") else ""),
                            form_status(found, flags.get(found.pk) if found else None),
                            found.pk if found else None,
                            flags.get(found.pk) if found else None,
                            visit.title,
                        )
                    )
            visits.append(visit)
    todo: list[FormEntry] = []
    for position, visit in enumerate(visits):
        wanted = visit.started or position == 0 or (visit.event_code, visit.repeat) in due_slots
        todo += [
            f
            for f in visit.forms
            if f.status == IN_PROGRESS or (wanted and f.status == NOT_STARTED)
        ]
    todo.sort(key=lambda f: f.status != IN_PROGRESS)
    return Casebook(visits, todo, new_visits)
