"""What the exported values mean: the study layout read from its definitions, the codebook and
codelist rows, and the expansion of one stored form into long rows. Pure Python: no Django.

Layout rules, written once here and repeated in the `datasets` table of every export:
- one table per form, long format: one row per item value, keyed by study, site, subject,
  visit, visit repeat, form repeat, repeating group and group row, then item code;
- VALUE is the raw value as stored (codes, decimal strings, ISO dates, partial dates such as
  `2026-05` kept as they are, booleans as `true`/`false`, several codes of a multiple choice
  joined with `|`); LABEL is the label of a coded value, empty for uncoded items;
- items left empty are absent, so a missing-data code that was entered is a row and a blank
  is not; forms marked not done appear in `form_instances` with no value rows.

When a study has several protocol versions, the layout is their union: the newest definition
decides labels and order, and items that exist only in older versions follow.

Names and codes never change with language. Labels are those of the study's first language; the
layout also carries every label in each language the study declares (`texts_of`), for the
codebook's labels table and the ODM file's TranslatedText elements.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from crf.validation import ENTERED_SUFFIX
from edc.exports.tables import FIXED_DATASETS, sas_names
from edc.studies.texts import languages as study_languages
from edc.studies.texts import localized, text_fields

MULTI_SEPARATOR = "|"
NO_UNIT = ("", "", "")

BOOLEAN_LABELS = {"true": "Yes", "false": "No"}
# Codelists of the randomization table; upper case with a dot, so never a study codelist
# (no dot) nor a form's inline choices (lower-case form code).
ALLOCATION_PREFIX = "RANDOMIZATION."


@dataclass(frozen=True)
class ItemSpec:
    form: str
    group: str
    code: str
    order: int
    label: str
    type: str
    unit: str = ""
    alt_units: tuple[str, ...] = ()
    max_length: int | None = None
    decimals: int | None = None
    codelist: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    range_min: float | None = None
    range_max: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    required: bool = False
    derived: bool = False


@dataclass(frozen=True)
class GroupSpec:
    code: str
    name: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class FormSpec:
    code: str
    name: str
    domain: str
    kind: str
    repeating: bool
    dataset: str
    items: tuple[ItemSpec, ...]
    groups: tuple[GroupSpec, ...]

    @property
    def all_items(self) -> tuple[ItemSpec, ...]:
        return self.items + tuple(i for g in self.groups for i in g.items)


@dataclass(frozen=True)
class EventSpec:
    code: str
    name: str
    kind: str
    repeating: bool
    forms: tuple[str, ...]


@dataclass(frozen=True)
class FactorSpec:
    code: str
    name: str
    levels: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StudyLayout:
    code: str
    title: str
    forms: tuple[FormSpec, ...]
    events: tuple[EventSpec, ...]
    codelists: Mapping[str, tuple[tuple[str, str], ...]]
    arms: tuple[tuple[str, str], ...]
    factors: tuple[FactorSpec, ...]
    languages: tuple[str, ...] = ("en",)
    # language -> {text in the first language -> text in that language}
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def texts_of(self, text: str) -> list[tuple[str, str]]:
        """(language, text) of a label in every language of the study, the first language
        first; a text without a translation stays in the first language."""
        first, *others = self.languages
        return [(first, text)] + [
            (lang, self.translations.get(lang, {}).get(text, text)) for lang in others
        ]

    def form(self, code: str) -> FormSpec | None:
        return next((f for f in self.forms if f.code == code), None)

    def event_order(self) -> dict[str, int]:
        return {e.code: i for i, e in enumerate(self.events)}


def _number(value: Any) -> float | None:
    return None if value is None else value


def _choices(item: dict, codelists: Mapping[str, list]) -> tuple[str, dict[str, str]]:
    """(codelist name, code -> label) of a coded item; inline choices get a name of their own."""
    if item.get("type") == "boolean":
        return "BOOLEAN", dict(BOOLEAN_LABELS)
    if "codelist" in item:
        entries = codelists.get(item["codelist"], [])
        return item["codelist"], {str(c["code"]): c["label"] for c in entries}
    if "choices" in item:
        return "", {str(c["code"]): c["label"] for c in item["choices"]}
    return "", {}


def _item_spec(form: str, group: str, item: dict, order: int, codelists: Mapping) -> ItemSpec:
    codelist, labels = _choices(item, codelists)
    if not codelist and labels:
        codelist = f"{form}.{item['code']}"
    rng = item.get("range", {})
    soft = item.get("soft_range", {})
    return ItemSpec(
        form=form,
        group=group,
        code=item["code"],
        order=order,
        label=item.get("label", item["code"]),
        type=item.get("type", "text"),
        unit=item.get("unit", ""),
        alt_units=tuple(item.get("alt_units", ())),
        max_length=item.get("max_length"),
        decimals=item.get("decimals"),
        codelist=codelist,
        labels=labels,
        range_min=_number(rng.get("min")),
        range_max=_number(rng.get("max")),
        soft_min=_number(soft.get("min")),
        soft_max=_number(soft.get("max")),
        required=bool(item.get("required", False)),
        derived=bool(item.get("derived", False)),
    )


def _merge_forms(definitions: list[dict]) -> list[dict]:
    """Forms of every version, newest first wins; items and groups only in older ones follow."""
    merged: dict[str, dict] = {}
    for definition in definitions:
        for form in definition.get("forms", []):
            code = form["code"]
            if code not in merged:
                merged[code] = {
                    **form,
                    "items": list(form.get("items", [])),
                    "groups": [dict(g, items=list(g["items"])) for g in form.get("groups", [])],
                }
                continue
            target = merged[code]
            known = {i["code"] for i in target["items"]}
            known |= {i["code"] for g in target["groups"] for i in g["items"]}
            groups = {g["code"]: g for g in target["groups"]}
            for item in form.get("items", []):
                if item["code"] not in known:
                    target["items"].append(item)
                    known.add(item["code"])
            for group in form.get("groups", []):
                if group["code"] not in groups:
                    fresh = dict(group, items=[i for i in group["items"] if i["code"] not in known])
                    target["groups"].append(fresh)
                    groups[group["code"]] = fresh
                    known |= {i["code"] for i in fresh["items"]}
                    continue
                for item in group["items"]:
                    if item["code"] not in known:
                        groups[group["code"]]["items"].append(item)
                        known.add(item["code"])
    return list(merged.values())


def build_layout(definitions: list[dict]) -> StudyLayout:
    """The export layout of a study from its definitions, newest first."""
    if not definitions:
        raise ValueError("a study layout needs at least one definition")
    langs = tuple(study_languages(definitions[0]))
    translations = _translations(definitions, langs)
    # From here on every text is the first language's (an inline {lang: text} gave its own).
    definitions = [localized(d, langs[0]) for d in definitions]
    newest = definitions[0]
    codelists: dict[str, list] = {}
    events: dict[str, EventSpec] = {}
    arms: dict[str, str] = {}
    factors: dict[str, FactorSpec] = {}
    for definition in definitions:
        for name, entries in definition.get("codelists", {}).items():
            codelists.setdefault(name, entries)
        for event in definition.get("schedule", {}).get("events", []):
            events.setdefault(
                event["code"],
                EventSpec(
                    code=event["code"],
                    name=event.get("name", event["code"]),
                    kind=event.get("kind", "visit"),
                    repeating="repeat" in event or event.get("kind") == "unscheduled",
                    forms=tuple(event.get("forms", [])),
                ),
            )
        for arm in definition.get("arms", []):
            arms.setdefault(arm["code"], arm.get("name", arm["code"]))
        for factor in definition.get("randomization", {}).get("factors", []):
            factors.setdefault(
                factor["code"],
                FactorSpec(
                    factor["code"],
                    factor.get("name", factor["code"]),
                    tuple((str(lv["code"]), lv["label"]) for lv in factor.get("levels", [])),
                ),
            )
    raw_forms = _merge_forms(definitions)
    datasets = sas_names([f["code"] for f in raw_forms], reserved=FIXED_DATASETS.values())
    forms = []
    for form in raw_forms:
        code = form["code"]
        order = 0
        items = []
        for item in form["items"]:
            order += 1
            items.append(_item_spec(code, "", item, order, codelists))
        groups = []
        for group in form["groups"]:
            group_items = []
            for item in group["items"]:
                order += 1
                group_items.append(_item_spec(code, group["code"], item, order, codelists))
            groups.append(
                GroupSpec(group["code"], group.get("name", group["code"]), tuple(group_items))
            )
        forms.append(
            FormSpec(
                code=code,
                name=form.get("name", code),
                domain=form.get("domain", ""),
                kind=form.get("kind", "standard"),
                repeating=bool(form.get("repeating", False)),
                dataset=datasets[code],
                items=tuple(items),
                groups=tuple(groups),
            )
        )
    return StudyLayout(
        code=newest["code"],
        title=newest.get("title", newest["code"]),
        forms=tuple(forms),
        events=tuple(events.values()),
        codelists={
            name: tuple((str(c["code"]), c["label"]) for c in entries)
            for name, entries in codelists.items()
        },
        arms=tuple(arms.items()),
        factors=tuple(factors.values()),
        languages=langs,
        translations=translations,
    )


def _translations(definitions: list[dict], langs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every version's translations, the newest first; inline texts add their own."""
    out: dict[str, dict[str, str]] = {lang: {} for lang in langs[1:]}
    for definition in definitions:
        blocks = definition.get("translations") or {}
        for lang in langs[1:]:
            for text, translated in ((blocks.get(lang) or {}).get("texts") or {}).items():
                out[lang].setdefault(text, translated)
        first = study_languages(definition)[0]
        for _, text in text_fields(definition):
            if isinstance(text, Mapping) and text.get(first):
                for lang in langs[1:]:
                    if text.get(lang):
                        out[lang].setdefault(text[first], text[lang])
    return out


