"""A subject's saved forms as the input of the rule engines (crf.rules.expressions.SubjectData).

Pure Python: no Django import. "Latest" means latest in clinical time: instances are ordered by
the first date item of their data, then by their place in the schedule, so an unscheduled visit
entered today for an old lab result does not shadow a newer scheduled one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crf.rules.expressions import SubjectData
from crf.study_forms import StudyForms


@dataclass(frozen=True)
class StoredForm:
    pk: int
    form_code: str
    event_code: str
    event_repeat: int
    form_repeat: int
    data: Mapping[str, Any]


def first_date(form: Mapping[str, Any], data: Mapping[str, Any]) -> dt.date | None:
    for item in form.get("items", []):
        if item["type"] == "date" and data.get(item["code"]):
            return dt.date.fromisoformat(data[item["code"]])
    return None


def clinical_order(forms: StudyForms, stored: Iterable[StoredForm]) -> list[StoredForm]:
    position = {code: index for index, code in enumerate(forms.event_order)}

    def key(s: StoredForm) -> tuple:
        when = first_date(forms.forms.get(s.form_code, {}), s.data)
        return (
            when or dt.date.min,
            position.get(s.event_code, len(position)),
            s.event_repeat,
            s.form_repeat,
            s.pk,
        )

    return sorted(stored, key=key)


def build_subject_data(
    forms: StudyForms, stored: Sequence[StoredForm], context: Mapping[str, dt.date]
) -> SubjectData:
    by_form: dict[str, list[StoredForm]] = {}
    for s in clinical_order(forms, stored):
        by_form.setdefault(s.form_code, []).append(s)
    latest: dict[str, Mapping[str, Any]] = {}
    rows: dict[str, list[Mapping[str, Any]]] = {}
    history: dict[str, list[Mapping[str, Any]]] = {}
    for code, instances in by_form.items():
        form = forms.forms.get(code, {})
        if form.get("repeating"):
            rows[code] = [s.data for s in instances]
            continue
        latest[code] = instances[-1].data
        history[code] = [s.data for s in instances]
        for group in form.get("groups", []):
            if group["code"] in instances[-1].data:
                rows[f"{code}.{group['code']}"] = instances[-1].data[group["code"]]
    return SubjectData(forms=latest, rows=rows, context=dict(context), history=history)


def first_dose_date(forms: StudyForms, stored: Iterable[StoredForm]) -> dt.date | None:
    """The earliest date on a treatment form (induction or maintenance dosing)."""
    treatment = {f["code"] for f in forms.forms_of_kind("treatment")}
    dates = [
        d
        for s in stored
        if s.form_code in treatment
        and (d := first_date(forms.forms[s.form_code], s.data)) is not None
    ]
    return min(dates) if dates else None


def rule_references(rule: Any, own_form: str | None = None) -> tuple[set[str], set[str]]:
    """Form codes a rule reads besides `own_form`, and the subject context dates it reads."""
    forms: set[str] = set()
    context: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for part in node:
                walk(part)
            return
        if not isinstance(node, dict):
            return
        for op, arg in node.items():
            if op == "context":
                context.add(str(arg))
            elif op == "item" and isinstance(arg, str) and "." in arg:
                forms.add(arg.split(".", 1)[0])
            elif op in {"count", "exists"} and isinstance(arg, dict):
                group = str(arg.get("group", ""))
                forms.add(group.split(".", 1)[0])
                walk(arg.get("where"))
            elif op == "latest_within" and isinstance(arg, dict):
                for key in ("item", "date_item"):
                    if isinstance(arg.get(key), str) and "." in arg[key]:
                        forms.add(arg[key].split(".", 1)[0])
                walk(arg.get("ref"))
            else:
                walk(arg)

    walk(rule)
    forms.discard(own_form or "")
    return forms, context
