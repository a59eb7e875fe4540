"""Evaluation of study rule expressions (edc/studies/EXPRESSIONS.md) with Kleene three-valued logic.

Truth values are True, False and None (= missing). A comparison with a missing value is missing; `all` is
false as soon as one part is false, otherwise missing if one part is missing; `any` is true as soon as one
part is true, otherwise missing if one part is missing.

Numbers are exact `Decimal`s (binary floats from YAML or JSON are read through their shortest repr). Dates
are `datetime.date`. Partial dates ("YYYY" or "YYYY-MM") are `PartialDate`s: they are missing in day
arithmetic, and a comparison with them is decided only when every day they may stand for gives the same
answer.

Every result carries reasons built from item labels, so an investigator can see why a rule passed, failed
or is missing: each a `Phrase` (edc/phrases.py) that reads as a sentence in the reader's language
("Haemoglobin 89 g/L is below 90 g/L") and keeps the working ("Haemoglobin 89 g/L < 90 g/L", which is
what `str()` and `Outcome.reason` give). Pure module: no Django import.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crf.rules import units
from edc.phrases import Label, Param, Phrase, counted, gettext_noop, joined, phrase

Truth = bool | None

CONTEXT_NAMES = {
    "consent_date": gettext_noop("consent date"),
    "registration_date": gettext_noop("registration date"),
    "randomization_date": gettext_noop("randomization date"),
    "first_dose_date": gettext_noop("first dose date"),
    "enrol_date": gettext_noop("enrolment date"),
    "today": gettext_noop("today"),
}
SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
HBV_REVIEW_BAND = Decimal("0.5")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_YEAR = re.compile(r"^\d{4}$")


class ExpressionError(ValueError):
    """The expression itself is malformed (a definition error, not a data problem)."""


@dataclass(frozen=True)
class PartialDate:
    year: int
    month: int | None = None

    @property
    def first_day(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def last_day(self) -> date:
        month = self.month or 12
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}" if self.month is None else f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class SubjectData:
    """What the rules read about one subject.

    `forms`: form code -> item code -> value, for the latest instance of each non-repeating form.
    `rows`: "form.group" -> rows of that repeating group (in the latest form instance), and repeating form
    code -> its instances. A group of a form that was saved but has no key here has no rows; a group of a
    form never entered, or a repeating form without instances, is unknown (rules over it are missing).
    `context`: subject dates by name (consent_date, registration_date, randomization_date, first_dose_date,
    enrol_date, today).
    `history`: form code -> every saved instance of a non-repeating form, oldest first; `latest_within`
    searches these (falling back to the latest instance) so a value drawn in an earlier visit still counts.
    """

    forms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rows: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    history: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemLabel:
    """What the definition says about an item: its label and unit for reasons, its type for reading
    stored values (e.g. the decimal string "2019" is a number, the partial date "2019" a year)."""

    label: str
    unit: str | None = None  # a UCUM code
    type: str | None = None
    molar_mass: Decimal | None = None  # g/mol of the item's analyte, when the study declares it


Labels = Mapping[str, ItemLabel]


@dataclass(frozen=True)
class Value:
    value: Any
    phrase: Phrase
    name: Param = ""
    unit: str | None = None
    from_iu: bool = False
    molar_mass: Decimal | None = None

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def text(self) -> str:
        return str(self.phrase)


@dataclass(frozen=True)
class Outcome:
    truth: Truth
    reasons: tuple[Phrase, ...] = ()
    review: tuple[Phrase, ...] = ()

    @property
    def reason(self) -> str:
        """The working in English, one step after another."""
        return "; ".join(str(r) for r in self.reasons)


@dataclass(frozen=True)
class _Scope:
    data: SubjectData
    labels: Labels
    form: str | None = None
    values: Mapping[str, Any] | None = None
    row: Mapping[str, Any] | None = None
    row_form: str | None = None


# ---- values ------------------------------------------------------------------------------------


def normalize(raw: Any, item_type: str | None = None) -> Any:
    """Stored value -> the engine's representation (None for missing).

    With the item's type the reading is exact. Without it, numeric strings become Decimals, ISO dates
    dates and "YYYY-MM" partial dates, while a bare four-digit string stays text until a comparison
    shows whether it is a year or a number."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Decimal):
        return None if raw.is_nan() else raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        return _normalize_text(raw.strip(), item_type)
    if isinstance(raw, list | tuple | set | frozenset):
        values = [v for v in (normalize(x) for x in raw) if v is not None]
        return values or None
    return raw


