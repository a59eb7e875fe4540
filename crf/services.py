"""Writes of case report form data. Each write is one transaction with its audit rows.

`save_form` is the only way form data changes, from the browser and the API alike, so validation,
reason for change, optimistic concurrency and the audit trail cannot be bypassed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from crf import derivations, edit_checks, lab_range_selectors, lab_ranges, recist_form, selectors
from crf.changes import item_changes, overwrites_saved_value
from crf.definitions import study_forms
from crf.models import (
    DeviationKind,
    EligibilityConfirmation,
    EligibilityWaiver,
    FormInstance,
    FormStatus,
    ProtocolDeviation,
)
from crf.notifications import notify_serious_adverse_event
from crf.rules import units
from crf.study_forms import StudyForms, UnknownSlot
from crf.subject_record import StoredForm, build_subject_data
from crf.validation import (
    DEFAULT_FUTURE_YEARS,
    UNIT_SUFFIX,
    Collector,
    DateBounds,
    Issue,
    clean_form,
    clean_item,
    is_blank,
    run_edit_checks,
)
from edc import labels
from edc.accounts import signing
from edc.accounts.roles import Permission
from edc.accounts.scoping import authorize, scope_of
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record, record_changes, require_reason
from edc.datamanagement import services as datamanagement
from edc.errors import DomainError
from edc.reminders import services as reminders
from edc.subjects import services as subject_services
from edc.subjects.models import Subject


class FormInvalid(DomainError):
    """Hard errors: nothing is saved. `details` lists every problem with its item path."""

    def __init__(self, errors: list[Issue], warnings: list[Issue]):
        first = errors[0]
        more = len(errors) - 1
        super().__init__(
            "invalid",
            first.path,
            gettext("%(message)s (and %(count)s more problem(s))")
            % {"message": first.message, "count": more}
            if more
            else first.message,
            details=[i.as_dict() for i in errors + warnings],
        )
        self.errors = errors
        self.warnings = warnings


class WarningsNeedConfirmation(DomainError):
    """Soft warnings: the save goes through only when the user confirms them."""

    def __init__(self, warnings: list[Issue]):
        first = warnings[0]
        super().__init__(
            "confirm_warnings",
            first.path,
            gettext(
                "%(count)s warning(s) need confirmation before saving; confirming opens a "
                "query for each. First: %(message)s"
            )
            % {"count": len(warnings), "message": first.message},
            details=[w.as_dict() for w in warnings],
        )
        self.warnings = warnings


class StaleForm(DomainError):
    status = 409

    def __init__(self, form_name: str, event_name: str, current: int, yours: int):
        super().__init__(
            "stale_write",
            "row_version",
            f"{form_name} at {event_name} was saved by someone else since you opened it "
            f"(now version {current}, you opened version {yours}); nothing was saved — reload "
            "the form and re-enter your change",
        )


def _lock_subject_row(subject: Subject) -> None:
    """Lock only the subject's row (no join: the default ordering would join and lock the
    study row too, serialising every new form of the study)."""
    list(
        Subject.objects.select_for_update(of=("self",))
        .filter(pk=subject.pk)
        .order_by()
        .values_list("pk", flat=True)
    )


def _slot_error(exc: UnknownSlot) -> DomainError:
    return DomainError(exc.code, "form", exc.message, status=404)


@dataclass
class Evaluation:
    """A form's values checked and completed with its derived items, nothing saved."""

    values: dict[str, Any]
    notes: dict[str, Any]
    errors: list[Issue]
    warnings: list[Issue]
    stored: list[StoredForm]
    # LLN/ULN values entered over the site's range for the first time: (fill, value entered).
    new_overrides: list[tuple[lab_ranges.Fill, str]] = field(default_factory=list)


def _person(forms: StudyForms, stored: list[StoredForm]) -> tuple[str, dt.date | None]:
    """The subject's sex and date of birth from their saved forms."""
    sex, born = "", None
    for s in stored:
        if s.data.get("SEX"):
            sex = str(s.data["SEX"])
        if s.data.get("BRTHDAT") and len(str(s.data["BRTHDAT"])) == 10:
            born = dt.date.fromisoformat(str(s.data["BRTHDAT"]))
    return sex, born


