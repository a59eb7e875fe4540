"""Checking submitted CRF values against their form definition. Pure Python: no database, no
Django. Each problem is a translatable phrase (edc/phrases.py), item and group names study texts
(`Label`s); an `Issue`'s `message` renders it in the reader's language when it is read.

`validate_form` turns raw input (strings from an HTML form, or JSON values from the API) into the
stored representation of `FormInstance.data` and lists every problem: hard errors block the save,
soft warnings need the user's confirmation (and then open a query). Every message names the item
and the rule it broke, so the same text serves the page, the API and the query.

Stored representation: numbers as decimal strings (exact), dates ISO (`2026-05` when partial),
booleans as JSON booleans, multichoice as a list of codes, repeating groups as lists of row dicts.
Items left empty are simply absent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crf.rules import units
from crf.rules.violations import Severity
from edc.phrases import Label, Phrase, gettext_noop, in_language, phrase
from edc.studies.texts import source_text

# An item with alternative units takes its unit from the input `<CODE>__unit` (default: the
# item's own unit) and stores the value in the item's (canonical) unit under its code, with
# what was entered under `<CODE>__entered` as {"value": ..., "unit": ...}.
UNIT_SUFFIX = "__unit"
ENTERED_SUFFIX = "__entered"

Value = str | bool | list | None
# Evaluates an edit-check rule over the cleaned values: (True holds / False fails / None unknown,
# the reason in words).
RuleEvaluator = Callable[[Any, Mapping[str, Any]], tuple[bool | None, str]]


@dataclass(frozen=True)
class Issue:
    """One problem with one item (or with the form as a whole when `item` is empty)."""

    item: str
    code: str
    # The problem in words: a `Phrase` (rendered when read), or a text already in the
    # reader's language (a page may swap in one rendered with the study's own labels).
    text: str
    severity: Severity = Severity.ERROR
    group: str | None = None
    row: int | None = None  # 1-based row of a repeating group

    @property
    def message(self) -> str:
        """The problem in the reader's (the active) language."""
        return in_language(self.text) if isinstance(self.text, Phrase) else self.text

    @property
    def path(self) -> str:
        if self.group is None:
            return self.item
        if self.row is None:
            return f"{self.group}.{self.item}" if self.item else self.group
        return f"{self.group}[{self.row}].{self.item}" if self.item else f"{self.group}[{self.row}]"

    def as_dict(self) -> dict:
        return {
            "item": self.item,
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "severity": str(self.severity),
        }


@dataclass
class ValidationResult:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---- scalar parsing ----------------------------------------------------------------------

_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")
MAX_DIGITS = 30  # longer numbers are typing accidents, and Python refuses int() of 4,300+ digits
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0"}


class _Invalid(Exception):
    def __init__(self, code: str, message: Phrase):
        super().__init__(message)
        self.code = code
        self.message = message


def _text_of(raw: Any) -> str:
    if isinstance(raw, bool):
        raise _Invalid("type", phrase(gettext_noop("a yes/no value is not valid here")))
    if isinstance(raw, float):
        # JSON numbers arrive as floats; repr gives back the shortest text that was sent.
        return repr(raw)
    if isinstance(raw, int | Decimal):
        return str(raw)
    if isinstance(raw, str):
        if "\x00" in raw:
            # PostgreSQL cannot store NUL in text or JSON: refuse it here, by name, not later.
            raise _Invalid(
                "type", phrase(gettext_noop("contains a NUL character, which is not valid text"))
            )
        return raw.strip()
    raise _Invalid(
        "type", phrase(gettext_noop("expected a single value, got {kind}"), kind=type(raw).__name__)
    )


def is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple):
        return all(is_blank(part) for part in raw)
    return False


def _number_text(value: Decimal) -> str:
    return format(value, "f")


def _parse_integer(raw: Any) -> str:
    text = _text_of(raw)
    if not _INTEGER.match(text):
        raise _Invalid(
            "type", phrase(gettext_noop("{value} is not a whole number"), value=repr(text))
        )
    if len(text) > MAX_DIGITS:
        raise _Invalid(
            "type",
            phrase(
                gettext_noop("a number of {count} digits is not plausible here"), count=len(text)
            ),
        )
    return str(int(text))


