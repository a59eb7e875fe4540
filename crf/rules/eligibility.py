"""Eligibility criteria of a study definition evaluated against one subject's data (domain spec 1.6.6).

Each criterion gives pass | fail | missing | attested_yes | attested_no with a readable reason: `reasons`
are the steps as translatable phrases (edc/phrases.py) for the page, `reason` the English working
that records and the API keep. An exclusion
that does not apply is a pass. Attestation items are phrased so that "Y" is the eligible answer, for
inclusions and exclusions alike. A `rule_and_attestation` criterion needs both: its rule must be satisfied
and the investigator must attest "Y".

Investigator e-signature and sponsor waivers are checked by the Django layer, not here. Pure module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from crf.rules.expressions import (
    ItemLabel,
    Labels,
    Outcome,
    SubjectData,
    evaluate_condition,
    normalize,
)
from edc.phrases import Label, Phrase, gettext_noop, phrase

POINTS = ("registration", "randomization", "first_dose")
YES = {"Y", "YES", True}
NO = {"N", "NO", False}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"
    ATTESTED_YES = "attested_yes"
    ATTESTED_NO = "attested_no"


SATISFIED = {Status.PASS, Status.ATTESTED_YES}


@dataclass(frozen=True)
class CriterionResult:
    id: str
    kind: str
    status: Status
    reason: str
    evaluated_at: tuple[str, ...]
    review: tuple[str, ...] = ()
    reasons: tuple[Phrase, ...] = ()
    review_reasons: tuple[Phrase, ...] = ()

    @property
    def satisfied(self) -> bool:
        return self.status in SATISFIED

    def due_by(self, point: str) -> bool:
        return _first_point(self.evaluated_at) <= POINTS.index(point)


def _first_point(points: Iterable[str]) -> int:
    indices = [POINTS.index(p) for p in points]
    if not indices:
        raise ValueError("a criterion needs at least one evaluation point")
    return min(indices)


def is_due(criterion: Mapping[str, Any], point: str, *, only_at_point: bool = False) -> bool:
    """Due at `point` if one of its evaluation points is at or before it (registration < randomization <
    first_dose); with `only_at_point`, only criteria that list `point` itself."""
    if point not in POINTS:
        raise ValueError(f"unknown evaluation point {point!r}")
    if only_at_point:
        return point in criterion["evaluated_at"]
    return _first_point(criterion["evaluated_at"]) <= POINTS.index(point)


def evaluate(
    criteria: Sequence[Mapping[str, Any]],
    data: SubjectData,
    point: str,
    *,
    labels: Labels | None = None,
    only_at_point: bool = False,
) -> list[CriterionResult]:
    """Results for the criteria due at `point`, in definition order.

    In a register-before-induction study the first (induction) dose comes before randomization: gate it with
    `evaluate(criteria, data, "first_dose", only_at_point=True)`.
    """
    return [
        evaluate_criterion(c, data, labels=labels)
        for c in criteria
        if is_due(c, point, only_at_point=only_at_point)
    ]


def evaluate_criterion(
    criterion: Mapping[str, Any], data: SubjectData, *, labels: Labels | None = None
) -> CriterionResult:
    kind = criterion["kind"]
    rule_result = (
        evaluate_condition(criterion["rule"], data, labels) if "rule" in criterion else None
    )
    attested = (
        _attestation(criterion["attestation"], data, labels or {})
        if "attestation" in criterion
        else None
    )
    status, reason = _combine(kind, rule_result, attested)
    review = rule_result.review if rule_result else ()
    return CriterionResult(
        id=criterion["id"],
        kind=kind,
        status=status,
        reason=reason,
        evaluated_at=tuple(criterion["evaluated_at"]),
        review=tuple(str(r) for r in review),
        reasons=_steps(status, rule_result, attested),
        review_reasons=review,
    )


def randomization_allowed(results: Iterable[CriterionResult]) -> tuple[bool, list[str]]:
    """True when every criterion due by randomization passes or is attested yes (no exclusion applies)."""
    blocking = [
        f"{r.id} {r.status.value}: {r.reason}"
        for r in results
        if r.due_by("randomization") and not r.satisfied
    ]
    return not blocking, blocking


def item_labels(definition: Mapping[str, Any]) -> dict[str, ItemLabel]:
    """Label, unit and type of every item ("form.ITEM"); names of repeating groups and forms."""
    labels: dict[str, ItemLabel] = {}
    analytes = definition.get("analytes", {})
    for form in definition.get("forms", []):
        labels[form["code"]] = ItemLabel(form["name"])
        for item in form.get("items", []):
            labels[f"{form['code']}.{item['code']}"] = _item_label(item, analytes)
        for group in form.get("groups", []):
            labels[f"{form['code']}.{group['code']}"] = ItemLabel(group["name"])
            for item in group["items"]:
                labels[f"{form['code']}.{item['code']}"] = _item_label(item, analytes)
    return labels


def _item_label(item: Mapping[str, Any], analytes: Mapping[str, Any]) -> ItemLabel:
    analyte = analytes.get(item.get("analyte", ""))
    molar_mass = Decimal(str(analyte["molar_mass"])) if analyte else None
    return ItemLabel(item["label"], item.get("unit"), item["type"], molar_mass)


def subject_context(
    enrolment_model: str,
    *,
    consent_date: date | None = None,
    registration_date: date | None = None,
    randomization_date: date | None = None,
    first_dose_date: date | None = None,
    today: date | None = None,
) -> dict[str, date]:
    """Context dates for the rules. Enrolment is registration when induction is on study
    (register_before_induction) and randomization otherwise. When checking before an event, pass the
    intended date of that event (e.g. today as randomization_date)."""
    if enrolment_model == "register_before_induction":
        enrol_date = registration_date
    elif enrolment_model == "enrol_after_induction":
        enrol_date = randomization_date
    else:
        raise ValueError(f"unknown enrolment model {enrolment_model!r}")
    dates = {
        "consent_date": consent_date,
        "registration_date": registration_date,
        "randomization_date": randomization_date,
        "first_dose_date": first_dose_date,
        "enrol_date": enrol_date,
        "today": today,
    }
    return {name: value for name, value in dates.items() if value is not None}


# ---- combination ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attested:
    answer: bool | None
    phrase: Phrase

    @property
    def text(self) -> str:
        return str(self.phrase)


def _attestation(ref: Mapping[str, str], data: SubjectData, labels: Labels) -> _Attested:
    key = f"{ref['form']}.{ref['item']}"
    label = labels.get(key)
    name = Label(label.label if label else key)
    raw = normalize((data.forms.get(ref["form"]) or {}).get(ref["item"]))
    if isinstance(raw, str):
        raw = raw.upper()
    if raw in YES:
        return _Attested(
            True,
            phrase(
                gettext_noop("The investigator attested yes: {name}"),
                gettext_noop("investigator attested yes: {name}"),
                name=name,
            ),
        )
    if raw in NO:
        return _Attested(
            False,
            phrase(
                gettext_noop("The investigator attested no: {name}"),
                gettext_noop("investigator attested no: {name}"),
                name=name,
            ),
        )
    return _Attested(
        None,
        phrase(
            gettext_noop("The attestation is not recorded yet: {name}"),
            gettext_noop("attestation not recorded: {name}"),
            name=name,
        ),
    )


def _steps(status: Status, rule: Outcome | None, attested: _Attested | None) -> tuple[Phrase, ...]:
    """The explanation the page shows, step by step, for the status `_combine` gave."""
    rule_steps = tuple(rule.reasons) if rule is not None else ()
    if rule is not None and not rule_steps:
        rule_steps = (phrase(gettext_noop("no details")),)
    if status is Status.FAIL:
        return rule_steps
    if status is Status.ATTESTED_NO:
        return (attested.phrase,) if attested else ()
    if status is Status.MISSING:
        steps = rule_steps if rule is not None and rule.truth is None else ()
        if attested is not None and attested.answer is None:
            steps += (attested.phrase,)
        return steps
    if status is Status.ATTESTED_YES:
        return tuple(rule.reasons if rule else ()) + ((attested.phrase,) if attested else ())
    return rule_steps


def _combine(kind: str, rule: Outcome | None, attested: _Attested | None) -> tuple[Status, str]:
    """Rule and attestation must both hold; a failed rule outranks a 'no', which outranks missing."""
    if rule is None and attested is None:
        raise ValueError("a criterion needs a rule or an attestation")
    exclusion = kind == "exclusion"
    satisfied = None if rule is None or rule.truth is None else rule.truth is not exclusion
    rule_text = (rule.reason if rule else "") or "no details"
    if satisfied is False:
        return Status.FAIL, f"{rule_text} ⇒ {'excluded' if exclusion else 'fail'}"
    if attested is not None and attested.answer is False:
        return Status.ATTESTED_NO, attested.text
    missing = []
    if rule is not None and satisfied is None:
        missing.append(rule_text)
    if attested is not None and attested.answer is None:
        missing.append(attested.text)
    if missing:
        return Status.MISSING, "; ".join(missing) + " ⇒ missing"
    if attested is not None:
        prefix = f"{rule.reason}; " if rule is not None and rule.reason else ""
        return Status.ATTESTED_YES, prefix + attested.text
    return Status.PASS, f"{rule_text} ⇒ {'not excluded' if exclusion else 'pass'}"
