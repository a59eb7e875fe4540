"""Site laboratory normal ranges filling the LLN/ULN items of a lab form. Pure Python.

A lab result item names its limits (`uln_item`, `lln_item`). Its sample date is the nearest date
item above it on the form (haematology, biochemistry... each have their own). The applicable
range is the site's range for that test, effective on or before the sample date (the latest
wins), for the subject's sex and age at the sample date; a range for one sex or an age band is
preferred over an open one of the same date. A range in another unit is converted to the
limit item's unit (with the analyte's molar mass between mass and substance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crf.rules import units

LIMITS = (("lln_item", "lln"), ("uln_item", "uln"))


@dataclass(frozen=True)
class SiteRange:
    pk: int
    lab_test: str
    unit: str
    sex: str  # "" for any
    age_from: int | None
    age_to: int | None
    lln: Decimal | None
    uln: Decimal | None
    effective_from: dt.date


@dataclass(frozen=True)
class Fill:
    """The value a site range gives one limit item of the form."""

    item: str  # the LLN/ULN item code
    bound: str  # "lln" or "uln"
    value: str  # in the limit item's unit, as stored
    unit: str  # the limit item's unit
    range: SiteRange
    sample_date: dt.date

    def as_note(self) -> dict[str, Any]:
        return {
            "range_id": self.range.pk,
            "bound": self.bound,
            "value": self.value,
            "unit": self.unit,
            "range_value": units.stored_text(getattr(self.range, self.bound)),
            "range_unit": self.range.unit,
            "effective_from": self.range.effective_from.isoformat(),
            "sample_date": self.sample_date.isoformat(),
        }


def limit_items(form: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The result items of a form that name an LLN or ULN item."""
    return [i for i in form.get("items", []) if "uln_item" in i or "lln_item" in i]


def lab_tests(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every result item with limits, by code, over the study's forms (first form wins)."""
    tests: dict[str, Mapping[str, Any]] = {}
    for form in definition.get("forms", []):
        for item in limit_items(form):
            tests.setdefault(item["code"], item)
    return tests


def age_on(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def applicable(
    ranges: Iterable[SiteRange], lab_test: str, sample_date: dt.date, sex: str, age: int | None
) -> SiteRange | None:
    def fits(r: SiteRange) -> bool:
        return (
            r.lab_test == lab_test
            and r.effective_from <= sample_date
            and (not r.sex or r.sex == sex)
            and (r.age_from is None or (age is not None and age >= r.age_from))
            and (r.age_to is None or (age is not None and age <= r.age_to))
        )

    candidates = [r for r in ranges if fits(r)]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda r: (
            r.effective_from,
            bool(r.sex),
            r.age_from is not None or r.age_to is not None,
        ),
    )


def _date(raw: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw).strip()) if raw not in (None, "") else None
    except ValueError:
        return None


def sample_dates(form: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, dt.date]:
    """Result item code -> the nearest date item above it that has a value."""
    dates: dict[str, dt.date] = {}
    current: dt.date | None = None
    for item in form.get("items", []):
        if item["type"] == "date":
            current = _date(values.get(item["code"]))
        elif current is not None:
            dates[item["code"]] = current
    return dates


def fills(
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    ranges: Sequence[SiteRange],
    *,
    sex: str,
    born: dt.date | None,
    analytes: Mapping[str, Any],
) -> list[Fill]:
    """What the site's ranges give each LLN/ULN item of the form, for the values entered."""
    items = {i["code"]: i for i in form.get("items", [])}
    dates = sample_dates(form, values)
    found: list[Fill] = []
    for result in limit_items(form):
        sampled = dates.get(result["code"])
        if sampled is None:
            continue
        chosen = applicable(ranges, result["code"], sampled, sex, age_on(born, sampled))
        if chosen is None:
            continue
        analyte = analytes.get(result.get("analyte", ""))
        molar_mass = Decimal(str(analyte["molar_mass"])) if analyte else None
        for key, attribute in LIMITS:
            limit = items.get(result.get(key, ""))
            bound = getattr(chosen, attribute)
            if limit is None or bound is None:
                continue
            target = limit.get("unit") or chosen.unit
            try:
                value = units.convert(bound, chosen.unit, target, molar_mass)
            except units.UnitError:
                continue  # a range check_study-like validation refused on entry; never guess
            # Rounded to the limit item's decimals, so the filled value is one it accepts.
            text = units.stored_text(value, limit.get("decimals", 4))
            found.append(Fill(limit["code"], attribute, text, target, chosen, sampled))
    return found