def _parse_decimal(raw: Any, decimals: int | None) -> str:
    text = _text_of(raw)
    if not _DECIMAL.match(text):
        raise _Invalid(
            "type",
            phrase(
                gettext_noop("{value} is not a number (digits with an optional decimal point)"),
                value=repr(text),
            ),
        )
    if len(text) > MAX_DIGITS:
        raise _Invalid(
            "type",
            phrase(
                gettext_noop("a number of {count} characters is not plausible here"),
                count=len(text),
            ),
        )
    value = Decimal(text)
    if decimals is not None:
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > decimals:
            raise _Invalid(
                "decimals",
                phrase(
                    gettext_noop("{value} has {places} decimal places; at most {allowed} allowed"),
                    value=text,
                    places=places,
                    allowed=decimals,
                ),
            )
    return _number_text(value)


def _real_date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _Invalid(
            "date", phrase(gettext_noop("{value} is not a real calendar date"), value=repr(text))
        ) from None


def _parse_date(raw: Any) -> str:
    text = _text_of(raw)
    match = _DATE.match(text)
    if not match:
        if _PARTIAL.match(text):
            raise _Invalid(
                "partial_date_not_allowed",
                phrase(
                    gettext_noop("{value} is incomplete; this item needs a full date YYYY-MM-DD"),
                    value=repr(text),
                ),
            )
        raise _Invalid(
            "date",
            phrase(gettext_noop("{value} is not a date written YYYY-MM-DD"), value=repr(text)),
        )
    year, month, day = (int(part) for part in match.groups())
    return _real_date(year, month, day, text).isoformat()


def _parse_partial_date(raw: Any) -> str:
    text = _text_of(raw)
    match = _PARTIAL.match(text)
    if not match:
        raise _Invalid(
            "date",
            phrase(
                gettext_noop(
                    "{value} is not a date written YYYY-MM-DD, YYYY-MM (day unknown) or YYYY"
                ),
                value=repr(text),
            ),
        )
    year, month, day = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        raise _Invalid(
            "date",
            phrase(gettext_noop("{value} has no month {month}"), value=repr(text), month=month),
        )
    if day is not None:
        _real_date(int(year), int(month), int(day), text)
    if int(year) < EARLIEST_YEAR:
        raise _Invalid(
            "date_too_early",
            phrase(gettext_noop("{value} is before {year}"), value=text, year=EARLIEST_YEAR),
        )
    return text


def _parse_time(raw: Any) -> str:
    text = _text_of(raw)
    match = _TIME.match(text)
    if not match:
        raise _Invalid(
            "time", phrase(gettext_noop("{value} is not a time written HH:MM"), value=repr(text))
        )
    hours, minutes, seconds = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or (seconds is not None and int(seconds) > 59):
        raise _Invalid(
            "time", phrase(gettext_noop("{value} is not a real time of day"), value=repr(text))
        )
    return text


def _parse_datetime(raw: Any) -> str:
    text = _text_of(raw).replace(" ", "T", 1)
    if "T" not in text:
        raise _Invalid(
            "datetime",
            phrase(
                gettext_noop("{value} is not a date and time written YYYY-MM-DDTHH:MM"),
                value=repr(text),
            ),
        )
    day_part, time_part = text.split("T", 1)
    try:
        day = _parse_date(day_part)
        clock = _parse_time(time_part)
    except _Invalid as exc:
        raise _Invalid("datetime", exc.message) from None
    return f"{day}T{clock}"


