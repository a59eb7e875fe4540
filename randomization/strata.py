"""Stratification values come from the subject's CRF data, never from the caller alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from crf.models import FormInstance, FormStatus
from edc.errors import DomainError
from randomization.scheme_params import level_code


class StrataMissing(DomainError):
    def __init__(self, factors: list[str], where: list[str]):
        super().__init__(
            "strata_missing",
            f"strata.{factors[0]}",
            gettext(
                "no value on the CRF for stratification factor(s) %(factors)s; complete the "
                "randomization form first"
            )
            % {"factors": ", ".join(f"{f} ({w})" for f, w in zip(factors, where, strict=True))},
            details=[
                {"field": f"strata.{f}", "message": gettext("missing on %(where)s") % {"where": w}}
                for f, w in zip(factors, where, strict=True)
            ],
        )


FormLocation = tuple[str, int, str, int]


def crf_strata(subject, params: Mapping[str, Any]) -> dict[str, str]:
    """The subject's level of every factor, read from the latest form holding its source item."""
    return crf_strata_and_form(subject, params)[0]


def crf_strata_and_form(
    subject, params: Mapping[str, Any]
) -> tuple[dict[str, str], FormLocation | None]:
    """Levels, and where the randomization form they came from is (event, repeat, form,
    repeat), so the allocation can be written back to its derived items."""
    factors = params["factors"]
    if not factors:
        return {}, None
    forms = sorted({f["source"]["form"] for f in factors})
    instances = (
        FormInstance.objects.filter(subject_id=subject.pk, form_code__in=forms)
        .exclude(status__in=[FormStatus.REMOVED, FormStatus.NOT_DONE])
        .order_by("-created_at", "-id")
        .values_list("form_code", "data", "event_code", "event_repeat", "form_repeat")
    )
    latest: dict[str, dict] = {}
    where_is: dict[str, FormLocation] = {}
    for form_code, data, event_code, event_repeat, form_repeat in instances:
        if form_code not in latest:
            latest[form_code] = data or {}
            where_is[form_code] = (event_code, event_repeat, form_code, form_repeat)
    values: dict[str, str] = {}
    missing: list[str] = []
    where: list[str] = []
    for factor in factors:
        source = factor["source"]
        value = latest.get(source["form"], {}).get(source["item"])
        if value in (None, ""):
            missing.append(factor["code"])
            where.append(f"{source['form']}.{source['item']}")
            continue
        levels = [level["code"] for level in factor["levels"]]
        # Levels are text (scheme_params.level_code): an integer code 0 is stored as 0 on the
        # form and is the level "0".
        value = level_code(value)
        if value not in levels:
            raise DomainError(
                "strata_invalid",
                f"strata.{factor['code']}",
                gettext(
                    "the CRF value %(value)s of %(item)s is not a level of %(factor)s (%(levels)s)"
                )
                % {
                    "value": repr(value),
                    "item": f"{source['form']}.{source['item']}",
                    "factor": factor["code"],
                    "levels": ", ".join(levels),
                },
            )
        values[factor["code"]] = value
    if missing:
        raise StrataMissing(missing, where)
    return values, where_is.get(factors[0]["source"]["form"])


def check_caller_strata(
    from_crf: Mapping[str, str],
    sent: Mapping[str, Any] | None,
    params: Mapping[str, Any],
    site_code: str,
) -> None:
    """A caller may send the levels it believes in; any disagreement with the CRF is refused."""
    if not sent:
        return
    # The site is always frozen with the allocation, so a caller may state it too.
    known = {f["code"] for f in params["factors"]} | {"site"}
    unknown = sorted(set(sent) - known)
    if unknown:
        raise DomainError(
            "strata_unknown",
            f"strata.{unknown[0]}",
            gettext("%(unknown)s is not a stratification factor of this study (factors: %(known)s)")
            % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(known))},
        )
    actual = {**from_crf, "site": site_code}
    for code in sorted(sent):
        if str(sent[code]) != actual.get(code):
            raise DomainError(
                "strata_mismatch",
                f"strata.{code}",
                gettext(
                    "%(factor)s was sent as %(sent)s but the subject's record says %(actual)s; "
                    "correct the CRF or the request"
                )
                % {"factor": code, "sent": repr(sent[code]), "actual": repr(actual.get(code))},
                status=409,
            )