def _normalize_text(text: str, item_type: str | None) -> Any:
    if not text:
        return None
    if item_type in ("integer", "decimal"):
        return _decimal_or_same(text)
    if item_type in ("text", "time"):
        return text
    if item_type in ("date", "datetime"):
        return _parse_date(text[:10]) or text
    if _ISO_DATE.match(text):
        return _parse_date(text) or text
    partial = _PARTIAL_DATE.match(text)
    if partial and (item_type == "partial_date" or partial.group(2)):
        month = int(partial.group(2)) if partial.group(2) else None
        if month is None or 1 <= month <= 12:
            return PartialDate(int(partial.group(1)), month)
    if _YEAR.match(text) and item_type is None:
        return text
    if _NUMBER.match(text):
        return Decimal(text)
    return text


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def format_value(value: Any, places: int | None = None) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if places is not None:
            value = value.quantize(Decimal(1).scaleb(-places))
        text = format(value, "f")
        if places is None and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "{" + ", ".join(format_value(v) for v in value) + "}"
    return str(value)


def _with_unit(text: Param, unit: str | None) -> Param:
    return phrase("{value} {unit}", value=text, unit=units.display_unit(unit)) if unit else text


def in_unit(value: Value, needed: str) -> Decimal:
    """A numeric value expressed in the unit a computation needs (a value without a declared
    unit is taken to be in it already). Mass <-> substance uses the item's molar mass."""
    number = _number(value.value)
    if not value.unit or value.unit == needed:
        return number
    try:
        return units.convert(number, value.unit, needed, value.molar_mass)
    except units.UnitError as exc:
        raise ExpressionError(f"{value.name or 'value'}: {exc}") from None


def _shown(value: Any, places: int | None = None) -> Param:
    """A value as a phrase parameter: yes/no are words of the reader's language."""
    if isinstance(value, bool):
        return phrase(gettext_noop("yes") if value else gettext_noop("no"))
    if value is None:
        return phrase(gettext_noop("missing"))
    return format_value(value, places)


def _literal(value: Any) -> Phrase:
    return phrase("{value}", value=_shown(value))


def _join(parts: Sequence[Phrase]) -> Phrase:
    return joined(parts)


_COMPARISONS = {
    "<": gettext_noop("{left} is below {right}"),
    "<=": gettext_noop("{left} is not above {right}"),
    ">": gettext_noop("{left} is above {right}"),
    ">=": gettext_noop("{left} is not below {right}"),
    "==": gettext_noop("{left} equals {right}"),
    "!=": gettext_noop("{left} differs from {right}"),
}
_DATE_COMPARISONS = {
    "<": gettext_noop("{left} is before {right}"),
    "<=": gettext_noop("{left} is on or before {right}"),
    ">": gettext_noop("{left} is after {right}"),
    ">=": gettext_noop("{left} is on or after {right}"),
    "==": gettext_noop("{left} is the same day as {right}"),
    "!=": gettext_noop("{left} is not the same day as {right}"),
}
_UNIT_WORDS = {
    "years": (gettext_noop("year"), gettext_noop("years")),
    "months": (gettext_noop("month"), gettext_noop("months")),
    "days": (gettext_noop("day"), gettext_noop("days")),
}


def add_years(day: date, years: int) -> date:
    """Calendar years; 29 February clamps to 28 February in a non-leap target year."""
    year = day.year + years
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def add_months(day: date, months: int) -> date:
    """Calendar months; the day clamps to the last day of the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_in_years(born: date, on: date) -> int:
    """Completed years; a 29 February birthday is reached on 1 March in non-leap years."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def cockcroft_gault(
    age: Decimal, weight_kg: Decimal, creatinine_umol_l: Decimal, female: bool
) -> Decimal:
    """Creatinine clearance in mL/min; creatinine in µmol/L is converted at 88.4 µmol/L per mg/dL."""
    clearance = (
        (Decimal(140) - age) * weight_kg * Decimal("88.4") / (Decimal(72) * creatinine_umol_l)
    )
    return clearance * Decimal("0.85") if female else clearance


def qtc(qt_ms: Decimal, heart_rate: Decimal, method: str) -> Decimal:
    """Corrected QT in ms with RR = 60 / heart rate in seconds."""
    rr = Decimal(60) / heart_rate
    if method == "fridericia":
        return qt_ms / rr ** (Decimal(1) / Decimal(3))
    if method == "bazett":
        return qt_ms / rr.sqrt()
    raise ExpressionError(f"unknown QTc method {method!r} (use fridericia or bazett)")


# ---- public entry points -----------------------------------------------------------------------


def evaluate_condition(expr: Any, data: SubjectData, labels: Labels | None = None) -> Outcome:
    """A rule's truth with reasons (eligibility rules: every item named as form.ITEM)."""
    return _condition(expr, _Scope(data, labels or {}))


def evaluate_value(expr: Any, data: SubjectData, labels: Labels | None = None) -> Value:
    return _value(expr, _Scope(data, labels or {}))


