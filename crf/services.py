"""Writes of case report form data. Each write is one transaction with its audit rows.

`save_form` is the only way form data changes, from the browser and the API alike, so validation,
reason for change, optimistic concurrency and the audit trail cannot be bypassed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from crf import derivations, edit_checks, selectors
from crf.changes import item_changes, overwrites_saved_value
from crf.definitions import study_forms
from crf.models import FormInstance, FormStatus
from crf.notifications import notify_serious_adverse_event
from crf.study_forms import StudyForms, UnknownSlot
from crf.subject_record import StoredForm, build_subject_data
from crf.validation import Issue, clean_form, run_edit_checks
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record_changes, require_reason
from edc.datamanagement import services as datamanagement
from edc.errors import DomainError
from edc.subjects.models import Subject


class FormInvalid(DomainError):
    """Hard errors: nothing is saved. `details` lists every problem with its item path."""

    def __init__(self, errors: list[Issue], warnings: list[Issue]):
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        super().__init__(
            "invalid",
            first.path,
            first.message + more,
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
            f"{len(warnings)} warning(s) need confirmation before saving; confirming opens a "
            f"query for each. First: {first.message}",
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


def _slot_error(exc: UnknownSlot) -> DomainError:
    return DomainError(exc.code, "form", exc.message, status=404)


def _authorize(ctx: ChangeContext, subject: Subject) -> None:
    if ctx.user is not None:
        scope_of(ctx.user).require(Permission.ENTER_DATA, subject.study_id, subject.site_id)


@dataclass
class Evaluation:
    """A form's values checked and completed with its derived items, nothing saved."""

    values: dict[str, Any]
    notes: dict[str, Any]
    errors: list[Issue]
    warnings: list[Issue]
    stored: list[StoredForm]


def evaluate_form(
    subject: Subject,
    forms: StudyForms,
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    instance_pk: int | None,
    today: dt.date,
    complete: bool,
) -> Evaluation:
    """Clean the values, derive the derived items, then run the edit checks over both.

    Reads the subject's other forms only when a derivation or an edit check needs them."""
    cleaned = clean_form(form, forms.codelists, values, today=today, complete=complete)
    referenced, uses_context = edit_checks.references(form) if complete else (set(), False)
    needed = derivations.needed_forms(form, forms) | referenced
    if uses_context:
        needed |= {f["code"] for f in forms.forms_of_kind("treatment")}
    stored = selectors.stored_forms(subject, needed, exclude_pk=instance_pk) if needed else []
    derived = derivations.derive(
        form,
        forms,
        cleaned.values,
        stored,
        instance_pk=instance_pk,
        reference_date=subject.randomization_date,
    )
    full = {**cleaned.values, **{k: v for k, v in derived.items.items() if v is not None}}
    errors = cleaned.errors + derived.errors
    warnings = cleaned.warnings + derived.warnings
    if complete and form.get("edit_checks"):
        context = (
            selectors.rule_context(subject, forms, stored, today=today) if uses_context else {}
        )
        data = build_subject_data(forms, stored, context)
        check_errors, check_warnings = run_edit_checks(
            form, full, edit_checks.evaluator(form, forms, data)
        )
        errors += check_errors
        warnings += check_warnings
    return Evaluation(full, derived.notes, errors, warnings, stored)


def _locked_instance(
    subject: Subject, event_code: str, event_repeat: int, form_code: str, form_repeat: int
) -> FormInstance | None:
    return (
        FormInstance.objects.select_for_update()
        .filter(
            subject=subject,
            event_code=event_code,
            event_repeat=event_repeat,
            form_code=form_code,
            form_repeat=form_repeat,
        )
        .first()
    )


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
) -> FormInstance:
    """Validate and store one form of one visit of a subject.

    `row_version` is the version the user opened (0 for a form not saved before); a different
    current version means someone else saved in between, and the save is refused (409). A change
    to a value already saved, or any change to a complete form, needs `ctx.reason`. Warnings are
    refused unless `confirm_warnings`; confirmed warnings open automatic queries. Locks (423),
    signatures, source verification and queries are data management's (edc.datamanagement);
    they are called here inside the same transaction. The returned instance carries the
    confirmed warnings as `confirmed_warnings`.
    """
    _authorize(ctx, subject)
    today = today or timezone.localdate()
    instance = _locked_instance(subject, event_code, event_repeat, form_code, form_repeat)
    version_id = instance.protocol_version_id if instance else subject.protocol_version_id
    forms = study_forms(version_id)
    event, form = _resolve(forms, event_code, event_repeat, form_code, form_repeat)
    current_version = instance.row_version if instance else 0
    if row_version != current_version:
        raise StaleForm(form["name"], event["name"], current_version, row_version)
    if instance is None:
        # A new form is guarded by the subject's row lock, as data management's lock() takes it.
        Subject.objects.select_for_update().filter(pk=subject.pk).values_list("pk").first()
    datamanagement.assert_form_writable(instance or subject)

    checked = evaluate_form(
        subject,
        forms,
        form,
        values,
        instance_pk=instance.pk if instance else None,
        today=today,
        complete=complete,
    )
    if checked.errors:
        raise FormInvalid(checked.errors, checked.warnings)
    if checked.warnings and not confirm_warnings:
        raise WarningsNeedConfirmation(checked.warnings)

    old_data = instance.data if instance else {}
    changes = item_changes(old_data, checked.values)
    status = FormStatus.COMPLETE if complete else FormStatus.IN_PROGRESS
    old_status = instance.status if instance else None
    if instance is not None and (
        overwrites_saved_value(changes) or (changes and old_status == FormStatus.COMPLETE)
    ):
        require_reason(ctx)
    if instance is not None and not changes and old_status == status and not checked.warnings:
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
    record_changes(
        ctx,
        "create" if old_status is None else "update",
        audit,
        object_type="crf.FormInstance",
        object_id=instance.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    datamanagement.after_form_change(ctx, instance, changes)
    datamanagement.open_automatic_queries(ctx, instance, checked.warnings)
    instance.confirmed_warnings = checked.warnings
    if form.get("kind") == "tumour_assessment":
        _refresh_dependents(ctx, subject, forms, checked.stored, instance)
    newly_serious = derivations.is_serious(checked.values) and not derivations.is_serious(old_data)
    if form.get("kind") == "adverse_event" and newly_serious:
        pk = instance.pk
        transaction.on_commit(lambda: notify_serious_adverse_event(pk), robust=True)
    return instance


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
    for other in FormInstance.objects.select_for_update().filter(pk__in=pks):
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
            f"{form_code} at {event_code} was just saved by someone else; reload the form and "
            "re-enter your change",
            status=409,
        ) from None
