"""Writes of site laboratory normal ranges: one transaction each, with its audit rows.

Site staff, investigators and data managers enter a site's ranges (Permission.MANAGE_LAB_RANGES).
A range is never deleted; a change to a saved range needs a reason and is audited item by item.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from crf.lab_ranges import lab_tests
from crf.models import LabNormalRange, LabRangeSex
from crf.rules import units
from edc.accounts.roles import Permission
from edc.accounts.scoping import authorize
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record_changes, require_reason
from edc.errors import DomainError
from edc.studies.models import Site

FIELDS = ("lab_test", "unit", "sex", "age_from", "age_to", "lln", "uln", "effective_from")


@dataclass(frozen=True)
class RangeInput:
    """A range as submitted (strings from a page or JSON values from the API)."""

    lab_test: Any
    unit: Any
    sex: Any = ""
    age_from: Any = None
    age_to: Any = None
    lln: Any = None
    uln: Any = None
    effective_from: Any = None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any, field: str) -> Decimal | None:
    if _blank(value):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise DomainError(
            "invalid", field, gettext("%(value)r is not a number") % {"value": value}
        ) from None
    if not number.is_finite() or number < 0:
        raise DomainError("invalid", field, gettext("must be a number of 0 or more"))
    if number.as_tuple().exponent < -4:  # type: ignore[operator]
        raise DomainError("invalid", field, gettext("at most 4 decimal places"))
    return number


def _age(value: Any, field: str) -> int | None:
    if _blank(value):
        return None
    text = str(value).strip()
    if not text.isdigit() or int(text) > 150:
        raise DomainError("invalid", field, gettext("must be a whole number of years, 0 to 150"))
    return int(text)


def clean_range(site: Site, data: RangeInput) -> dict[str, Any]:
    """The stored fields of a range, or a DomainError naming the field and the rule."""
    tests = lab_tests(site.study.definition)
    lab_test = str(data.lab_test or "").strip()
    if lab_test not in tests:
        raise DomainError(
            "invalid",
            "lab_test",
            gettext("%(test)r is not a lab test with normal limits in this study")
            % {"test": lab_test},
        )
    item = tests[lab_test]
    unit = str(data.unit or "").strip() or item.get("unit", "")
    if not units.is_known(unit):
        raise DomainError(
            "invalid", "unit", gettext("%(unit)r is not a UCUM unit code") % {"unit": unit}
        )
    if item.get("unit"):
        kind = units.conversion(unit, item["unit"])
        analyte = site.study.definition.get("analytes", {}).get(item.get("analyte", ""))
        if kind is units.Conversion.INCOMPATIBLE or (
            kind is units.Conversion.NEEDS_MOLAR_MASS and not analyte
        ):
            raise DomainError(
                "invalid",
                "unit",
                gettext("%(unit)s cannot be converted to %(item_unit)s, the unit of %(test)s")
                % {"unit": unit, "item_unit": item["unit"], "test": lab_test},
            )
    sex = str(data.sex or "").strip()
    if sex not in {s.value for s in LabRangeSex}:
        raise DomainError("invalid", "sex", gettext("must be M, F or empty (any)"))
    age_from, age_to = _age(data.age_from, "age_from"), _age(data.age_to, "age_to")
    if age_from is not None and age_to is not None and age_from > age_to:
        raise DomainError("invalid", "age_to", gettext("must not be below the lowest age"))
    lln, uln = _number(data.lln, "lln"), _number(data.uln, "uln")
    if lln is None and uln is None:
        raise DomainError("invalid", "uln", gettext("give a lower or an upper limit, or both"))
    if lln is not None and uln is not None and lln > uln:
        raise DomainError("invalid", "lln", gettext("must not exceed the upper limit"))
    if isinstance(data.effective_from, dt.date):
        effective = data.effective_from
    else:
        try:
            effective = dt.date.fromisoformat(str(data.effective_from or "").strip())
        except ValueError:
            raise DomainError(
                "invalid", "effective_from", gettext("must be a date written YYYY-MM-DD")
            ) from None
    return {
        "lab_test": lab_test,
        "unit": unit,
        "sex": sex,
        "age_from": age_from,
        "age_to": age_to,
        "lln": lln,
        "uln": uln,
        "effective_from": effective,
    }


def _duplicate(site: Site, fields: dict[str, Any], exclude_pk: int | None) -> bool:
    same = LabNormalRange.objects.filter(
        site=site,
        lab_test=fields["lab_test"],
        sex=fields["sex"],
        age_from=fields["age_from"],
        age_to=fields["age_to"],
        effective_from=fields["effective_from"],
    )
    return same.exclude(pk=exclude_pk).exists()


def _audit_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return units.stored_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@transaction.atomic
def save_lab_range(
    ctx: ChangeContext,
    site: Site,
    data: RangeInput,
    *,
    range_pk: int | None = None,
    row_version: int = 0,
) -> LabNormalRange:
    """Add a range (`range_pk` None) or change one; a change needs `ctx.reason`, and the
    version the user opened (`row_version`) must still be current."""
    authorize(ctx, Permission.MANAGE_LAB_RANGES, site.study_id, site.pk)
    fields = clean_range(site, data)
    existing = None
    if range_pk is not None:
        existing = LabNormalRange.objects.select_for_update().filter(site=site, pk=range_pk).first()
        if existing is None:
            raise DomainError(
                "not_found", "range", gettext("no such range at this site"), status=404
            )
        if existing.row_version != row_version:
            raise DomainError(
                "stale_write",
                "row_version",
                gettext("this range was changed by someone else since you opened it; reload it"),
                status=409,
            )
        require_reason(ctx)
    if _duplicate(site, fields, existing.pk if existing else None):
        raise DomainError(
            "duplicate_range",
            "effective_from",
            gettext("the site already has a range for this test, sex and age band from this date"),
            status=409,
        )
    old = {name: getattr(existing, name) for name in FIELDS} if existing else {}
    if existing is None:
        existing = LabNormalRange.objects.create(site=site, created_by=ctx.actor, **fields)
        action = "create"
    else:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.row_version += 1
        existing.save()
        action = "update"
    changes = [
        Change(name, _audit_value(old.get(name)), _audit_value(fields[name]))
        for name in FIELDS
        if old.get(name) != fields[name] or action == "create"
    ]
    record_changes(
        ctx,
        action,
        changes,
        object_type="crf.LabNormalRange",
        object_id=existing.pk,
        study=site.study,
        site=site,
    )
    return existing