def evaluate_edit_check(
    rule: Any,
    form: str,
    values: Mapping[str, Any],
    data: SubjectData | None = None,
    labels: Labels | None = None,
) -> Outcome:
    """An edit check states what must hold: a query is raised only when the outcome is False.

    `values` are the items of the form instance being checked; its repeating groups are given as lists under
    their group code (e.g. values["latetox"] = [...]). Missing data never raises a query by itself.
    """
    return _condition(rule, _Scope(data or SubjectData(), labels or {}, form=form, values=values))


# ---- conditions --------------------------------------------------------------------------------


def _condition(expr: Any, scope: _Scope) -> Outcome:
    if isinstance(expr, bool):
        return Outcome(expr)
    if not isinstance(expr, dict) or len(expr) != 1:
        raise ExpressionError(f"a condition must be one operator node, got {expr!r}")
    ((op, arg),) = expr.items()
    handler = _CONDITIONS.get(op)
    if handler is None:
        value = _value(expr, scope)
        if value.value is None or isinstance(value.value, bool):
            return Outcome(value.value, (value.phrase,))
        raise ExpressionError(f"{op!r} gives a value, not a condition")
    return handler(arg, scope)


def _reviews(parts: Sequence[Outcome]) -> tuple[str, ...]:
    out: list[str] = []
    for part in parts:
        out += [r for r in part.review if r not in out]
    return tuple(out)


def _reasons(parts: Sequence[Outcome], *truths: Truth) -> tuple[str, ...]:
    return tuple(r for part in parts if part.truth in truths for r in part.reasons)


def _all(arg: Any, scope: _Scope) -> Outcome:
    parts = [_condition(x, scope) for x in _as_list(arg, "all")]
    review = _reviews(parts)
    if any(p.truth is False for p in parts):
        return Outcome(False, _reasons(parts, False), review)
    if any(p.truth is None for p in parts):
        return Outcome(None, _reasons(parts, None), review)
    return Outcome(True, _reasons(parts, True), review)


def _any(arg: Any, scope: _Scope) -> Outcome:
    parts = [_condition(x, scope) for x in _as_list(arg, "any")]
    review = _reviews(parts)
    if any(p.truth is True for p in parts):
        return Outcome(True, _reasons(parts, False) + _reasons(parts, True), review)
    if any(p.truth is None for p in parts):
        return Outcome(None, _reasons(parts, False, None), review)
    return Outcome(False, _reasons(parts, False), review)


def _not(arg: Any, scope: _Scope) -> Outcome:
    inner = _condition(arg, scope)
    return Outcome(None if inner.truth is None else not inner.truth, inner.reasons, inner.review)


def _cmp(arg: Any, scope: _Scope) -> Outcome:
    if not (isinstance(arg, list) and len(arg) == 3 and arg[1] in SYMBOLS):
        raise ExpressionError(f"cmp needs [left, operator, right], got {arg!r}")
    left, op, right = _value(arg[0], scope), arg[1], _value(arg[2], scope)
    left_text, right_text = _texts_with_shared_unit(left, right)
    if left.missing or right.missing:
        return Outcome(None, tuple(v.phrase for v in (left, right) if v.missing))
    truth = compare(left.value, op, right.value)
    review = _hbv_review(left, right) + _hbv_review(right, left)
    if truth is None:
        reason = phrase(
            gettext_noop("a partial date cannot decide how {left} compares with {right}"),
            gettext_noop("{left} vs {right}: a partial date cannot decide"),
            left=left_text,
            right=right_text,
        )
        return Outcome(None, (reason,), review)
    shown = op if truth else NEGATION[op]
    dates = isinstance(left.value, date | PartialDate) and isinstance(
        right.value, date | PartialDate
    )
    sentence = (_DATE_COMPARISONS if dates else _COMPARISONS)[shown]
    working = "{left} " + SYMBOLS[shown] + " {right}"
    return Outcome(truth, (phrase(sentence, working, left=left_text, right=right_text),), review)


def _texts_with_shared_unit(left: Value, right: Value) -> tuple[Param, Param]:
    """A bare literal borrows the unit of the value it is compared with ("Hb 89 g/L < 90 g/L")."""
    left_text, right_text = left.phrase, right.phrase
    if right.unit is None and left.unit and not right.name and not right.missing:
        right_text = _with_unit(right_text, left.unit)
    if left.unit is None and right.unit and not left.name and not left.missing:
        left_text = _with_unit(left_text, right.unit)
    return left_text, right_text


