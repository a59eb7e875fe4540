"""Plausible, valid values for any form of a study definition (demo data and the benchmark).

Pure Python: no Django import. Numbers sit in the middle of the expected range, dates on the
visit day, choices on the first code (yes for attestations and consent, no for history
questions); `overrides` put clinical sense where it matters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

YES_FORMS = {"consent"}


def _middle(item: Mapping[str, Any]) -> Decimal:
    bounds = item.get("soft_range") or item.get("range") or {}
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None:
        return (Decimal(str(low)) + Decimal(str(high))) / 2
    if low is not None:
        return Decimal(str(low)) + 1
    if high is not None:
        return Decimal(str(high)) / 2
    return Decimal(1)


def _codes(item: Mapping[str, Any], codelists: Mapping[str, Any]) -> list[Any]:
    if "choices" in item:
        return [c["code"] for c in item["choices"]]
    return [c["code"] for c in codelists.get(item.get("codelist", ""), [])]


def sample_value(
    item: Mapping[str, Any], codelists: Mapping[str, Any], on: dt.date, *, yes: bool
) -> Any:
    kind = item["type"]
    if kind == "date":
        return on.isoformat()
    if kind == "partial_date":
        return on.isoformat()[:7]
    if kind == "datetime":
        return f"{on.isoformat()}T09:00"
    if kind == "time":
        return "09:00"
    if kind == "integer":
        return str(int(_middle(item).to_integral_value(rounding=ROUND_HALF_UP)))
    if kind == "decimal":
        places = item.get("decimals", 1)
        return str(_middle(item).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    if kind == "boolean":
        return yes
    if kind == "text":
        return "demo"[: item.get("max_length", 4)]
    codes = _codes(item, codelists)
    if kind == "multichoice":
        return [str(codes[0])]
    if {"Y", "N"} <= {str(c) for c in codes}:
        return "Y" if yes else "N"
    return str(codes[0])


def sample_form(
    form: Mapping[str, Any],
    codelists: Mapping[str, Any],
    on: dt.date,
    overrides: Mapping[str, Any] | None = None,
    *,
    only_required: bool = False,
) -> dict[str, Any]:
    """Values for every top-level item (or only the required ones), then `overrides` on top;
    an override of None removes the item."""
    yes = form.get("kind") == "eligibility" or form["code"] in YES_FORMS
    values: dict[str, Any] = {}
    for item in form.get("items", []):
        if item.get("derived") or (only_required and not item.get("required")):
            continue
        values[item["code"]] = sample_value(item, codelists, on, yes=yes)
    for code, value in (overrides or {}).items():
        if value is None:
            values.pop(code, None)
        else:
            values[code] = value
    return values