def _parse_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text_of(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid("type", phrase(gettext_noop("{value} is not yes or no"), value=repr(text)))


def _choice_codes(item: Mapping, codelists: Mapping) -> list:
    if "choices" in item:
        return [c["code"] for c in item["choices"]]
    return [c["code"] for c in codelists.get(item.get("codelist", ""), [])]


def _parse_choice(raw: Any, codes: list) -> Any:
    text = _text_of(raw)
    for code in codes:
        if str(code) == text:
            return code
    shown = ", ".join(str(c) for c in codes)
    raise _Invalid(
        "choice",
        phrase(
            gettext_noop("{value} is not one of the allowed choices ({allowed})"),
            value=repr(text),
            allowed=shown,
        ),
    )


def _earliest_day(value: str) -> dt.date:
    parts = value[:10].split("-")
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else 1
    day = int(parts[2]) if len(parts) > 2 else 1
    return dt.date(year, month, day)


def _latest_day(value: str) -> dt.date:
    """The last day a (possibly partial) date can mean: 2026-05 may be as late as 2026-05-31."""
    parts = value[:10].split("-")
    year = int(parts[0])
    if len(parts) > 2:
        return dt.date(year, int(parts[1]), int(parts[2]))
    month = int(parts[1]) if len(parts) > 1 else 12
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return following - dt.timedelta(days=1)


EARLIEST_YEAR = 1900
DEFAULT_FUTURE_YEARS = 2
NOT_BEFORE = {
    "birth": phrase(gettext_noop("the date of birth")),
    "consent": phrase(gettext_noop("the informed consent date")),
}


@dataclass(frozen=True)
class DateBounds:
    """What makes a date plausible for one subject: the site's today, how far ahead an item
    that allows future dates may go (the study's `dates.future_limit_years`), and the birth and
    consent dates that items marked `not_before` must not precede (None when not recorded)."""

    today: dt.date
    future_years: int = DEFAULT_FUTURE_YEARS
    birth: dt.date | None = None
    consent: dt.date | None = None

    @property
    def latest_future(self) -> dt.date:
        try:
            return self.today.replace(year=self.today.year + self.future_years)
        except ValueError:  # 29 February
            return self.today.replace(year=self.today.year + self.future_years, day=28)


def _date_problem(item: Mapping, value: str, bounds: DateBounds) -> tuple[str, Phrase] | None:
    """(code, message) when a well-formed date is implausible for this item and subject."""
    earliest = _earliest_day(value)
    if earliest.year < EARLIEST_YEAR:
        return "date_too_early", phrase(
            gettext_noop("{value} is before {year}"), value=value, year=EARLIEST_YEAR
        )
    if earliest > bounds.today:
        if not item.get("allow_future"):
            return "future_date", phrase(
                gettext_noop("{value} is in the future (today is {today})"),
                value=value,
                today=bounds.today,
            )
        if earliest > bounds.latest_future:
            return (
                "date_too_far_ahead",
                phrase(
                    gettext_noop("{value} is more than {years} years ahead (latest {latest})"),
                    value=value,
                    years=bounds.future_years,
                    latest=bounds.latest_future,
                ),
            )
    for anchor in item.get("not_before", ()):
        limit = bounds.birth if anchor == "birth" else bounds.consent
        if limit is not None and _latest_day(value) < limit:
            return f"before_{anchor}", phrase(
                gettext_noop("{value} is before {anchor} ({limit})"),
                value=value,
                anchor=NOT_BEFORE[anchor],
                limit=limit,
            )
    return None


def _bound_text(bound: Any) -> Decimal:
    return Decimal(str(bound))


def _with_unit(value: str | Decimal, unit: str) -> str:
    return f"{value} {unit}".strip()


def describe_range(bounds: Mapping, unit: str = "") -> str:
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None:
        return f"{low}–{_with_unit(str(high), unit)}"
    if low is not None:
        return f"≥ {_with_unit(str(low), unit)}"
    return f"≤ {_with_unit(str(high), unit)}"


def _range_problem(value: Decimal, bounds: Mapping, unit: str) -> Phrase | None:
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and value < _bound_text(low):
        return phrase(
            gettext_noop("{value} is below {bound}"),
            value=_with_unit(_number_text(value), unit),
            bound=_with_unit(str(low), unit),
        )
    if high is not None and value > _bound_text(high):
        return phrase(
            gettext_noop("{value} is above {bound}"),
            value=_with_unit(_number_text(value), unit),
            bound=_with_unit(str(high), unit),
        )
    return None


# ---- items -------------------------------------------------------------------------------


@dataclass
class Collector:
    errors: list[Issue]
    warnings: list[Issue]
    group: str | None = None
    row: int | None = None

    def error(self, item: str, code: str, message: str) -> None:
        self.errors.append(Issue(item, code, message, Severity.ERROR, self.group, self.row))

    def warning(self, item: str, code: str, message: str) -> None:
        self.warnings.append(Issue(item, code, message, Severity.WARNING, self.group, self.row))


def label_of(item: Mapping) -> Phrase:
    """The item as a message names it: its label (a study text) and its code."""
    return phrase(
        gettext_noop("{label} ({code})"), label=Label(source_text(item["label"])), code=item["code"]
    )


def accepted_units(item: Mapping) -> list[str]:
    return [item["unit"], *item.get("alt_units", [])] if item.get("alt_units") else []


def _to_canonical(
    item: Mapping, value: str, raw_unit: Any, analytes: Mapping, out: Collector
) -> tuple[str, dict[str, str]] | None:
    """(canonical value text, what was entered) for an item with alternative units."""
    code, label = item["code"], label_of(item)
    accepted = accepted_units(item)
    unit = item["unit"] if is_blank(raw_unit) else str(raw_unit).strip()
    if unit not in accepted:
        shown = ", ".join(units.display_unit(u) for u in accepted)
        out.error(
            code,
            "unit",
            phrase(
                gettext_noop("{item}: {unit} is not an accepted unit ({allowed})"),
                item=label,
                unit=repr(unit),
                allowed=shown,
            ),
        )
        return None
    entered = {"value": value, "unit": unit}
    if unit == item["unit"]:
        return value, entered
    analyte = analytes.get(item.get("analyte", ""))
    molar_mass = Decimal(str(analyte["molar_mass"])) if analyte else None
    try:
        converted = units.convert(Decimal(value), unit, item["unit"], molar_mass)
    except units.UnitError as exc:
        out.error(
            code, "unit", phrase(gettext_noop("{item}: {problem}"), item=label, problem=exc.args[0])
        )
        return None
    return units.stored_text(converted), entered


def clean_item(
    item: Mapping,
    raw: Any,
    codelists: Mapping,
    today: dt.date,
    out: Collector,
    bounds: DateBounds | None = None,
    *,
    raw_unit: Any = None,
    analytes: Mapping | None = None,
    entered: dict[str, Any] | None = None,
) -> Any:
    """The stored value of one item, or None when empty or invalid (problems go to `out`).
    Dates are checked against `bounds` (by default: today, nothing before birth or consent).

    For an item with alternative units the value is converted to the item's unit and what was
    entered is put into `entered` under the item's code."""
    code = item["code"]
    label = label_of(item)
    kind = item["type"]
    if is_blank(raw):
        return None
    try:
        if kind == "text":
            value: Any = _text_of(raw)
            limit = item.get("max_length")
            if limit is not None and len(value) > limit:
                raise _Invalid(
                    "max_length",
                    phrase(
                        gettext_noop("{count} characters entered; at most {allowed} allowed"),
                        count=len(value),
                        allowed=limit,
                    ),
                )
        elif kind == "integer":
            value = _parse_integer(raw)
        elif kind == "decimal":
            value = _parse_decimal(raw, item.get("decimals"))
        elif kind == "date":
            value = _parse_date(raw)
        elif kind == "partial_date":
            value = _parse_partial_date(raw)
        elif kind == "datetime":
            value = _parse_datetime(raw)
        elif kind == "time":
            value = _parse_time(raw)
        elif kind == "boolean":
            value = _parse_boolean(raw)
        elif kind == "choice":
            value = _parse_choice(raw, _choice_codes(item, codelists))
        elif kind == "multichoice":
            parts = raw if isinstance(raw, list | tuple) else [raw]
            codes = _choice_codes(item, codelists)
            chosen = [_parse_choice(part, codes) for part in parts if not is_blank(part)]
            value = [c for c in codes if c in chosen]
        else:
            raise _Invalid(
                "type", phrase(gettext_noop("unsupported item type {kind}"), kind=repr(kind))
            )
    except _Invalid as exc:
        out.error(
            code,
            exc.code,
            phrase(gettext_noop("{item}: {problem}"), item=label, problem=exc.message),
        )
        return None

    if kind in {"integer", "decimal"} and item.get("alt_units"):
        canonical = _to_canonical(item, value, raw_unit, analytes or {}, out)
        if canonical is None:
            return None
        value = canonical[0]
        if entered is not None:
            entered[code] = canonical[1]
    if kind in {"integer", "decimal"}:
        number = Decimal(value)
        unit = units.display_unit(item.get("unit", ""))
        if "range" in item and (problem := _range_problem(number, item["range"], unit)):
            out.error(
                code,
                "range",
                phrase(
                    gettext_noop("{item}: {problem} (allowed {range})"),
                    item=label,
                    problem=problem,
                    range=describe_range(item["range"], unit),
                ),
            )
            return None
        if "soft_range" in item and (problem := _range_problem(number, item["soft_range"], unit)):
            out.warning(
                code,
                "soft_range",
                phrase(
                    gettext_noop(
                        "{item}: {problem} (expected {range}); confirm the value is correct"
                    ),
                    item=label,
                    problem=problem,
                    range=describe_range(item["soft_range"], unit),
                ),
            )
    if kind in {"date", "partial_date", "datetime"}:
        problem = _date_problem(item, value, bounds or DateBounds(today))
        if problem is not None:
            out.error(
                code,
                problem[0],
                phrase(gettext_noop("{item}: {problem}"), item=label, problem=problem[1]),
            )
            return None
    return value


# ---- forms -------------------------------------------------------------------------------


def _derived_codes(form: Mapping) -> set[str]:
    codes = {i["code"] for i in form.get("items", []) if i.get("derived")}
    for group in form.get("groups", []):
        codes |= {i["code"] for i in group["items"] if i.get("derived")}
    return codes


def _clean_items(
    items: Iterable[Mapping],
    raw: Mapping[str, Any],
    codelists: Mapping,
    bounds: DateBounds,
    out: Collector,
    *,
    check_required: bool,
    analytes: Mapping | None = None,
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    entered: dict[str, Any] = {}
    for item in items:
        if item.get("derived"):
            continue
        value = clean_item(
            item,
            raw.get(item["code"]),
            codelists,
            bounds.today,
            out,
            bounds,
            raw_unit=raw.get(item["code"] + UNIT_SUFFIX),
            analytes=analytes,
            entered=entered,
        )
        if value is None:
            if check_required and item.get("required") and is_blank(raw.get(item["code"])):
                out.error(
                    item["code"],
                    "required",
                    phrase(gettext_noop("{item} is required"), item=label_of(item)),
                )
            continue
        cleaned[item["code"]] = value
        if item["code"] in entered:
            cleaned[item["code"] + ENTERED_SUFFIX] = entered[item["code"]]
    return cleaned


def unit_keys(items: Iterable[Mapping]) -> set[str]:
    """The unit inputs of the items that accept alternative units."""
    return {i["code"] + UNIT_SUFFIX for i in items if i.get("alt_units")}


def _unknown_keys(
    raw: Mapping[str, Any], allowed: set[str], derived: set[str], form_code: str, out: Collector
) -> None:
    for key in raw:
        if key in derived:
            out.error(
                key,
                "derived_item",
                phrase(
                    gettext_noop("{item} is computed by the system and cannot be entered"), item=key
                ),
            )
        elif key not in allowed:
            out.error(
                key,
                "unknown_item",
                phrase(
                    gettext_noop("{item} is not an item of form {form}"),
                    item=repr(key),
                    form=form_code,
                ),
            )


def clean_form(
    form: Mapping,
    codelists: Mapping,
    raw: Mapping[str, Any],
    *,
    today: dt.date,
    complete: bool = True,
    analytes: Mapping | None = None,
    bounds: DateBounds | None = None,
) -> ValidationResult:
    """Clean one form's submitted values item by item (types, ranges, dates, required, rows).

    `complete=False` checks a draft: required items wait until the form is marked complete, but
    types, ranges and dates are checked all the same. Derived items cannot be submitted."""
    result = ValidationResult()
    out = Collector(result.errors, result.warnings)
    if not isinstance(raw, Mapping):
        out.error(
            "", "type", phrase(gettext_noop("the form values must be an object keyed by item code"))
        )
        return result
    derived = _derived_codes(form)
    groups = {g["code"]: g for g in form.get("groups", [])}
    top_codes = {i["code"] for i in form.get("items", [])} | unit_keys(form.get("items", []))
    _unknown_keys(raw, top_codes | set(groups), derived, form["code"], out)

    bounds = bounds or DateBounds(today)
    result.values = _clean_items(
        form.get("items", []),
        raw,
        codelists,
        bounds,
        out,
        check_required=complete,
        analytes=analytes,
    )
    for code, group in groups.items():
        rows = _clean_group(
            group, raw.get(code), codelists, bounds, out, complete, derived, analytes
        )
        if rows:
            result.values[code] = rows
    return result


def run_edit_checks(
    form: Mapping, values: Mapping[str, Any], evaluate: RuleEvaluator
) -> tuple[list[Issue], list[Issue]]:
    """(errors, warnings) of the form's edit checks. A rule states what must hold: it fails
    only when it evaluates to false; a rule that cannot be evaluated (missing data) is silent."""
    errors: list[Issue] = []
    warnings: list[Issue] = []
    out = Collector(errors, warnings)
    for check in form.get("edit_checks", []):
        truth, reason = evaluate(check["rule"], values)
        if truth is not False:
            continue
        item = (check.get("items") or [""])[0]
        said = {"message": Label(source_text(check["message"])), "check": check["code"]}
        message = (
            phrase(gettext_noop("{message} ({reason}; edit check {check})"), reason=reason, **said)
            if reason
            else phrase(gettext_noop("{message} (edit check {check})"), **said)
        )
        if check["severity"] == "error":
            out.error(item, check["code"], message)
        else:
            out.warning(item, check["code"], message)
    return errors, warnings


def validate_form(
    form: Mapping,
    codelists: Mapping,
    raw: Mapping[str, Any],
    *,
    today: dt.date,
    complete: bool = True,
    evaluate: RuleEvaluator | None = None,
    analytes: Mapping | None = None,
) -> ValidationResult:
    """`clean_form`, then the edit checks over the cleaned values when the form is complete.

    Edit checks see only cleaned values: a malformed item is missing to the rule and so cannot
    fire a check by accident."""
    result = clean_form(form, codelists, raw, today=today, complete=complete, analytes=analytes)
    if evaluate is not None and complete:
        errors, warnings = run_edit_checks(form, result.values, evaluate)
        result.errors += errors
        result.warnings += warnings
    return result


def _clean_group(
    group: Mapping,
    raw_rows: Any,
    codelists: Mapping,
    bounds: DateBounds,
    out: Collector,
    complete: bool,
    derived: set[str],
    analytes: Mapping | None = None,
) -> list[dict[str, Any]]:
    name = Label(source_text(group["name"]))
    code = group["code"]
    if raw_rows is None:
        raw_rows = []
    if not isinstance(raw_rows, list | tuple):
        out.errors.append(
            Issue(
                "",
                "type",
                phrase(gettext_noop("{group}: must be a list of rows"), group=name),
                group=code,
            )
        )
        return []
    item_codes = {i["code"] for i in group["items"]}
    unit_inputs = unit_keys(group["items"])
    rows: list[dict[str, Any]] = []
    for index, raw_row in enumerate(raw_rows, start=1):
        row_out = Collector(out.errors, out.warnings, code, index)
        if not isinstance(raw_row, Mapping):
            row_out.error(
                "",
                "type",
                phrase(
                    gettext_noop("{group} row {row}: must be an object keyed by item code"),
                    group=name,
                    row=index,
                ),
            )
            continue
        _unknown_keys(
            raw_row,
            item_codes | unit_inputs,
            derived,
            phrase(gettext_noop("{group} row {row}"), group=code, row=index),
            row_out,
        )
        if all(is_blank(raw_row.get(c)) for c in item_codes):
            continue
        row = _clean_items(
            group["items"],
            raw_row,
            codelists,
            bounds,
            row_out,
            check_required=complete,
            analytes=analytes,
        )
        if row:
            rows.append(row)
    if complete and "min" in group and len(rows) < group["min"]:
        out.errors.append(
            Issue(
                "",
                "min_rows",
                phrase(
                    gettext_noop("{group}: at least {count} row(s) required"),
                    group=name,
                    count=group["min"],
                ),
                group=code,
            )
        )
    if "max" in group and len(rows) > group["max"]:
        out.errors.append(
            Issue(
                "",
                "max_rows",
                phrase(
                    gettext_noop("{group}: at most {count} row(s) allowed"),
                    group=name,
                    count=group["max"],
                ),
                group=code,
            )
        )
    return rows


# ---- HTML form input ---------------------------------------------------------------------


def values_from_post(form: Mapping, post: Any, control_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Nested raw values from flat HTML field names.

    Top-level items are named by their code; a group row's item is `group.N.ITEM` (N from 0).
    `post` behaves like Django's QueryDict (`getlist`). Keys not shaped like an item are kept
    as they are, so `validate_form` reports them as unknown rather than silently dropping them.
    """
    skip = set(control_keys)
    multi = {i["code"] for i in form.get("items", []) if i["type"] == "multichoice"}
    group_multi = {
        g["code"]: {i["code"] for i in g["items"] if i["type"] == "multichoice"}
        for g in form.get("groups", [])
    }
    values: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for key in post:
        if key in skip:
            continue
        parts = key.split(".")
        if len(parts) == 3 and parts[0] in group_multi and parts[1].isdigit():
            group, index, code = parts[0], int(parts[1]), parts[2]
            entries = post.getlist(key)
            row = rows.setdefault(group, {}).setdefault(index, {})
            row[code] = entries if code in group_multi[group] else entries[-1]
            continue
        entries = post.getlist(key)
        values[key] = entries if key in multi else entries[-1]
    for group, by_index in rows.items():
        values[group] = [by_index[i] for i in sorted(by_index)]
    return values