def _fill_lab_limits(
    subject: Subject,
    forms: StudyForms,
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    instance_pk: int | None,
) -> tuple[dict[str, Any], list[lab_ranges.Fill], set[str]]:
    """(values with blank LLN/ULN items filled from the site's ranges, every applicable fill,
    the items filled). One query for the site's ranges, one for the subject's demographics."""
    if not lab_ranges.limit_items(form):
        return dict(values), [], set()
    ranges = lab_range_selectors.site_ranges(subject.site_id)
    if not ranges:
        return dict(values), [], set()
    person_forms = {
        code
        for code, f in forms.forms.items()
        if {"SEX", "BRTHDAT"} & {i["code"] for i in f.get("items", [])}
    }
    sex, born = _person(
        forms, selectors.stored_forms(subject, person_forms, exclude_pk=instance_pk)
    )
    fills = lab_ranges.fills(
        form,
        values,
        ranges,
        sex=sex,
        born=born,
        analytes=forms.definition.get("analytes", {}),
    )
    filled = dict(values)
    items = {i["code"]: i for i in form.get("items", [])}
    done: set[str] = set()
    for fill in fills:
        if is_blank(filled.get(fill.item)):
            filled[fill.item] = fill.value
            if items[fill.item].get("alt_units"):
                filled[fill.item + UNIT_SUFFIX] = fill.unit
            done.add(fill.item)
    return filled, fills, done


def _range_notes(
    fills: list[lab_ranges.Fill],
    filled: set[str],
    cleaned: Mapping[str, Any],
    accepted: Mapping[str, Any],
    reason: str,
) -> tuple[dict[str, Any], list[Issue], list[tuple[lab_ranges.Fill, str]]]:
    """Notes on each range-backed limit, errors for overrides without a reason, and the
    overrides to audit. An override already saved with the same value needs no new reason."""
    notes: dict[str, Any] = {}
    errors: list[Issue] = []
    overrides: list[tuple[lab_ranges.Fill, str]] = []
    for fill in fills:
        entered = cleaned.get(fill.item)
        note = {**fill.as_note(), "overridden": False}
        if (
            fill.item not in filled
            and entered is not None
            and Decimal(str(entered)) != Decimal(fill.value)
        ):
            previous = accepted.get(fill.item)
            note.update(overridden=True, entered=str(entered))
            if previous and previous.get("entered") == str(entered):
                note["reason"] = previous.get("reason", "")
            elif not reason:
                errors.append(
                    Issue(
                        fill.item,
                        "range_override_reason",
                        gettext(
                            "%(item)s: %(entered)s differs from the site's normal range "
                            "(%(value)s %(unit)s, effective from %(date)s); give a reason for "
                            "overriding it"
                        )
                        % {
                            "item": fill.item,
                            "entered": entered,
                            "value": fill.value,
                            "unit": units.display_unit(fill.unit),
                            "date": fill.range.effective_from.isoformat(),
                        },
                    )
                )
            else:
                note["reason"] = reason
                overrides.append((fill, str(entered)))
        notes[fill.item] = note
    return notes, errors, overrides