def _hbv_review(converted: Value, threshold: Value) -> tuple[str, ...]:
    if not (converted.from_iu and isinstance(threshold.value, Decimal) and threshold.value > 0):
        return ()
    if abs(converted.value - threshold.value) <= threshold.value * HBV_REVIEW_BAND:
        message = gettext_noop(
            "{value} was converted from IU/mL and lies within {threshold} copies/mL ±50%: "
            "check the assay's conversion factor"
        )
        return (phrase(message, value=converted.phrase, threshold=format_value(threshold.value)),)
    return ()


def _in(arg: Any, scope: _Scope) -> Outcome:
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
        raise ExpressionError(f"in needs [value, [choices...]], got {arg!r}")
    value = _value(arg[0], scope)
    choices = [c.value for c in (_value(x, scope) for x in arg[1]) if not c.missing]
    shown = "{" + ", ".join(format_value(c) for c in choices) + "}"
    if value.missing:
        return Outcome(None, (value.phrase,))
    candidates = value.value if isinstance(value.value, list) else [value.value]
    truth = any(compare(c, "==", choice) is True for c in candidates for choice in choices)
    if truth:
        reason = phrase(
            gettext_noop("{value} is one of {choices}"),
            "{value} ∈ {choices}",
            value=value.phrase,
            choices=shown,
        )
    else:
        reason = phrase(
            gettext_noop("{value} is none of {choices}"),
            "{value} ∉ {choices}",
            value=value.phrase,
            choices=shown,
        )
    return Outcome(truth, (reason,))


def _present(arg: Any, scope: _Scope) -> Outcome:
    value = _value(arg, scope)
    return Outcome(not value.missing, (value.phrase,))


def _exists(arg: Any, scope: _Scope) -> Outcome:
    group, rows, where = _group_rows(arg, scope, "exists")
    name = _group_name(group, scope)
    if rows is None:
        return Outcome(None, (_not_recorded(name),))
    results = [_row_condition(where, row, group, scope) for row in rows]
    matching = [(i, r) for i, r in enumerate(results, start=1) if r.truth is True]
    if matching:
        return Outcome(True, tuple(_row_reason(name, i, r) for i, r in matching), _reviews(results))
    unknown = [(i, r) for i, r in enumerate(results, start=1) if r.truth is None]
    if unknown:
        return Outcome(None, tuple(_row_reason(name, i, r) for i, r in unknown), _reviews(results))
    reason = counted(
        len(rows),
        gettext_noop("no row of {name} matches ({count} recorded)"),
        gettext_noop("no row of {name} matches ({count} recorded)"),
        gettext_noop("no matching row in {name} ({count} recorded)"),
        name=name,
    )
    return Outcome(False, (reason,))


def _not_recorded(name: Param) -> Phrase:
    return phrase(
        gettext_noop("{name} is not recorded"), gettext_noop("{name} not recorded"), name=name
    )


def _row_reason(name: Param, row: int, outcome: Outcome) -> Phrase:
    return phrase(
        gettext_noop("{name}, row {row}: {reason}"),
        gettext_noop("{name} row {row}: {reason}"),
        name=name,
        row=str(row),
        reason=_join(outcome.reasons) if outcome.reasons else "",
    )


def _within_days(arg: Any, scope: _Scope) -> Outcome:
    if not isinstance(arg, dict) or not {"date", "ref"} <= set(arg):
        raise ExpressionError("within_days needs date, ref, min and max")
    day, ref = _value(arg["date"], scope), _value(arg["ref"], scope)
    low, high = _int(_value(arg.get("min", 0), scope)), _int(_value(arg.get("max"), scope))
    missing = [v.phrase for v in (day, ref) if not isinstance(v.value, date)]
    if missing:
        return Outcome(None, tuple(missing))
    days = (ref.value - day.value).days
    truth = (low is None or days >= low) and (high is None or days <= high)
    reason = counted(
        days,
        gettext_noop("{date} is {count} day before {ref} (allowed: {low} to {high} days)"),
        gettext_noop("{date} is {count} days before {ref} (allowed: {low} to {high} days)"),
        gettext_noop("{date} is {count} days before {ref} (allowed {low}–{high})"),
        date=day.phrase,
        ref=ref.phrase,
        low=str(low),
        high=str(high),
    )
    return Outcome(truth, (reason,))


_CONDITIONS: dict[str, Callable[[Any, _Scope], Outcome]] = {
    "all": _all,
    "any": _any,
    "not": _not,
    "cmp": _cmp,
    "in": _in,
    "present": _present,
    "exists": _exists,
    "within_days": _within_days,
}


