"""What a form page shows: fields built from the form definition with values, errors and help.

No database, but this is the page layer (the view-model the form template loops over), not a
rule: it renders words in the reader's language, so it uses Django's gettext. The template only
loops over what is built here, so every form renders from its definition in the study file and
nothing about a form is hard-coded in HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from crf.rules.units import display_unit
from crf.validation import ENTERED_SUFFIX, UNIT_SUFFIX, Issue

NUMERIC_INPUT = {"integer": "numeric", "decimal": "decimal"}
PLACEHOLDER = {
    "date": "YYYY-MM-DD",
    # The words between the formats are the reader's; the formats are typed as shown.
    "partial_date": gettext_lazy("YYYY-MM-DD, YYYY-MM or YYYY"),
    "datetime": "YYYY-MM-DD HH:MM",
    "time": "HH:MM",
}
RADIO_MAX_CHOICES = 3
INDEX = "__INDEX__"
NUMBER = "__NUMBER__"


@dataclass
class Choice:
    code: str
    label: str
    selected: bool
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Field:
    item: Mapping[str, Any]
    name: str
    dom_id: str
    path: str
    widget: str  # text, select, radio, checkboxes, derived, term
    value: str = ""
    choices: list[Choice] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    note: str = ""
    row_label: str = ""
    # An item with alternative units: the units the user may pick from (UCUM code, shown).
    unit_choices: list[Choice] = field(default_factory=list)
    queries: list[Any] = field(default_factory=list)  # unresolved queries, set by the page view
    # The lower/upper limit of normal items shown beside a lab result (its lln_item/uln_item).
    limits: list[Field] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.item["code"]

    @property
    def unit_name(self) -> str:
        return self.name + UNIT_SUFFIX

    @property
    def label(self) -> str:
        return self.item["label"]

    @property
    def unit(self) -> str:
        return display_unit(self.item.get("unit", ""))

    @property
    def required(self) -> bool:
        return bool(self.item.get("required")) and not self.item.get("derived")

    @property
    def help(self) -> str:
        return self.item.get("help", "")

    @property
    def inputmode(self) -> str:
        return NUMERIC_INPUT.get(self.item["type"], "")

    @property
    def input_type(self) -> str:
        """A full date gets the browser's date picker; its value is ISO (YYYY-MM-DD) in every
        language. Partial dates (YYYY-MM) and the rest stay text."""
        return "date" if self.item["type"] == "date" else "text"

    @property
    def placeholder(self) -> str:
        return str(PLACEHOLDER.get(self.item["type"], ""))

    @property
    def maxlength(self) -> int | None:
        return self.item.get("max_length")

    @property
    def short_label(self) -> str:
        """The part of "Haemoglobin: lower limit of normal" shown beside the result."""
        head, sep, tail = self.label.partition(": ")
        return tail[:1].upper() + tail[1:] if sep else self.label

    @property
    def label_head(self) -> str:
        head, sep, _ = self.label.partition(": ")
        return head if sep else ""

    @property
    def aria_label(self) -> str:
        return f"{self.label}, {self.row_label}" if self.row_label else self.label

    @property
    def described_by(self) -> str:
        ids = [f"err-{self.dom_id}"]
        if self.help:
            ids.append(f"help-{self.dom_id}")
        return " ".join(ids)


@dataclass
class Section:
    title: str
    fields: list[Field]
    open: bool = True


@dataclass
class GroupTable:
    code: str
    name: str
    columns: list[Mapping[str, Any]]
    rows: list[list[Field]]
    template: list[Field]
    errors: list[str] = field(default_factory=list)
    max_rows: int | None = None


@dataclass
class FormPage:
    sections: list[Section]
    groups: list[GroupTable]
    form_errors: list[str]
    warnings: list[Issue]
    notes: Mapping[str, Any]


def display_value(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def choice_list(item: Mapping[str, Any], codelists: Mapping[str, Any]) -> list[tuple[str, str]]:
    if "choices" in item:
        return [(str(c["code"]), c["label"]) for c in item["choices"]]
    if item["type"] == "boolean":
        return [("true", "Yes"), ("false", "No")]
    return [(str(c["code"]), c["label"]) for c in codelists.get(item.get("codelist", ""), [])]


def _widget(item: Mapping[str, Any], n_choices: int) -> str:
    if item.get("derived"):
        return "derived"
    kind = item["type"]
    if kind == "multichoice":
        return "checkboxes"
    if kind == "boolean" or (
        kind == "choice" and item.get("required") and n_choices <= RADIO_MAX_CHOICES
    ):
        return "radio"
    if kind == "choice":
        return "select"
    return "text"


def make_field(
    item: Mapping[str, Any],
    raw: Any,
    codelists: Mapping[str, Any],
    *,
    name: str,
    path: str,
    row_label: str = "",
    raw_unit: str | None = None,
) -> Field:
    options = choice_list(item, codelists)
    widget = _widget(item, len(options))
    chosen = {display_value(v) for v in raw} if isinstance(raw, list) else {display_value(raw)}
    unit_choices = []
    if item.get("alt_units") and not item.get("derived"):
        chosen_unit = raw_unit or item["unit"]
        unit_choices = [
            Choice(code, display_unit(code), code == chosen_unit)
            for code in [item["unit"], *item["alt_units"]]
        ]
    return Field(
        item=item,
        name=name,
        dom_id="f-" + name.replace(".", "-"),
        path=path,
        widget=widget,
        value="" if isinstance(raw, list) else display_value(raw),
        choices=[Choice(code, label, code in chosen) for code, label in options],
        row_label=row_label,
        unit_choices=unit_choices,
    )


def _section_title(label: str) -> str:
    # A Chinese label writes the topic before a full-width colon ("坏死：范围").
    head, sep, _ = label.partition(": ")
    if not sep:
        head, sep, _ = label.partition("：")
    return head if sep and len(head) <= 40 else ""


def sections_of(fields: Sequence[Field]) -> list[Section]:
    """Consecutive items labelled "Topic: ..." form one section; the rest stay untitled."""
    sections: list[Section] = []
    for f in fields:
        title = _section_title(f.label)
        if sections and sections[-1].title == title:
            sections[-1].fields.append(f)
        else:
            sections.append(Section(title, [f]))
    for section in sections:
        if section.title:
            section.open = any(
                f.value or f.choices and any(c.selected for c in f.choices) or f.errors
                for f in section.fields
            )
    return sections


def build_page(
    form: Mapping[str, Any],
    codelists: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    errors: Iterable[Issue] = (),
    warnings: Iterable[Issue] = (),
    notes: Mapping[str, Any] | None = None,
    extra_rows: Mapping[str, int] | None = None,
) -> FormPage:
    """Fields for every item, with `values` (stored or as submitted) and the issues by path."""
    errors, warnings = list(errors), list(warnings)
    notes = notes or {}
    by_path: dict[str, list[Issue]] = {}
    for issue in errors + warnings:
        by_path.setdefault(issue.path, []).append(issue)
    placed: set[int] = set()

    def attach(f: Field) -> Field:
        for issue in by_path.get(f.path, []):
            placed.add(id(issue))
            (f.errors if issue in errors else f.warnings).append(issue.message)
        if f.item.get("derived"):
            f.note = _note_text(notes.get(f.code))
        elif f.code in notes.get("lab_range_text", {}):
            f.note = notes["lab_range_text"][f.code]
        elif f.item.get("planned_dose") and notes.get(f.code):
            f.note = _note_text(notes[f.code])
        elif "lab_grades" in notes and f.code in notes["lab_grades"]:
            suggestion = notes["lab_grades"][f.code]
            if suggestion["grade"] is None:  # the value alone cannot decide (e.g. no LLN yet)
                f.note = gettext("No CTCAE grade suggested yet: %(reason)s") % {
                    "reason": suggestion["reason"]
                }
            else:
                f.note = gettext("Suggested CTCAE grade %(grade)s: %(reason)s") % {
                    "grade": suggestion["grade"],
                    "reason": suggestion["reason"],
                }
        return f

    top = []
    for item in form.get("items", []):
        raw, raw_unit = _as_entered(item, values)
        top.append(
            attach(
                make_field(
                    item, raw, codelists, name=item["code"], path=item["code"], raw_unit=raw_unit
                )
            )
        )
    top = _limits_beside_results(top)
    groups = []
    for group in form.get("groups", []):
        code = group["code"]
        stored = values.get(code) or []
        rows_wanted = len(stored) + (extra_rows or {}).get(code, 0)
        rows = []
        for index in range(max(rows_wanted, 1 if not stored else 0)):
            row = stored[index] if index < len(stored) else {}
            rows.append(
                [
                    attach(
                        make_field(
                            item,
                            row.get(item["code"]) if isinstance(row, Mapping) else None,
                            codelists,
                            name=f"{code}.{index}.{item['code']}",
                            path=f"{code}[{index + 1}].{item['code']}",
                            row_label=gettext("row %(row)s") % {"row": index + 1},
                        )
                    )
                    for item in group["items"]
                ]
            )
        template = [
            make_field(
                item,
                None,
                codelists,
                name=f"{code}.{INDEX}.{item['code']}",
                path="",
                row_label=gettext("row %(row)s") % {"row": NUMBER},
            )
            for item in group["items"]
        ]
        group_errors = []
        for issue in errors + warnings:
            if issue.group == code and (issue.row is None or not issue.item):
                placed.add(id(issue))
                group_errors.append(issue.message)
        groups.append(
            GroupTable(
                code, group["name"], group["items"], rows, template, group_errors, group.get("max")
            )
        )
    form_errors = [i.message for i in errors if id(i) not in placed]
    return FormPage(sections_of(top), groups, form_errors, warnings, notes)


def _as_entered(item: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[Any, str | None]:
    """(value, unit) to show: what was submitted, else what was entered when it was saved (an
    item with alternative units stores the value in its own unit beside what was entered)."""
    code = item["code"]
    if not item.get("alt_units"):
        return values.get(code), None
    if code + UNIT_SUFFIX in values:
        return values.get(code), values[code + UNIT_SUFFIX]
    entered = values.get(code + ENTERED_SUFFIX)
    if isinstance(entered, Mapping):
        return entered.get("value"), entered.get("unit")
    return values.get(code), None


def _limits_beside_results(fields: list[Field]) -> list[Field]:
    """A result's limit-of-normal items move beside it (Field.limits), out of the item list, so
    the LLN and ULN are typed next to the value they qualify."""
    by_code = {f.code: f for f in fields}
    moved: set[str] = set()
    for f in fields:
        for key in ("lln_item", "uln_item"):
            code = f.item.get(key)
            if code in by_code and code not in moved and code != f.code:
                f.limits.append(by_code[code])
                moved.add(code)
    return [f for f in fields if f.code not in moved]


def _note_text(note: Any) -> str:
    if note is None:
        return ""
    if isinstance(note, str):
        return note
    return (
        "; ".join(str(line) for line in note.get("derivation", []))
        if isinstance(note, Mapping)
        else str(note)
    )
