"""Reads of CRF data. Callers pass a subject they obtained through their Scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from crf.definitions import study_forms
from crf.models import FormInstance, FormStatus
from crf.rules import eligibility as eligibility_rules
from crf.rules.expressions import SubjectData
from crf.study_forms import StudyForms
from crf.subject_record import StoredForm, build_subject_data, first_dose_date
from edc.subjects.models import Subject

_STORED_FIELDS = ("pk", "form_code", "event_code", "event_repeat", "form_repeat", "data")


def stored_forms(
    subject: Subject, form_codes: Iterable[str] | None = None, *, exclude_pk: int | None = None
) -> list[StoredForm]:
    """The subject's saved forms (all, or those of `form_codes`), as plain values. One query."""
    queryset = FormInstance.objects.filter(subject=subject).exclude(status=FormStatus.REMOVED)
    if form_codes is not None:
        codes = set(form_codes)
        if not codes:
            return []
        queryset = queryset.filter(form_code__in=codes)
    return [
        StoredForm(*row) for row in queryset.values_list(*_STORED_FIELDS) if row[0] != exclude_pk
    ]


def consent_date(subject: Subject) -> dt.date | None:
    return subject.consents.order_by("consent_date").values_list("consent_date", flat=True).first()


def rule_context(
    subject: Subject,
    forms: StudyForms,
    stored: Iterable[StoredForm],
    *,
    today: dt.date,
    intended: dict[str, dt.date] | None = None,
) -> dict[str, dt.date]:
    """The subject dates rules read. `intended` supplies dates of events not yet recorded (e.g.
    today as the randomization date when checking eligibility before randomizing)."""
    intended = intended or {}
    return eligibility_rules.subject_context(
        forms.definition.get("enrolment_model", "enrol_after_induction"),
        consent_date=consent_date(subject),
        registration_date=subject.registration_date or intended.get("registration_date"),
        randomization_date=subject.randomization_date or intended.get("randomization_date"),
        first_dose_date=first_dose_date(forms, stored) or intended.get("first_dose_date"),
        today=today,
    )


def subject_data(
    subject: Subject, *, today: dt.date, intended: dict[str, dt.date] | None = None
) -> tuple[StudyForms, SubjectData]:
    """Everything the eligibility rules read about a subject: two queries."""
    forms = study_forms(subject.protocol_version_id)
    stored = stored_forms(subject)
    context = rule_context(subject, forms, stored, today=today, intended=intended)
    return forms, build_subject_data(forms, stored, context)