# ---- values ---------------------------------------------------------------------------------


def value_text(value: Any) -> str | None:
    """The raw text of a stored value; None when the item is empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        if not value:
            return None
        return MULTI_SEPARATOR.join(value_text(v) or "" for v in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _label(labels: Mapping[str, str], value: Any, text: str) -> str:
    if not labels:
        return ""
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(labels.get(value_text(v) or "", "") for v in value)
    return labels.get(text, "")


class FormExpander:
    """Turns the stored `data` of one form into long rows (group, row, item, value, label, unit,
    value as entered, unit as entered)."""

    def __init__(self, form: FormSpec | None):
        self.top = [(i.code, i.labels) for i in form.items] if form else []
        self.top_codes = {code for code, _ in self.top}
        self.groups = (
            [(g.code, [(i.code, i.labels) for i in g.items]) for g in form.groups] if form else []
        )
        self.group_codes = {code for code, _ in self.groups}
        self.units = {i.code: i.unit for i in form.all_items if i.unit} if form else {}

    def _units(self, code: str, text: str, data: Mapping[str, Any]) -> tuple[str, str, str]:
        unit = self.units.get(code)
        if not unit:
            return NO_UNIT
        entered = data.get(code + ENTERED_SUFFIX)
        if isinstance(entered, Mapping):
            return (unit, str(entered.get("value", "")), str(entered.get("unit", "")))
        return (unit, text, unit)

    def rows(self, prefix: tuple, data: Mapping[str, Any]) -> list[tuple]:
        out: list[tuple] = []
        append = out.append
        units = self.units
        for code, labels in self.top:
            value = data.get(code)
            if value is None:
                continue
            if value.__class__ is str:
                if value:
                    append(
                        prefix
                        + ("", 0, code, value, labels.get(value, "") if labels else "")
                        + (self._units(code, value, data) if code in units else NO_UNIT)
                    )
                continue
            text = value_text(value)
            if text is not None:
                append(
                    prefix
                    + ("", 0, code, text, _label(labels, value, text))
                    + self._units(code, text, data)
                )
        if len(data) > len(out) or self.groups:
            self._rest(prefix, data, append)
        return out

    def _rest(self, prefix: tuple, data: Mapping[str, Any], append) -> None:
        # Order: unknown plain items, known groups, unknown groups, so rows of one group stay
        # together and the plain items come first.
        extra = sorted(
            k
            for k in data
            if k not in self.top_codes
            and k not in self.group_codes
            and not k.endswith(ENTERED_SUFFIX)
        )
        extra_groups = []
        for key in extra:
            value = data[key]
            if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
                extra_groups.append(key)
                continue
            text = value_text(value)
            if text is not None:
                append(prefix + ("", 0, key, text, "") + NO_UNIT)
        for group, items in self.groups:
            self._group(prefix, group, items, data.get(group), append)
        for key in extra_groups:
            self._group(prefix, key, [], data[key], append)

    def _group(self, prefix: tuple, group: str, items: list, rows: Any, append) -> None:
        if not isinstance(rows, list):
            return
        known = {code for code, _ in items}
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                continue
            for code, labels in items:
                value = row.get(code)
                text = value_text(value)
                if text is not None:
                    append(
                        prefix
                        + (group, number, code, text, _label(labels, value, text))
                        + self._units(code, text, row)
                    )
            for code in sorted(k for k in row if k not in known and not k.endswith(ENTERED_SUFFIX)):
                text = value_text(row[code])
                if text is not None:
                    append(prefix + (group, number, code, text, "") + NO_UNIT)


# ---- codebook and codelists -----------------------------------------------------------------


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def codebook_rows(layout: StudyLayout) -> Iterator[tuple]:
    for form in layout.forms:
        for item in form.all_items:
            yield (
                form.dataset,
                form.code,
                form.name,
                form.domain,
                item.group,
                item.code,
                item.order,
                item.label,
                item.type,
                item.unit,
                MULTI_SEPARATOR.join(item.alt_units),
                item.max_length or 0,
                "" if item.decimals is None else str(item.decimals),
                item.codelist,
                _number_text(item.range_min),
                _number_text(item.range_max),
                "Y" if item.required else "N",
                "Y" if item.derived else "N",
            )


def codelist_entries(layout: StudyLayout) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every codelist the export uses, in a stable order: the study's own, booleans, inline
    choices by form, then arms and randomization factor levels."""
    entries: dict[str, tuple[tuple[str, str], ...]] = dict(layout.codelists)
    for form in layout.forms:
        for item in form.all_items:
            if item.codelist and item.codelist not in entries:
                entries[item.codelist] = tuple(item.labels.items())
    if layout.arms:
        entries.setdefault(f"{ALLOCATION_PREFIX}ARM", layout.arms)
    for factor in layout.factors:
        entries.setdefault(f"{ALLOCATION_PREFIX}{factor.code}", factor.levels)
    return entries


def codelist_rows(layout: StudyLayout) -> Iterable[tuple]:
    for name, values in codelist_entries(layout).items():
        for order, (code, label) in enumerate(values, start=1):
            yield (name, order, code, label)


def label_rows(layout: StudyLayout) -> Iterator[tuple]:
    """Every label of the study in each of its languages: (what, form, group, item, codelist,
    code, language, text). Codes identify what is labelled; only TEXT changes with language."""

    def each(kind, form="", group="", item="", codelist="", code="", text=""):
        for lang, translated in layout.texts_of(text):
            yield (kind, form, group, item, codelist, code, lang, translated)

    yield from each("study", text=layout.title)
    for event in layout.events:
        yield from each("visit", code=event.code, text=event.name)
    for form in layout.forms:
        yield from each("form", form=form.code, text=form.name)
        for group in form.groups:
            yield from each("group", form=form.code, group=group.code, text=group.name)
        for item in form.all_items:
            yield from each(
                "item", form=form.code, group=item.group, item=item.code, text=item.label
            )
    for factor in layout.factors:
        yield from each("factor", code=factor.code, text=factor.name)
    for name, values in codelist_entries(layout).items():
        for code, label in values:
            yield from each("codelist", codelist=name, code=code, text=label)