def evaluate_form(
    subject: Subject,
    forms: StudyForms,
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    instance_pk: int | None,
    today: dt.date,
    complete: bool,
    range_override_reason: str = "",
    accepted_overrides: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Clean the values, derive the derived items, then run the edit checks over both.

    Blank LLN/ULN items are filled from the site's normal ranges first; a limit entered over
    a range needs `range_override_reason` unless `accepted_overrides` (the stored form's) already
    holds it. Reads the subject's other forms only when a derivation, an edit check or a date
    limit needs them."""
    values, fills, filled = _fill_lab_limits(subject, forms, form, values, instance_pk)
    anchors = _not_before_anchors(form)
    birth_ref = forms.definition.get("dates", {}).get("birth_date")
    referenced, dates = edit_checks.references(form) if complete else (set(), set())
    needed = derivations.needed_forms(form, forms) | referenced
    if "first_dose_date" in dates:
        needed |= {f["code"] for f in forms.forms_of_kind("treatment")}
    if "birth" in anchors and birth_ref and birth_ref["form"] != form["code"]:
        needed.add(birth_ref["form"])
    stored = selectors.stored_forms(subject, needed, exclude_pk=instance_pk) if needed else []
    bounds = DateBounds(
        today,
        forms.definition.get("dates", {}).get("future_limit_years", DEFAULT_FUTURE_YEARS),
        birth=_birth_date(birth_ref, form, values, stored) if "birth" in anchors else None,
        consent=selectors.consent_date(subject) if "consent" in anchors else None,
    )
    cleaned = clean_form(
        form,
        forms.codelists,
        values,
        today=today,
        complete=complete,
        analytes=forms.definition.get("analytes", {}),
        bounds=bounds,
    )
    derived = derivations.derive(
        form,
        forms,
        cleaned.values,
        stored,
        reference_date=subject.randomization_date,
    )
    full = {**cleaned.values, **{k: v for k, v in derived.items.items() if v is not None}}
    range_notes, range_errors, new_overrides = _range_notes(
        fills, filled, cleaned.values, accepted_overrides or {}, range_override_reason.strip()
    )
    if range_notes:
        derived.notes["lab_ranges"] = range_notes
    errors = cleaned.errors + derived.errors + range_errors
    warnings = cleaned.warnings + derived.warnings
    if complete and form.get("edit_checks"):
        context = (
            selectors.rule_context(subject, forms, stored, today=today, needed=dates)
            if dates
            else {}
        )
        data = build_subject_data(forms, stored, context)
        check_errors, check_warnings = run_edit_checks(
            form, full, edit_checks.evaluator(form, forms, data)
        )
        errors += check_errors
        warnings += check_warnings
    return Evaluation(full, derived.notes, errors, warnings, stored, new_overrides)


def _not_before_anchors(form: Mapping[str, Any]) -> set[str]:
    """The subject dates ("birth", "consent") some date item of the form must not precede."""
    items = form.get("items", []) + [i for g in form.get("groups", []) for i in g["items"]]
    return {anchor for item in items for anchor in item.get("not_before", ())}


def _birth_date(
    ref: Mapping[str, str] | None,
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    stored: list[StoredForm],
) -> dt.date | None:
    """The date of birth the study file points at (`dates.birth_date`): as submitted when this
    is the form that records it, else as saved. None when unknown or not a valid date."""
    if not ref:
        return None
    if ref["form"] == form["code"]:
        raw = values.get(ref["item"]) if isinstance(values, Mapping) else None
    else:
        saved = [s for s in stored if s.form_code == ref["form"]]
        raw = saved[0].data.get(ref["item"]) if saved else None
    try:
        return dt.date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def check_form(
    subject: Subject,
    slot: selectors.FormSlot,
    values: Mapping[str, Any],
    *,
    complete: bool,
    range_override_reason: str = "",
) -> dict[str, Any]:
    """What an inline check answers, on the page and in the API: the problems a save would meet
    and the derived items it would store. Nothing is written."""
    checked = evaluate_form(
        subject,
        slot.forms,
        slot.form,
        values,
        instance_pk=slot.instance.pk if slot.instance else None,
        today=subject.site.today(),
        complete=complete,
        range_override_reason=range_override_reason,
        accepted_overrides=_accepted_overrides(slot.instance),
    )
    derived = derivations.derived_codes(slot.form)
    return {
        "errors": [i.as_dict() for i in checked.errors],
        "warnings": [i.as_dict() for i in checked.warnings],
        "derived": {k: v for k, v in checked.values.items() if k in derived},
    }


def _accepted_overrides(instance: FormInstance | None) -> dict[str, Any]:
    notes = (instance.derived or {}).get("lab_ranges", {}) if instance else {}
    return {code: note for code, note in notes.items() if note.get("overridden")}


def _locked_instance(
    subject: Subject, event_code: str, event_repeat: int, form_code: str, form_repeat: int
) -> FormInstance | None:
    # No ordering: the model's default ordering joins subject and study, and FOR UPDATE would
    # then lock their rows too and serialise every save of the study.
    rows = list(
        FormInstance.objects.select_for_update(of=("self",))
        .filter(
            subject=subject,
            event_code=event_code,
            event_repeat=event_repeat,
            form_code=form_code,
            form_repeat=form_repeat,
        )
        .order_by()
    )
    return rows[0] if rows else None


def _resolve(forms: StudyForms, event_code, event_repeat, form_code, form_repeat):
    try:
        return forms.resolve(event_code, event_repeat, form_code, form_repeat)
    except UnknownSlot as exc:
        raise _slot_error(exc) from None


@transaction.atomic
def save_form(
    ctx: ChangeContext,
    subject: Subject,
    event_code: str,
    event_repeat: int,
    form_code: str,
    form_repeat: int,
    values: Mapping[str, Any],
    *,
    row_version: int,
    confirm_warnings: bool = False,
    complete: bool = True,
    today: dt.date | None = None,
    range_override_reason: str = "",
    query_answers: Mapping[int, str] | None = None,
) -> FormInstance:
    """Validate and store one form of one visit of a subject.

    `row_version` is the version the user opened (0 for a form not saved before); a different
    current version means someone else saved in between, and the save is refused (409). A change
    to a value already saved, or any change to a complete form, needs `ctx.reason`. Warnings are
    refused unless `confirm_warnings`; confirmed warnings open automatic queries. Locks (423),
    signatures, source verification and queries are data management's (edc.datamanagement),
    schedule events the reminders' (edc.reminders); both are called inside this transaction.
    The returned instance carries the confirmed warnings as `confirmed_warnings`.
    `query_answers` ({query id: answer}) answers queries of the form in the same transaction;
    the audit rows of the values changed on their items are linked to them.
    """
    authorize(ctx, Permission.ENTER_DATA, subject.study_id, subject.site_id)
    today = today or subject.site.today()
    instance = _locked_instance(subject, event_code, event_repeat, form_code, form_repeat)
    if instance is not None:
        instance.subject = subject  # the hooks below read it; it is the caller's, already loaded
    version_id = instance.protocol_version_id if instance else subject.protocol_version_id
    forms = study_forms(version_id)
    event, form = _resolve(forms, event_code, event_repeat, form_code, form_repeat)
    current_version = instance.row_version if instance else 0
    if row_version != current_version:
        raise StaleForm(form["name"], event["name"], current_version, row_version)
    if instance is None:
        # A new form is guarded by the subject's row lock, as data management's lock() takes it.
        _lock_subject_row(subject)
    datamanagement.assert_form_writable(instance or subject)

    checked = evaluate_form(
        subject,
        forms,
        form,
        values,
        instance_pk=instance.pk if instance else None,
        today=today,
        complete=complete,
        range_override_reason=range_override_reason,
        accepted_overrides=_accepted_overrides(instance),
    )
    if checked.errors:
        raise FormInvalid(checked.errors, checked.warnings)
    if checked.warnings and not confirm_warnings:
        raise WarningsNeedConfirmation(checked.warnings)

    old_data = instance.data if instance else {}
    for code in derivations.derived_codes(form) - derivations.COMPUTED:
        if code in old_data:
            checked.values[code] = old_data[code]
    changes = item_changes(old_data, checked.values)
    status = FormStatus.COMPLETE if complete else FormStatus.IN_PROGRESS
    old_status = instance.status if instance else None
    if instance is not None and (
        overwrites_saved_value(changes) or (changes and old_status == FormStatus.COMPLETE)
    ):
        require_reason(ctx)
    if instance is not None and not changes and old_status == status and not checked.warnings:
        datamanagement.answer_queries_on_save(ctx, instance, query_answers or {}, [])
        instance.confirmed_warnings = []
        return instance

    fields = {
        "data": checked.values,
        "derived": checked.notes,
        "status": status,
        "completed_at": timezone.now() if complete else None,
    }
    if instance is None:
        instance = _create(
            subject, version_id, event_code, event_repeat, form_code, form_repeat, fields
        )
    else:
        for name, value in fields.items():
            setattr(instance, name, value)
        instance.row_version += 1
        instance.save(update_fields=[*fields, "row_version", "updated_at"])
    audit = [Change(c.item, c.old, c.new) for c in changes]
    if old_status != status:
        audit.append(Change("status", old_status, str(status)))
    audit_rows = record_changes(
        ctx,
        "create" if old_status is None else "update",
        audit,
        object_type="crf.FormInstance",
        object_id=instance.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    for fill, entered in checked.new_overrides:
        # The site's range said one thing, the form says another: who, when, both values, why.
        record(
            ctx.with_reason(range_override_reason.strip()),
            "lab_range_override",
            object_type="crf.FormInstance",
            object_id=instance.pk,
            item=fill.item,
            old=fill.value,
            new=entered,
            study=subject.study,
            site=subject.site,
            subject=subject,
        )
    _audit_response_override(ctx, instance, old_data)
    if complete and checked.values.get("SSSTAT") == "DEAD" and checked.values.get("DTHDAT"):
        # A death is recorded once, on the subject: the form and the status action share it.
        subject_services.record_death(
            ctx, subject, dt.date.fromisoformat(str(checked.values["DTHDAT"])), field="DTHDAT"
        )
    if (
        complete
        and form.get("kind") == "disposition"
        and checked.values.get("EOSDAT")
        and checked.values.get("EOSRSN")
    ):
        # The End-of-study form and the off-study status actions record one fact, on the
        # subject: the form moves the subject off study, or must agree with the move made.
        subject_services.record_end_of_study(
            ctx,
            subject,
            on_date=dt.date.fromisoformat(str(checked.values["EOSDAT"])),
            form_reason=str(checked.values["EOSRSN"]),
        )
    datamanagement.after_form_change(ctx, instance, changes)
    datamanagement.answer_queries_on_save(ctx, instance, query_answers or {}, audit_rows)
    datamanagement.open_automatic_queries(ctx, instance, checked.warnings)
    instance.confirmed_warnings = checked.warnings
    # The schedule takes the clinical events a complete form records (doses, progression, end
    # of treatment...); forms that cannot touch it cost no query.
    reminders.on_form_saved(ctx, instance)
    if form.get("kind") == "tumour_assessment":
        _refresh_dependents(ctx, subject, forms, checked.stored, instance)
    newly_serious = derivations.is_serious(checked.values) and not derivations.is_serious(old_data)
    if form.get("kind") == "adverse_event" and newly_serious:
        pk = instance.pk
        transaction.on_commit(lambda: notify_serious_adverse_event(pk), robust=True)
    return instance


def _override(data: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(calculated, stated, reason) when the investigator's response differs from RECIST's."""
    calculated, stated = data.get(recist_form.CALCULATED), data.get(recist_form.INVESTIGATOR)
    if not calculated or not stated or calculated == stated:
        return None
    return calculated, stated, data.get(recist_form.OVERRIDE_REASON, "")


def _audit_response_override(
    ctx: ChangeContext, instance: FormInstance, old_data: Mapping[str, Any]
) -> None:
    """A response overridden by the investigator gets an audit row of its own (calculated ->
    stated, with the investigator's reason), so it is found without reading every item change."""
    override = _override(instance.data)
    if override is None or override == _override(old_data):
        return
    calculated, stated, reason = override
    subject = instance.subject
    record_changes(
        ctx.with_reason(reason),
        "response_override",
        [Change(recist_form.INVESTIGATOR, calculated, stated)],
        object_type="crf.FormInstance",
        object_id=instance.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )


def _refresh_dependents(
    ctx: ChangeContext,
    subject: Subject,
    forms: StudyForms,
    stored: list[StoredForm],
    saved: FormInstance,
) -> None:
    """Store the recomputed responses of the subject's other tumour assessments (a change to one
    assessment moves the nadir, and so the response, of every later one)."""
    everything = [
        *stored,
        StoredForm(
            saved.pk,
            saved.form_code,
            saved.event_code,
            saved.event_repeat,
            saved.form_repeat,
            saved.data,
        ),
    ]
    results = derivations.dependent_derivations(forms, everything, subject.randomization_date)
    pks = [pk for pk in results if pk != saved.pk]
    if not pks:
        return
    system = ctx.with_reason(
        f"recalculated after {saved.form_code} at {saved.event_code} #{saved.event_repeat} changed"
    )
    for other in (
        FormInstance.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("pk")
    ):
        derived = results[other.pk]
        data = dict(other.data)
        for code in derivations.derived_codes(forms.forms[other.form_code]) & {"RSCALC", "INDORES"}:
            if derived.items.get(code) is None:
                data.pop(code, None)
            else:
                data[code] = derived.items[code]
        notes = {**other.derived, **derived.notes}
        if data == other.data and notes == other.derived:
            continue
        changes = item_changes(other.data, data)
        other.data, other.derived = data, notes
        other.row_version += 1 if changes else 0
        other.save(update_fields=["data", "derived", "row_version", "updated_at"])
        record_changes(
            system,
            "derived_update",
            [Change(c.item, c.old, c.new) for c in changes],
            object_type="crf.FormInstance",
            object_id=other.pk,
            study=subject.study,
            site=subject.site,
            subject=subject,
        )
        if changes:
            datamanagement.after_form_change(system, other, changes)


def _create(
    subject: Subject,
    version_id: int,
    event_code: str,
    event_repeat: int,
    form_code: str,
    form_repeat: int,
    fields: dict[str, Any],
) -> FormInstance:
    """Insert the slot; a concurrent first save of the same slot loses with a 409.

    No savepoint of its own: after the unique-slot violation nothing else runs, and the error
    raised here rolls back the caller's transaction."""
    try:
        return FormInstance.objects.create(
            subject=subject,
            study_id=subject.study_id,
            site_id=subject.site_id,
            protocol_version_id=version_id,
            event_code=event_code,
            event_repeat=event_repeat,
            form_code=form_code,
            form_repeat=form_repeat,
            row_version=1,
            **fields,
        )
    except IntegrityError:
        raise DomainError(
            "stale_write",
            "row_version",
            gettext(
                "%(form)s at %(event)s was just saved by someone else; reload the form and "
                "re-enter your change"
            )
            % {"form": form_code, "event": event_code},
            status=409,
        ) from None


# ---- protocol deviations and eligibility -------------------------------------------------


def record_deviation(
    ctx: ChangeContext,
    subject: Subject,
    *,
    kind: str,
    description: str,
    source: str,
    reference: str = "",
    detected_at: dt.datetime | None = None,
) -> ProtocolDeviation:
    """A protocol deviation detected by any feature (eligibility waiver, schedule, dosing...).
    Call inside the caller's transaction; writes its audit row."""
    if kind not in DeviationKind.values:
        raise DomainError(
            "invalid", "kind", gettext("unknown deviation kind %(kind)s") % {"kind": repr(kind)}
        )
    if not description.strip():
        raise DomainError("required", "description", gettext("a deviation needs a description"))
    deviation = ProtocolDeviation.objects.create(
        subject=subject,
        study_id=subject.study_id,
        site_id=subject.site_id,
        kind=kind,
        description=description.strip(),
        detected_at=detected_at or timezone.now(),
        source=source,
        reference=reference,
        recorded_by=ctx.actor,
    )
    record_changes(
        ctx,
        "deviation_recorded",
        [Change("kind", None, kind), Change("description", None, deviation.description)],
        object_type="crf.ProtocolDeviation",
        object_id=deviation.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    return deviation


def _require_investigator(ctx: ChangeContext, subject: Subject) -> None:
    if ctx.user is None:
        raise PermissionDenied(gettext("eligibility is confirmed by an investigator"))
    scope_of(ctx.user).require(Permission.CONFIRM_ELIGIBILITY, subject.study_id, subject.site_id)


@transaction.atomic
def waive_criterion(
    ctx: ChangeContext,
    subject: Subject,
    point: str,
    criterion_id: str,
    *,
    sponsor_approval_reference: str,
    sponsor_approver: str,
    approved_on: dt.date,
    reason: str,
) -> EligibilityWaiver:
    """Record the sponsor's approval to enrol although one criterion is not met: the waiver and
    the protocol deviation it is, both audited. Only for a criterion that is not satisfied."""
    _require_investigator(ctx, subject)
    _lock_subject_row(subject)
    state = selectors.eligibility_state(subject, point)
    line = next((x for x in state.lines if x.id == criterion_id), None)
    if line is None:
        raise DomainError(
            "unknown_criterion",
            "criterion_id",
            gettext("%(criterion)s is not due at %(point)s")
            % {"criterion": criterion_id, "point": point},
        )
    if line.satisfied:
        raise DomainError(
            "not_needed",
            "criterion_id",
            gettext("%(criterion)s is %(result)s: nothing to waive")
            % {
                "criterion": criterion_id,
                "result": labels.label(labels.CRITERION_RESULT, line.status),
            },
        )
    if line.waiver is not None:
        raise DomainError(
            "already_waived",
            "criterion_id",
            gettext("%(criterion)s is already waived") % {"criterion": criterion_id},
        )
    fields = {
        "sponsor_approval_reference": sponsor_approval_reference.strip(),
        "sponsor_approver": sponsor_approver.strip(),
        "reason": reason.strip(),
    }
    what = {
        "sponsor_approval_reference": gettext("the sponsor approval reference"),
        "sponsor_approver": gettext("the sponsor approver"),
        "reason": gettext("the reason"),
    }
    for name, value in fields.items():
        if not value:
            raise DomainError(
                "required", name, gettext("%(what)s is required") % {"what": what[name]}
            )
    if approved_on > subject.site.today():
        raise DomainError(
            "future_date", "approved_on", gettext("the approval date is in the future")
        )
    deviation = record_deviation(
        ctx,
        subject,
        kind=DeviationKind.ELIGIBILITY_WAIVER,
        description=(
            f"{criterion_id} ({line.text}) was {line.status} at {point} and waived with sponsor "
            f"approval {fields['sponsor_approval_reference']} by {fields['sponsor_approver']} on "
            f"{approved_on}: {fields['reason']}"
        ),
        source="eligibility",
    )
    waiver = EligibilityWaiver.objects.create(
        subject=subject,
        point=point,
        criterion_id=criterion_id,
        result_at_waiver=line.status,
        approved_on=approved_on,
        deviation=deviation,
        recorded_by=ctx.user,
        recorded_at=timezone.now(),
        **fields,
    )
    ProtocolDeviation.objects.filter(pk=deviation.pk).update(
        reference=f"EligibilityWaiver:{waiver.pk}"
    )
    record_changes(
        ctx.with_reason(fields["reason"]),
        "eligibility_waived",
        [
            Change("criterion_id", None, criterion_id),
            Change("result", None, line.status),
            Change("sponsor_approval_reference", None, fields["sponsor_approval_reference"]),
            Change("sponsor_approver", None, fields["sponsor_approver"]),
            Change("approved_on", None, approved_on.isoformat()),
        ],
        object_type="crf.EligibilityWaiver",
        object_id=waiver.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    return waiver


def eligibility_meaning(user, subject: Subject, point: str, state) -> str:
    waived = [line.id for line in state.lines if line.waiver is not None]
    name = user.get_full_name() or user.get_username()
    facts = {
        "name": name,
        "subject": subject.subject_id,
        "point": labels.label(labels.ELIGIBILITY_POINT, point),
        "count": len(state.lines),
        "day": state.as_of,
        "waived": ", ".join(waived),
    }
    if waived:
        return (
            gettext(
                "I, %(name)s, confirm as investigator that subject %(subject)s meets every "
                "eligibility criterion due at %(point)s as listed (%(count)s criteria, evaluated "
                "%(day)s), with sponsor-approved waivers of %(waived)s."
            )
            % facts
        )
    return (
        gettext(
            "I, %(name)s, confirm as investigator that subject %(subject)s meets every "
            "eligibility criterion due at %(point)s as listed (%(count)s criteria, evaluated "
            "%(day)s)."
        )
        % facts
    )


def confirm_eligibility(
    ctx: ChangeContext,
    subject: Subject,
    point: str,
    *,
    password: str,
    username: str | None = None,
    session: SessionBase | None = None,
) -> EligibilityConfirmation:
    """The investigator's e-signature on the current eligibility results: user ID and password
    for the first signing of the web `session`, the password alone after that
    (edc.accounts.signing).

    Refused while any criterion due at the point is neither satisfied nor waived. The signed
    snapshot and its SHA-256 are stored; a later change of any result voids it in effect
    (`eligibility_status` compares them)."""
    _require_investigator(ctx, subject)
    problem = signing.signer_problem(
        ctx.user, username=username, password=password, session=session
    )
    if signing.is_failed_attempt(problem):
        # Its own transaction: the failed attempt stays on record although the signing fails.
        with transaction.atomic():
            record_changes(
                ctx,
                "eligibility_signature_failed",
                [Change("point", None, point)],
                object_type="subjects.Subject",
                object_id=subject.pk,
                study=subject.study,
                site=subject.site,
                subject=subject,
            )
    if problem is not None:
        raise problem
    confirmation = _record_confirmation(ctx, subject, point)
    signing.mark_signed(session, username=username)
    return confirmation


@transaction.atomic
def _record_confirmation(
    ctx: ChangeContext, subject: Subject, point: str
) -> EligibilityConfirmation:
    _lock_subject_row(subject)
    state = selectors.eligibility_state(subject, point)
    if not state.lines:
        # A signature on nothing would read as eligibility confirmed.
        raise DomainError(
            "no_criteria", "point", f"no eligibility criterion is due at {point}", status=409
        )
    if state.blocking:
        raise DomainError(
            "not_eligible",
            "eligibility",
            gettext("%(count)s criterion/criteria not met at %(point)s: %(list)s")
            % {
                "count": len(state.blocking),
                "point": point,
                "list": "; ".join(
                    f"{x.id} {labels.label(labels.CRITERION_RESULT, x.status)}"
                    for x in state.blocking
                ),
            },
            status=409,
            details=[{"field": x.id, "message": f"{x.status}: {x.reason}"} for x in state.blocking],
        )
    snapshot = state.snapshot
    confirmation = EligibilityConfirmation.objects.create(
        subject=subject,
        point=point,
        results=snapshot,
        results_sha256=selectors.snapshot_sha256(snapshot),
        meaning=eligibility_meaning(ctx.user, subject, point, state),
        signed_by=ctx.user,
        signed_by_name=ctx.user.get_full_name() or ctx.user.get_username(),
        signed_at=timezone.now(),
    )
    record_changes(
        ctx,
        "eligibility_confirmed",
        [
            Change("point", None, point),
            Change("results_sha256", None, confirmation.results_sha256),
            Change("meaning", None, confirmation.meaning),
        ],
        object_type="crf.EligibilityConfirmation",
        object_id=confirmation.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    return confirmation


@transaction.atomic
def set_derived_items(
    ctx: ChangeContext,
    subject: Subject,
    event_code: str,
    event_repeat: int,
    form_code: str,
    form_repeat: int,
    values: Mapping[str, Any],
) -> FormInstance:
    """Store values another feature computes into a form's derived items (e.g. randomization
    writes RNDDAT, RNDNO and RNDARM on the randomization form). Users cannot enter derived
    items; this is the only way they change. Checked against the item types, audited, and the
    form's row_version moves on so open editors reload."""
    instance = _locked_instance(subject, event_code, event_repeat, form_code, form_repeat)
    forms = study_forms(instance.protocol_version_id if instance else subject.protocol_version_id)
    _, form = _resolve(forms, event_code, event_repeat, form_code, form_repeat)
    items = {i["code"]: i for i in form.get("items", []) if i.get("derived")}
    problems: list[Issue] = []
    cleaned: dict[str, Any] = {}
    collector = Collector(problems, problems)
    for code, raw in values.items():
        if code not in items:
            problems.append(
                Issue(code, "not_derived", f"{code} is not a derived item of {form_code}")
            )
            continue
        item = {k: v for k, v in items[code].items() if k != "derived"}
        cleaned[code] = clean_item(item, raw, forms.codelists, subject.site.today(), collector)
    if problems:
        raise FormInvalid(problems, [])
    if instance is None:
        _lock_subject_row(subject)
    datamanagement.assert_form_writable(instance or subject)
    old = instance.data if instance else {}
    data = {**old, **{k: v for k, v in cleaned.items() if v is not None}}
    for code in [k for k, v in cleaned.items() if v is None]:
        data.pop(code, None)
    changes = item_changes(old, data)
    if instance is None:
        instance = _create(
            subject,
            subject.protocol_version_id,
            event_code,
            event_repeat,
            form_code,
            form_repeat,
            {"data": data, "derived": {}, "status": FormStatus.IN_PROGRESS, "completed_at": None},
        )
    elif changes:
        instance.data = data
        instance.row_version += 1
        instance.save(update_fields=["data", "row_version", "updated_at"])
    if changes:
        record_changes(
            ctx,
            "derived_update",
            [Change(c.item, c.old, c.new) for c in changes],
            object_type="crf.FormInstance",
            object_id=instance.pk,
            study=subject.study,
            site=subject.site,
            subject=subject,
        )
        datamanagement.after_form_change(ctx, instance, changes)
    return instance
