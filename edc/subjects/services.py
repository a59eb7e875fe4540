"""Writes on subjects: screening, consent and lifecycle transitions. Each is one transaction
with its audit rows."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils.translation import gettext as _

from edc.accounts.roles import Permission
from edc.accounts.scoping import authorize
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record_changes, require_reason
from edc.errors import DomainError
from edc.rows import execute
from edc.studies.models import Site, StudyStatus
from edc.subjects.lifecycle import Status, check_transition
from edc.subjects.models import Consent, Subject


class SubjectError(DomainError):
    """A refused subject write."""


class StaleWrite(DomainError):
    status = 409

    def __init__(self, what: str = "record"):
        super().__init__(
            "stale_write",
            "row_version",
            _(
                "this %(what)s was changed by someone else since you opened it; reload and "
                "re-apply your change"
            )
            % {"what": what},
        )


def _sync_schedule(ctx: ChangeContext, subject: Subject) -> None:
    """Consent, registration, screen failure, death and going off study change the visit
    calendar; imported here because the reminders app builds on subjects."""
    from edc.reminders.services import on_subject_changed

    on_subject_changed(ctx, subject)


def _check_date(field: str, value: dt.date, *, not_after: dt.date | None = None) -> None:
    if not isinstance(value, dt.date):
        raise SubjectError("invalid_date", field, _("must be a date (YYYY-MM-DD)"))
    if not_after and value > not_after:
        raise SubjectError(
            "date_in_future",
            field,
            _("must not be after %(day)s") % {"day": not_after.isoformat()},
        )


@transaction.atomic
def screen_subject(
    ctx: ChangeContext,
    site: Site,
    *,
    consent_date: dt.date,
    icf_version: str,
    screening_date: dt.date | None = None,
) -> Subject:
    """Create a subject at a site with its study-scoped ID and record informed consent."""
    authorize(ctx, Permission.SCREEN, site.study_id, site.pk)
    # The site's own day: at a site east of UTC a consent dated today is not in the future.
    today = site.today()
    screening_date = screening_date or today
    _check_date("consent_date", consent_date, not_after=today)
    _check_date("screening_date", screening_date, not_after=today)
    if screening_date < consent_date:
        raise SubjectError(
            "consent_after_screening",
            "consent_date",
            _("consent must be on or before the screening date"),
        )
    if not (icf_version or "").strip():
        raise SubjectError("required", "icf_version", _("the ICF version signed is required"))
    # Serialise ID allocation per site: the site row is the lock.
    site = Site.objects.select_for_update().select_related("study").get(pk=site.pk)
    study = site.study
    if study.status != StudyStatus.OPEN:
        raise SubjectError(
            "study_not_open",
            "study",
            _("%(study)s is %(status)s")
            % {"study": study.code, "status": str(study.get_status_display()).lower()},
        )
    if not site.is_active:
        raise SubjectError(
            "site_inactive", "site", _("site %(site)s is not active") % {"site": site.code}
        )
    number = Subject.objects.filter(site=site).count() + 1
    subject = Subject.objects.create(
        study=study,
        site=site,
        subject_id=f"{study.code}-{site.code}-{number:04d}",
        protocol_version_id=study.current_version_id,
        screening_date=screening_date,
    )
    consent = Consent.objects.create(
        subject=subject, consent_date=consent_date, icf_version=icf_version.strip()
    )
    scope = {"study": study, "site": site, "subject": subject}
    record_changes(
        ctx,
        "create",
        [
            Change("subject_id", None, subject.subject_id),
            Change("status", None, subject.status),
            Change("screening_date", None, screening_date.isoformat()),
        ],
        object_type="subjects.Subject",
        object_id=subject.pk,
        **scope,
    )
    record_changes(
        ctx,
        "create",
        [
            Change("consent_date", None, consent_date.isoformat()),
            Change("icf_version", None, consent.icf_version),
        ],
        object_type="subjects.Consent",
        object_id=consent.pk,
        **scope,
    )
    return subject


@transaction.atomic
def correct_consent(
    ctx: ChangeContext,
    consent: Consent,
    *,
    row_version: int,
    consent_date: dt.date | None = None,
    icf_version: str | None = None,
) -> Consent:
    """Change saved consent data: a reason is required and old and new values are audited."""
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("subject__site__study")
        .get(pk=consent.pk)
    )
    subject = consent.subject
    authorize(ctx, Permission.ENTER_DATA, subject.study_id, subject.site_id)
    reason = require_reason(ctx)
    if consent.row_version != row_version:
        raise StaleWrite("consent")
    changes = []
    if consent_date is not None and consent_date != consent.consent_date:
        _check_date("consent_date", consent_date, not_after=subject.site.today())
        if consent_date > subject.screening_date:
            raise SubjectError(
                "consent_after_screening",
                "consent_date",
                _("consent must be on or before the screening date"),
            )
        changes.append(
            Change("consent_date", consent.consent_date.isoformat(), consent_date.isoformat())
        )
        consent.consent_date = consent_date
    if icf_version is not None and icf_version.strip() != consent.icf_version:
        if not icf_version.strip():
            raise SubjectError("required", "icf_version", _("the ICF version signed is required"))
        changes.append(Change("icf_version", consent.icf_version, icf_version.strip()))
        consent.icf_version = icf_version.strip()
    if not changes:
        return consent
    consent.row_version += 1
    consent.save(update_fields=["consent_date", "icf_version", "row_version"])
    record_changes(
        ctx.with_reason(reason),
        "update",
        changes,
        object_type="subjects.Consent",
        object_id=consent.pk,
        study=subject.site.study,
        site=subject.site,
        subject=subject,
    )
    _sync_schedule(ctx, subject)
    return consent


_DATE_FIELD_FOR = {
    Status.REGISTERED: "registration_date",
    Status.RANDOMIZED: "randomization_date",
    Status.OFF_STUDY: "off_study_date",
}


@transaction.atomic
def transition(
    ctx: ChangeContext,
    subject: Subject,
    target: str,
    *,
    on_date: dt.date | None = None,
    off_study_reason: str | None = None,
    death_date: dt.date | None = None,
    permission: Permission = Permission.ENTER_DATA,
) -> Subject:
    """Move a subject through the lifecycle (domain spec §4.4); illegal moves are refused."""
    subject = (
        Subject.objects.select_for_update(of=("self",))
        .select_related("study__current_version", "site")
        .get(pk=subject.pk)
    )
    authorize(ctx, permission, subject.study_id, subject.site_id)
    enrolment_model = subject.study.definition.get("enrolment_model", "enrol_after_induction")
    new_status = check_transition(
        subject.status, target, enrolment_model, off_study_reason=off_study_reason
    )
    on_date = on_date or subject.site.today()
    changes = [Change("status", subject.status, new_status.value)]
    subject.status = new_status.value
    date_field = _DATE_FIELD_FOR.get(new_status)
    if date_field:
        changes.append(Change(date_field, None, on_date.isoformat()))
        setattr(subject, date_field, on_date)
    if off_study_reason:
        changes.append(
            Change("off_study_reason", subject.off_study_reason or None, off_study_reason)
        )
        subject.off_study_reason = off_study_reason
    if death_date:
        changes.append(Change("death_date", None, death_date.isoformat()))
        subject.death_date = death_date
    subject.row_version += 1
    subject.save()
    record_changes(
        ctx,
        "transition",
        changes,
        object_type="subjects.Subject",
        object_id=subject.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    if new_status != Status.RANDOMIZED:
        # The allocation starts the arm's calendar itself: only it knows the arm.
        _sync_schedule(ctx, subject)
    return subject


_MARK_RANDOMIZED = (
    f'UPDATE "{Subject._meta.db_table}" SET "status" = %s, "randomization_date" = %s, '
    '"row_version" = "row_version" + 1 WHERE "id" = %s AND "status" = %s'
)


def mark_randomized(subject: Subject, on_date: dt.date) -> list[Change] | None:
    """The lifecycle move an allocation makes, inside the allocation's transaction, which has
    checked the move (``check_transition``) and writes these changes' audit rows with its own.

    One UPDATE, conditional on the status the move was checked from: of two requests for one
    subject only the first passes; the other waits for its commit and gets None."""
    moved = execute(
        _MARK_RANDOMIZED,
        [
            Status.RANDOMIZED.value,
            connection.ops.adapt_datefield_value(on_date),
            subject.pk,
            subject.status,
        ],
    )
    if moved != 1:
        return None
    changes = [
        Change("status", subject.status, Status.RANDOMIZED.value),
        Change("randomization_date", None, on_date.isoformat()),
    ]
    subject.status = Status.RANDOMIZED.value
    subject.randomization_date = on_date
    subject.row_version += 1
    return changes