def compare(a: Any, op: str, b: Any) -> Truth:
    """Three-valued comparison of two present values (numbers, text, dates, partial dates)."""
    a, b = _align(a), _align(b)
    a, b = _coerce_pair(a, b)
    if isinstance(a, date | PartialDate) and isinstance(b, date | PartialDate):
        return _compare_intervals(_interval(a), op, _interval(b))
    if op in ("==", "!="):
        equal = a == b if type(a) is type(b) else False
        return equal if op == "==" else not equal
    if type(a) is not type(b):
        raise ExpressionError(f"cannot order {a!r} and {b!r}")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _align(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return normalize(value)
    return value


def _coerce_pair(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, date | PartialDate) and isinstance(b, str) and _YEAR.match(b):
        return a, PartialDate(int(b))
    if isinstance(b, date | PartialDate) and isinstance(a, str) and _YEAR.match(a):
        return PartialDate(int(a)), b
    if isinstance(a, Decimal) and isinstance(b, str):
        return a, _decimal_or_same(b)
    if isinstance(b, Decimal) and isinstance(a, str):
        return _decimal_or_same(a), b
    if isinstance(a, str) and isinstance(b, str) and _NUMBER.match(a) and _NUMBER.match(b):
        return Decimal(a), Decimal(b)
    if isinstance(a, bool) and b in ("Y", "N"):
        return ("Y" if a else "N"), b
    if isinstance(b, bool) and a in ("Y", "N"):
        return a, ("Y" if b else "N")
    return a, b


def _decimal_or_same(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _interval(value: date | PartialDate) -> tuple[date, date]:
    return (value, value) if isinstance(value, date) else (value.first_day, value.last_day)


def _compare_intervals(a: tuple[date, date], op: str, b: tuple[date, date]) -> Truth:
    (a_lo, a_hi), (b_lo, b_hi) = a, b
    if op == "<":
        return True if a_hi < b_lo else False if a_lo >= b_hi else None
    if op == "<=":
        return True if a_hi <= b_lo else False if a_lo > b_hi else None
    if op == ">":
        return True if a_lo > b_hi else False if a_hi <= b_lo else None
    if op == ">=":
        return True if a_lo >= b_hi else False if a_hi < b_lo else None
    equal: Truth = (
        True if a_lo == a_hi == b_lo == b_hi else False if a_hi < b_lo or b_hi < a_lo else None
    )
    if op == "==":
        return equal
    return None if equal is None else not equal


# ---- values ------------------------------------------------------------------------------------


def _value(expr: Any, scope: _Scope) -> Value:
    if isinstance(expr, dict):
        if len(expr) != 1:
            raise ExpressionError(f"a value node must have exactly one operator, got {expr!r}")
        ((op, arg),) = expr.items()
        handler = _VALUES.get(op)
        if handler is None:
            if op in _CONDITIONS:
                outcome = _condition(expr, scope)
                return Value(
                    outcome.truth,
                    _join(outcome.reasons) if outcome.reasons else _literal(outcome.truth),
                )
            raise ExpressionError(f"unknown operator {op!r}")
        return handler(arg, scope)
    if isinstance(expr, list):
        raise ExpressionError(f"a list is not a value: {expr!r}")
    value = normalize(expr)
    return Value(value, _literal(value))


def _item(arg: Any, scope: _Scope) -> Value:
    if not isinstance(arg, str):
        raise ExpressionError(f"item needs a string, got {arg!r}")
    key, raw = _lookup(arg, scope)
    return _item_value(key, raw, scope)


def _item_value(key: str, raw: Any, scope: _Scope) -> Value:
    label = scope.labels.get(key)
    name = Label(label.label if label else key)
    unit = label.unit if label else None
    value = normalize(raw, label.type if label else None)
    molar_mass = label.molar_mass if label else None
    if value is None:
        return Value(None, _missing(name), name, unit, molar_mass=molar_mass)
    return Value(
        value,
        phrase("{name} {value}", name=name, value=_with_unit(_shown(value), unit)),
        name,
        unit,
        molar_mass=molar_mass,
    )


def _missing(name: Param) -> Phrase:
    return phrase(gettext_noop("{name} is missing"), gettext_noop("{name} missing"), name=name)


def _lookup(ref: str, scope: _Scope) -> tuple[str, Any]:
    if "." in ref:
        form, code = ref.split(".", 1)
        if scope.values is not None and form == scope.form:
            return ref, scope.values.get(code)
        values = scope.data.forms.get(form)
        if values is None and scope.data.rows.get(form):
            values = scope.data.rows[form][-1]
        return ref, (values or {}).get(code)
    if scope.row is not None and (ref in scope.row or scope.values is None):
        return f"{scope.row_form}.{ref}", scope.row.get(ref)
    if scope.values is not None:
        return f"{scope.form}.{ref}", scope.values.get(ref)
    raise ExpressionError(f"item {ref!r} needs a form prefix (form.ITEM) here")


def _context(arg: Any, scope: _Scope) -> Value:
    if arg not in CONTEXT_NAMES:
        raise ExpressionError(f"unknown context date {arg!r}")
    value = normalize(scope.data.context.get(arg))
    name = phrase(CONTEXT_NAMES[arg])
    if not isinstance(value, date):
        return Value(None, _missing(name), name)
    return Value(value, phrase("{name} {date}", name=name, date=value.isoformat()), name)


def _date(arg: Any, scope: _Scope) -> Value:
    try:
        value = date.fromisoformat(arg)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"date needs YYYY-MM-DD, got {arg!r}") from exc
    return Value(value, _literal(value))


def _age_years(arg: Any, scope: _Scope) -> Value:
    born, ref = _pair(arg, scope, "age_years")
    name = phrase(gettext_noop("age"))
    if not (isinstance(born.value, date) and isinstance(ref.value, date)):
        text = phrase(gettext_noop("age unknown ({missing})"), missing=_missing_texts(born, ref))
        return Value(None, text, name)
    years = age_in_years(born.value, ref.value)
    text = counted(
        years,
        gettext_noop("age {count} year at {date}"),
        gettext_noop("age {count} years at {date}"),
        date=ref.phrase,
    )
    return Value(Decimal(years), text, name)


def _days_between(arg: Any, scope: _Scope) -> Value:
    first, second = _pair(arg, scope, "days_between")
    name = phrase(gettext_noop("interval"))
    if not (isinstance(first.value, date) and isinstance(second.value, date)):
        text = phrase(
            gettext_noop("interval unknown ({missing})"), missing=_missing_texts(first, second)
        )
        return Value(None, text, name)
    days = (second.value - first.value).days
    text = counted(
        days,
        gettext_noop("{count} day from {first} to {second}"),
        gettext_noop("{count} days from {first} to {second}"),
        first=first.phrase,
        second=second.phrase,
    )
    return Value(Decimal(days), text, name)


def _calendar(unit: str, shift: Callable[[date, int], date]) -> Callable[[Any, _Scope], Value]:
    def handler(arg: Any, scope: _Scope) -> Value:
        day, amount = _pair(arg, scope, f"add_{unit}")
        count = _int(amount)
        if not isinstance(day.value, date) or count is None:
            return Value(None, _missing_texts(day, amount), day.name)
        sign = "+" if count >= 0 else "−"
        try:
            result = shift(day.value, count)
        except (ValueError, OverflowError):
            # An implausible stored date (year 1) shifted past the calendar: unknown, not a crash.
            outside = phrase(
                gettext_noop("{date} shifted by {count} {unit} is outside the calendar"),
                date=day.phrase,
                count=sign + str(abs(count)),
                unit=phrase(_UNIT_WORDS[unit][1]),
            )
            return Value(None, outside, day.name)
        one, many = _UNIT_WORDS[unit]
        text = phrase(
            "{date} " + sign + " {count} {unit} ({result})",
            date=day.phrase,
            count=str(abs(count)),
            unit=phrase(one if abs(count) == 1 else many),
            result=result.isoformat(),
        )
        return Value(result, text, day.name)

    return handler


def _shift_days(day: date, days: int) -> date:
    return date.fromordinal(day.toordinal() + days)


def _ratio(arg: Any, scope: _Scope) -> Value:
    value, uln = _pair(arg, scope, "ratio")
    if value.missing or uln.missing:
        return Value(None, _missing_texts(value, uln), value.name)
    numerator = _number(value.value)
    # The limit is converted to the value's unit first (a ULN in µmol/L beside a value in
    # mg/dL), with the value's analyte for mass <-> substance.
    if value.unit and uln.unit and value.unit != uln.unit:
        limit = replace(uln, molar_mass=uln.molar_mass or value.molar_mass)
        denominator = in_unit(limit, value.unit)
    else:
        denominator = _number(uln.value)
    if denominator == 0:
        return Value(None, phrase(gettext_noop("{name} is 0"), name=uln.name or "ULN"), value.name)
    result = numerator / denominator
    text = phrase("{name} {ratio}×ULN", name=value.name, ratio=format_value(result, 2))
    return Value(result, text, value.name)


def _crcl(arg: Any, scope: _Scope) -> Value:
    parts = _named(
        arg, scope, "crcl_cockcroft_gault", ("age", "weight_kg", "creatinine_umol_l", "sex")
    )
    name = phrase(gettext_noop("CrCl (Cockcroft–Gault)"))
    if any(p.missing for p in parts.values()):
        return Value(None, _not_computable(name, _missing_texts(*parts.values())), name, "mL/min")
    female = str(parts["sex"].value).upper().startswith("F")
    result = cockcroft_gault(
        _number(parts["age"].value),
        in_unit(parts["weight_kg"], "kg"),
        in_unit(parts["creatinine_umol_l"], "umol/L"),
        female,
    )
    text = phrase("{name} {value} mL/min", name=name, value=format_value(result, 1))
    return Value(result, text, name, "mL/min")


def _not_computable(name: Param, why: Param) -> Phrase:
    return phrase(gettext_noop("{name} not computable ({why})"), name=name, why=why)


def _qtc(arg: Any, scope: _Scope) -> Value:
    parts = _named(arg, scope, "qtc", ("qt_ms", "heart_rate", "method"))
    method = str(parts["method"].value or "fridericia").lower()
    name = {"fridericia": "QTcF", "bazett": "QTcB"}.get(method, "QTc")
    if parts["qt_ms"].missing or parts["heart_rate"].missing:
        return Value(None, _not_computable(name, _missing_texts(*parts.values())), name, "ms")
    qt_ms, heart_rate = _number(parts["qt_ms"].value), _number(parts["heart_rate"].value)
    if heart_rate <= 0:
        why = phrase(gettext_noop("heart rate ≤ 0"))
        return Value(None, _not_computable(name, why), name, "ms")
    result = qtc(qt_ms, heart_rate, method)
    return Value(
        result, phrase("{name} {value} ms", name=name, value=format_value(result, 1)), name, "ms"
    )


def _hbv(arg: Any, scope: _Scope) -> Value:
    parts = _named(arg, scope, "hbv_copies_per_ml", ("value", "unit", "iu_factor"))
    name = "HBV DNA"
    if parts["value"].missing or parts["unit"].missing:
        text = phrase(
            gettext_noop("{name} not usable ({missing})"),
            name=name,
            missing=_missing_texts(parts["value"], parts["unit"]),
        )
        return Value(None, text, name)
    unit = re.sub(r"[^a-z]", "", str(parts["unit"].value).lower())
    amount = _number(parts["value"].value)
    if unit.startswith("iu"):
        factor = _number(parts["iu_factor"].value) if not parts["iu_factor"].missing else Decimal(5)
        result = amount * factor
        text = phrase(
            "{name} {value} copies/mL ({amount} IU/mL × {factor})",
            name=name,
            value=format_value(result),
            amount=format_value(amount),
            factor=format_value(factor),
        )
        return Value(result, text, name, "copies/mL", from_iu=True)
    if unit.startswith("cop"):
        result = amount
        text = phrase("{name} {value} copies/mL", name=name, value=format_value(result))
        return Value(result, text, name, "copies/mL")
    raise ExpressionError(f"unknown HBV DNA unit {parts['unit'].value!r}")


def _count(arg: Any, scope: _Scope) -> Value:
    group, rows, where = _group_rows(arg, scope, "count")
    name = _group_name(group, scope)
    if rows is None:
        return Value(None, _not_recorded(name), name)
    results = [_row_condition(where, row, group, scope) for row in rows]
    unknown = [i for i, r in enumerate(results, start=1) if r.truth is None]
    if unknown:
        details = _join([reason for i in unknown for reason in results[i - 1].reasons])
        text = phrase(
            gettext_noop("{name}: rows {rows} undetermined ({details})"),
            name=name,
            rows=str(unknown),
            details=details,
        )
        return Value(None, text, name)
    matching = sum(1 for r in results if r.truth)
    text = counted(
        matching,
        gettext_noop("{count} matching row in {name}"),
        gettext_noop("{count} matching rows in {name}"),
        name=name,
    )
    return Value(Decimal(matching), text, name)


def _extreme(pick: Callable[..., Any], word: str) -> Callable[[Any, _Scope], Value]:
    def handler(arg: Any, scope: _Scope) -> Value:
        values = [_value(x, scope) for x in _as_list(arg, word)]
        present = [v for v in values if not v.missing]
        if not present:
            text = phrase(_NOTHING[word], missing=_missing_texts(*values))
            return Value(None, text)
        return pick(present, key=lambda v: _number(v.value))

    return handler


_NOTHING = {
    "max": gettext_noop("max of nothing ({missing})"),
    "min": gettext_noop("min of nothing ({missing})"),
}


def _latest_within(arg: Any, scope: _Scope) -> Value:
    if not isinstance(arg, dict) or not {"item", "date_item", "ref", "days_before"} <= set(arg):
        raise ExpressionError("latest_within needs item, date_item, ref and days_before")
    item_ref, date_ref = arg["item"], arg["date_item"]
    form, item_code = item_ref.split(".", 1)
    date_form, date_code = date_ref.split(".", 1)
    if form != date_form:
        raise ExpressionError("latest_within: item and date_item must be on the same form")
    ref = _value(arg["ref"], scope)
    days_before = _int(_value(arg["days_before"], scope))
    label = scope.labels.get(item_ref)
    name = Label(label.label if label else item_ref)
    if not isinstance(ref.value, date) or days_before is None:
        text = phrase(gettext_noop("{name}: window not known ({ref})"), name=name, ref=ref.phrase)
        return Value(None, text, name, label.unit if label else None)
    best: tuple[date, Any] | None = None
    for instance in _instances(form, scope.data):
        sampled, value = normalize(instance.get(date_code), "date"), instance.get(item_code)
        value = normalize(value, label.type if label else None)
        if not isinstance(sampled, date) or value is None:
            continue
        if 0 <= (ref.value - sampled).days <= days_before and (best is None or sampled >= best[0]):
            best = (sampled, value)
    if best is None:
        text = phrase(
            gettext_noop("{name}: no value dated 0–{days} days before {ref}"),
            name=name,
            days=str(days_before),
            ref=ref.phrase,
        )
        return Value(None, text, name, label.unit if label else None)
    return _item_value(item_ref, best[1], scope)


def _instances(form: str, data: SubjectData) -> Sequence[Mapping[str, Any]]:
    if data.history.get(form):
        return data.history[form]
    if data.rows.get(form):
        return data.rows[form]
    return [data.forms[form]] if form in data.forms else []


_VALUES: dict[str, Callable[[Any, _Scope], Value]] = {
    "item": _item,
    "context": _context,
    "date": _date,
    "age_years": _age_years,
    "days_between": _days_between,
    "add_years": _calendar("years", add_years),
    "add_months": _calendar("months", add_months),
    "add_days": _calendar("days", _shift_days),
    "ratio": _ratio,
    "crcl_cockcroft_gault": _crcl,
    "qtc": _qtc,
    "hbv_copies_per_ml": _hbv,
    "count": _count,
    "max": _extreme(max, "max"),
    "min": _extreme(min, "min"),
    "latest_within": _latest_within,
}


# ---- helpers -----------------------------------------------------------------------------------


def _as_list(arg: Any, op: str) -> list:
    if not isinstance(arg, list):
        raise ExpressionError(f"{op} needs a list, got {arg!r}")
    return arg


def _pair(arg: Any, scope: _Scope, op: str) -> tuple[Value, Value]:
    if not (isinstance(arg, list) and len(arg) == 2):
        raise ExpressionError(f"{op} needs two arguments, got {arg!r}")
    return _value(arg[0], scope), _value(arg[1], scope)


def _named(arg: Any, scope: _Scope, op: str, keys: tuple[str, ...]) -> dict[str, Value]:
    if not isinstance(arg, dict):
        raise ExpressionError(f"{op} needs a mapping with {', '.join(keys)}")
    unknown = set(arg) - set(keys)
    if unknown:
        raise ExpressionError(f"{op}: unknown argument(s) {sorted(unknown)}")
    return {key: _value(arg.get(key), scope) for key in keys}


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and _NUMBER.match(value):
        return Decimal(value)
    raise ExpressionError(f"expected a number, got {value!r}")


def _int(value: Value) -> int | None:
    if value.missing:
        return None
    number = _number(value.value)
    if number != number.to_integral_value():
        raise ExpressionError(f"expected a whole number, got {value.value!r}")
    return int(number)


def _missing_texts(*values: Value) -> Phrase:
    missing = [v.phrase for v in values if v.missing]
    return _join(missing) if missing else phrase(gettext_noop("not computable"))


def _group_rows(
    arg: Any, scope: _Scope, op: str
) -> tuple[str, Sequence[Mapping[str, Any]] | None, Any]:
    if not isinstance(arg, dict) or "group" not in arg:
        raise ExpressionError(f"{op} needs a group")
    group = arg["group"]
    where = arg.get("where", True)
    if scope.values is not None and "." in group:
        form, code = group.split(".", 1)
        if form == scope.form:
            rows = scope.values.get(code)
            return group, (list(rows) if rows is not None else None), where
    if scope.values is not None and group == scope.form:
        return group, [scope.values], where
    rows = scope.data.rows.get(group)
    if rows is None and "." in group and group.split(".", 1)[0] in scope.data.forms:
        # The form was saved without rows in this group: an empty log, not an unknown one.
        rows = []
    return group, (list(rows) if rows is not None else None), where


def _group_name(group: str, scope: _Scope) -> Label:
    label = scope.labels.get(group)
    return Label(label.label if label else group)


def _row_condition(where: Any, row: Mapping[str, Any], group: str, scope: _Scope) -> Outcome:
    row_form = group.split(".", 1)[0]
    inner = _Scope(scope.data, scope.labels, scope.form, scope.values, row, row_form)
    return _condition(where, inner)
