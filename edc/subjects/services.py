"""Writes on subjects: screening, consent and lifecycle transitions. Each is one transaction
with its audit rows."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from edc.accounts.roles import Permission
from edc.accounts.scoping import authorize
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record_changes, require_reason
from edc.errors import DomainError
from edc.studies.models import Site, StudyStatus
from edc.subjects.labels import OFF_STUDY_REASON_LABELS
from edc.subjects.lifecycle import (
    ACTIONS,
    ALLOWED,
    NOT_RANDOMIZED,
    OFF_STUDY_CHOICES,
    Action,
    IllegalTransition,
    OffStudyReason,
    Status,
    check_transition,
    end_of_study_form_reason,
    off_study_reason_for_form,
)
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


# A clinical date before this is a typing slip (0001-01-01), never a real consent or visit.
EARLIEST_DATE = dt.date(1900, 1, 1)


def _check_date(field: str, value: dt.date, *, not_after: dt.date | None = None) -> None:
    """A plausible date: a real date, not before 1900, not after ``not_after`` (the site's
    day for anything that has happened)."""
    if not isinstance(value, dt.date):
        raise SubjectError("invalid_date", field, _("must be a date (YYYY-MM-DD)"))
    if value < EARLIEST_DATE:
        raise SubjectError(
            "date_implausible",
            field,
            _("%(date)s is before %(earliest)s: check the year")
            % {"date": value.isoformat(), "earliest": EARLIEST_DATE.isoformat()},
        )
    if not_after and value > not_after:
        raise SubjectError(
            "date_in_future",
            field,
            _("must not be after %(day)s (today at the site)") % {"day": not_after.isoformat()},
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
    withdraw_treatment_consent: bool = False,
    permission: Permission = Permission.ENTER_DATA,
    row_version: int | None = None,
) -> Subject:
    """Move a subject through the lifecycle (domain spec §4.4); illegal moves are refused.
    With ``row_version``, a subject changed since the caller read it is refused (409)."""
    subject = (
        Subject.objects.select_for_update(of=("self",))
        .select_related("study__current_version", "site")
        .get(pk=subject.pk)
    )
    authorize(ctx, permission, subject.study_id, subject.site_id)
    if row_version is not None and subject.row_version != row_version:
        raise StaleWrite("subject")
    enrolment_model = subject.study.definition.get("enrolment_model", "enrol_after_induction")
    new_status = check_transition(
        subject.status, target, enrolment_model, off_study_reason=off_study_reason
    )
    today = subject.site.today()
    consented = None
    for field, day in (("death_date", death_date), ("on_date", on_date)):
        if day is None:
            continue
        _check_date(field, day, not_after=today)
        consented = consented or (
            subject.consents.order_by("consent_date").values_list("consent_date", flat=True).first()
        )
        if consented and day < consented:
            # Nothing on study happens before informed consent.
            raise SubjectError(
                "before_consent",
                field,
                _("must not be before the informed consent date (%(day)s)")
                % {"day": consented.isoformat()},
            )
    if (
        new_status == Status.REGISTERED
        and on_date is not None
        and subject.screening_date
        and on_date < subject.screening_date
    ):
        # A subject is registered after screening, never before it.
        raise SubjectError(
            "before_screening",
            "on_date",
            _("must not be before the screening date (%(day)s)")
            % {"day": subject.screening_date.isoformat()},
        )
    if death_date is not None and subject.death_date and subject.death_date != death_date:
        # A death is recorded once; a different date is a correction, not a second death.
        raise SubjectError(
            "death_already_recorded",
            "death_date",
            _("a death on %(day)s is already recorded for this subject")
            % {"day": subject.death_date.isoformat()},
            status=409,
        )
    if off_study_reason == OffStudyReason.DEATH and not (death_date or subject.death_date):
        # Off study for a death is the death record: it needs its date (recorded once).
        raise SubjectError("required", "death_date", _("the date of death is required"))
    if withdraw_treatment_consent and not (ctx.reason or "").strip():
        raise SubjectError(
            "reason_required", "reason", _("give a reason: the audit trail keeps it")
        )
    if withdraw_treatment_consent and new_status != Status.OFF_TREATMENT_FOLLOWUP:
        # Withdrawal from treatment keeps the subject in follow-up; leaving all follow-up is
        # going off study with the reason "consent to all follow-up withdrawn".
        raise SubjectError(
            "invalid",
            "withdraw_treatment_consent",
            _("withdrawal from treatment moves the subject to off treatment, in follow-up"),
        )
    on_date = on_date or today
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
    if death_date and not subject.death_date:
        changes.append(Change("death_date", None, death_date.isoformat()))
        subject.death_date = death_date
    if withdraw_treatment_consent and not subject.treatment_consent_withdrawn:
        changes.append(Change("treatment_consent_withdrawn", False, True))
        subject.treatment_consent_withdrawn = True
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


@transaction.atomic
def apply_action(
    ctx: ChangeContext,
    subject: Subject,
    action: str,
    *,
    row_version: int,
    on_date: dt.date | None = None,
    reason: str = "",
    off_study_reason: str = "",
    death_date: dt.date | None = None,
) -> Subject:
    """One status action of the subject page (lifecycle.ACTIONS): its inputs checked, then its
    lifecycle move, in one transaction with the audit rows (the written reason on each)."""
    try:
        rule = ACTIONS[Action(action)]
    except ValueError:
        raise SubjectError("invalid", "action", _("unknown action")) from None
    reason = (reason or "").strip()
    if rule.reason and not reason:
        raise SubjectError(
            "reason_required", "reason", _("give a reason: the audit trail keeps it")
        )
    if rule.death and death_date is None:
        raise SubjectError("required", "death_date", _("the date of death is required"))
    chosen = rule.off_study_reason
    if rule.target == Status.OFF_STUDY and chosen is None:
        if off_study_reason not in {r.value for r in OFF_STUDY_CHOICES}:
            raise SubjectError(
                "required", "off_study_reason", _("choose why the subject goes off study")
            )
        chosen = OffStudyReason(off_study_reason)
    if rule.dated and on_date is None:
        raise SubjectError("required", "on_date", _("the date is required"))
    if subject.status not in rule.sources or rule.target not in ALLOWED[Status(subject.status)]:
        raise IllegalTransition(subject.status, rule.target)
    return transition(
        ctx.with_reason(reason) if reason else ctx,
        subject,
        rule.target,
        on_date=on_date or death_date,
        off_study_reason=chosen.value if chosen else None,
        death_date=death_date,
        withdraw_treatment_consent=rule.withdraws_treatment_consent,
        row_version=row_version,
    )


@transaction.atomic
def record_death(ctx: ChangeContext, subject: Subject, death_date: dt.date, *, field: str) -> bool:
    """The subject's one death record, written from a form that reports a death (a survival
    contact): set when none is recorded, nothing when the same date is, refused (409, naming
    ``field``) when another date is. The status action "Record death" reads and writes the same
    ``Subject.death_date``. Returns whether it was written."""
    subject = (
        Subject.objects.select_for_update(of=("self",)).select_related("site").get(pk=subject.pk)
    )
    if subject.death_date == death_date:
        return False
    if subject.death_date is not None:
        raise SubjectError(
            "death_already_recorded",
            field,
            _("a death on %(day)s is already recorded for this subject; correct it there first")
            % {"day": subject.death_date.isoformat()},
            status=409,
        )
    _check_date(field, death_date, not_after=subject.site.today())
    subject.death_date = death_date
    subject.row_version += 1
    subject.save(update_fields=["death_date", "row_version"])
    record_changes(
        ctx,
        "update",
        [Change("death_date", None, death_date.isoformat())],
        object_type="subjects.Subject",
        object_id=subject.pk,
        study=subject.site.study,
        site=subject.site,
        subject=subject,
    )
    _sync_schedule(ctx, subject)
    return True


@transaction.atomic
def record_end_of_study(
    ctx: ChangeContext,
    subject: Subject,
    *,
    on_date: dt.date,
    form_reason: str,
    date_field: str = "EOSDAT",
    reason_field: str = "EOSRSN",
) -> bool:
    """The subject's one off-study record, written from a complete End-of-study form: the
    subject goes off study on the form's date for the form's reason when it has not yet; nothing
    happens when the record says the same; another date or reason is refused (409, naming the
    form's item) so the form and the status action never disagree. Returns whether it moved."""
    subject = Subject.objects.select_for_update(of=("self",)).get(pk=subject.pk)
    if subject.status == Status.OFF_STUDY:
        if subject.off_study_date != on_date:
            raise SubjectError(
                "off_study_already_recorded",
                date_field,
                _("the subject went off study on %(day)s; correct that record first")
                % {"day": subject.off_study_date.isoformat() if subject.off_study_date else "?"},
                status=409,
            )
        if end_of_study_form_reason(subject.off_study_reason) != form_reason:
            raise SubjectError(
                "off_study_already_recorded",
                reason_field,
                _("the subject went off study for another reason (%(reason)s)")
                % {"reason": str(OFF_STUDY_REASON_LABELS.get(subject.off_study_reason, ""))},
                status=409,
            )
        return False
    if subject.status == Status.SCREEN_FAILED and form_reason == NOT_RANDOMIZED:
        return False  # "not randomized" after a screen failure: already final, nothing to move
    chosen = off_study_reason_for_form(form_reason, subject.status)
    if chosen is None:
        raise SubjectError(
            "invalid",
            reason_field,
            _("this reason cannot end the study from the subject's status; use its status action"),
        )
    if chosen == OffStudyReason.DEATH and subject.death_date is None:
        raise SubjectError(
            "death_not_recorded",
            reason_field,
            _("record the death first (Record death, or a survival form with the date of death)"),
        )
    transition(
        ctx if (ctx.reason or "").strip() else ctx.with_reason(_("End of study form")),
        subject,
        Status.OFF_STUDY,
        on_date=on_date,
        off_study_reason=chosen.value,
    )
    return True


def mark_randomized(subject: Subject, on_date: dt.date) -> list[Change] | None:
    """The lifecycle move an allocation makes, inside the allocation's transaction, which has
    checked the move (``check_transition``) and writes these changes' audit rows with its own.

    One UPDATE, conditional on the status the move was checked from: of two requests for one
    subject only the first passes; the other waits for its commit and gets None."""
    moved = Subject.objects.filter(pk=subject.pk, status=subject.status).update(
        status=Status.RANDOMIZED.value,
        randomization_date=on_date,
        row_version=F("row_version") + 1,
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
