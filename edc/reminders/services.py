"""Writes of visit schedules and reminders (domain spec §4). Each service is one transaction
with its audit rows.

Schedule side: clinical events are stored (`record_event`, or derived from saved forms and
subject transitions by `on_form_saved`, `on_randomized`, `on_subject_changed`), replayed through
the pure engine (edc.schedule) and the stored visits brought in line with its plan.

Reminder side: `scan(today)` evaluates, in a constant number of queries, the visits whose status
can change on `today`, stores the new statuses and inserts one ReminderMessage per (visit,
transition) — the unique constraint makes re-runs and concurrent runs harmless.
`deliver_reminders` and `deliver_digests` send what is pending, re-checking at send time that
the subject may still be contacted.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from crf.definitions import study_forms
from crf.models import DeviationKind, FormInstance, FormStatus, ProtocolDeviation
from edc import labels
from edc.accounts.models import Membership
from edc.accounts.roles import Permission, Role
from edc.accounts.scoping import authorize
from edc.accounts.selectors import Readers, readers_of
from edc.audit.context import ChangeContext
from edc.audit.services import record, require_reason
from edc.errors import DomainError
from edc.mail import send_to_readers
from edc.reminders import bulk_sql, emails
from edc.reminders.form_events import affects_schedule, events_from_form, first_visit_date
from edc.reminders.models import (
    OPEN_AND_ACTIVE,
    Delivery,
    DigestMessage,
    PlannedVisit,
    ReminderMessage,
    ScanProgress,
    ScheduleEvent,
)
from edc.reminders.schedules import (
    AuditBatch,
    ScheduleUnavailable,
    SyncResult,
    check_applies,
    definition_for,
    event_row,
    live_events,
    lock_subject,
    mark_for_recheck,
    out_of_window,
    replay_rows,
    settle_performed,
    status_change,
    sync_visits,
    visit_label,
)
from edc.schedule.definition import Anchor, EventKind
from edc.schedule.events import (
    AnchorCorrected,
    ClinicalEvent,
    Consented,
    ConsentWithdrawn,
    Death,
    LostToFollowUp,
    Randomized,
    Registered,
    ScreenFailed,
    StudyEnded,
    WithdrawalScope,
)
from edc.schedule.windows import NOTIFIABLE_STATUSES, VisitRecord, VisitStatus, status_on
from edc.studies.models import Site
from edc.studies.texts import study_text
from edc.subjects.lifecycle import OffStudyReason, Status
from edc.subjects.models import Subject

log = logging.getLogger(__name__)
ONE_DAY = dt.timedelta(days=1)

# Subjects who must never be contacted about visits (domain spec §4.5); death_date is checked too.
NO_CONTACT_STATUSES = frozenset({Status.OFF_STUDY.value, Status.SCREEN_FAILED.value})
# Staff who receive a site's reminders, besides the site's own staff address.
RECIPIENT_ROLES = (Role.SITE_STAFF.value, Role.INVESTIGATOR.value)
LIFECYCLE_SOURCES = frozenset(
    {
        "subject:consented",
        "subject:registered",
        "subject:screen_failed",
        "subject:death",
        "subject:off_study",
    }
)
_SUBJECT_ANCHOR_FIELDS = {
    Anchor.RANDOMIZATION: "randomization_date",
    Anchor.REGISTRATION: "registration_date",
}


def may_contact(status: str, death_date: dt.date | None) -> bool:
    return death_date is None and status not in NO_CONTACT_STATUSES


def later_occurrence_done():
    """Subquery: a later occurrence of the same visit is done, so this one is no longer chased."""
    return PlannedVisit.objects.filter(
        subject_id=OuterRef("subject_id"),
        event_code=OuterRef("event_code"),
        sequence__gt=OuterRef("sequence"),
        performed_on__isnull=False,
    )


def contactable_open_visits(day: dt.date):
    """Open visits not yet missed on `day` that a site may still be reminded of: the subject may
    be contacted, is not off treatment for a dose, and no later occurrence is done (§4.5)."""
    return (
        PlannedVisit.objects.filter(
            OPEN_AND_ACTIVE, missed_after__gte=day, subject__death_date__isnull=True
        )
        .exclude(subject__status__in=NO_CONTACT_STATUSES)
        .exclude(kind=EventKind.DOSING, subject__treatment_consent_withdrawn=True)
        .exclude(Exists(later_occurrence_done()))
    )


# --- schedule writes --------------------------------------------------------------------------


def record_event(
    ctx: ChangeContext,
    subject: Subject,
    event: ClinicalEvent,
    *,
    source: str = "",
    today: dt.date | None = None,
) -> SyncResult:
    """Store one clinical event and re-plan the subject's visits; an event the schedule cannot
    take (wrong order, stopped series, unknown code) is refused with a 409."""
    with transaction.atomic():
        subject = lock_subject(subject)
        authorize(ctx, Permission.ENTER_DATA, subject.study_id, subject.site_id)
        definition = definition_for(subject)
        today = today or subject.site.today()
        audit = AuditBatch(ctx, subject)
        rows = live_events(subject)
        if source:
            rows = _void(rows, {source}, audit)
        row = event_row(ctx, subject, event, source)
        row.save(force_insert=True)
        check_applies(definition, [*rows, row])
        audit.add(
            "schedule_event", "reminders.ScheduleEvent", row.pk, row.kind, None, _event_value(row)
        )
        result = sync_visits(ctx, subject, definition, [*rows, row], today, audit)
        _record_deviations(ctx, subject, result.out_of_window, audit)
        audit.flush()
    return result


def resync_subject(
    ctx: ChangeContext, subject: Subject, today: dt.date | None = None
) -> SyncResult:
    """Re-plan a subject's visits from its stored events (e.g. after a protocol amendment)."""
    with transaction.atomic():
        subject = lock_subject(subject)
        definition = definition_for(subject)
        today = today or subject.site.today()
        audit = AuditBatch(ctx, subject)
        result = sync_visits(ctx, subject, definition, live_events(subject), today, audit)
        _record_deviations(ctx, subject, result.out_of_window, audit)
        audit.flush()
    return result


def correct_anchor(
    ctx: ChangeContext,
    subject: Subject,
    anchor: Anchor | str,
    new_date: dt.date,
    *,
    today: dt.date | None = None,
) -> SyncResult:
    """Correct an anchor date (e.g. a mistyped randomization date): future targets follow, each
    move is audited with the reason, and the subject's own date field is corrected with it."""
    require_reason(ctx)
    try:
        anchor = Anchor(anchor)
    except ValueError:
        raise DomainError(
            "invalid",
            "anchor",
            gettext("%(anchor)s is not a schedule anchor") % {"anchor": repr(anchor)},
        ) from None
    with transaction.atomic():
        subject = lock_subject(subject)
        authorize(ctx, Permission.ENTER_DATA, subject.study_id, subject.site_id)
        definition = definition_for(subject)
        today = today or subject.site.today()
        if new_date > today:
            raise DomainError(
                "date_in_future", "new_date", gettext("must not be after %(day)s") % {"day": today}
            )
        rows = live_events(subject)
        old = replay_rows(definition, rows).state.anchors.get(anchor)
        if old is None:
            raise DomainError(
                "anchor_unknown",
                "anchor",
                gettext("%(anchor)s has no date yet, so nothing to correct")
                % {"anchor": labels.label(labels.SCHEDULE_ANCHOR, anchor.value)},
                status=409,
            )
        if old == new_date:
            return SyncResult()
        audit = AuditBatch(ctx, subject)
        row = event_row(ctx, subject, AnchorCorrected(today, anchor, new_date), "")
        row.save(force_insert=True)
        check_applies(definition, [*rows, row])
        audit.add(
            "anchor_corrected",
            "reminders.ScheduleEvent",
            row.pk,
            anchor.value,
            old.isoformat(),
            new_date.isoformat(),
        )
        result = sync_visits(ctx, subject, definition, [*rows, row], today, audit)
        field = _SUBJECT_ANCHOR_FIELDS.get(anchor)
        if field and getattr(subject, field) not in (None, new_date):
            audit.add(
                "update",
                "subjects.Subject",
                subject.pk,
                field,
                getattr(subject, field).isoformat(),
                new_date.isoformat(),
            )
            setattr(subject, field, new_date)
            subject.row_version += 1
            subject.save(update_fields=[field, "row_version"])
        _record_deviations(ctx, subject, result.out_of_window, audit)
        audit.flush()
    return result


def record_visit_performed(
    ctx: ChangeContext, visit: PlannedVisit, performed_on: dt.date, *, today: dt.date | None = None
) -> PlannedVisit:
    """A visit (not a dose: doses are events) was done on `performed_on`; out of window it is a
    protocol deviation. Editing the date re-evaluates in / out of window."""
    with transaction.atomic():
        subject = lock_subject(visit.subject)
        authorize(ctx, Permission.ENTER_DATA, subject.study_id, subject.site_id)
        visit = PlannedVisit.objects.select_for_update(of=("self",)).get(pk=visit.pk)
        if visit.kind == EventKind.DOSING:
            raise DomainError(
                "dose_is_an_event",
                "performed_on",
                gettext("record the dose on the treatment form instead"),
            )
        if visit.cancelled:
            raise DomainError(
                "visit_cancelled",
                "performed_on",
                gettext("%(visit)s was cancelled (%(reason)s)")
                % {"visit": visit_label(visit), "reason": visit.cancelled_reason},
                status=409,
            )
        today = today or subject.site.today()
        if performed_on > today:
            raise DomainError(
                "date_in_future",
                "performed_on",
                gettext("must not be after %(day)s") % {"day": today},
            )
        if visit.performed_on is not None and visit.performed_on != performed_on:
            require_reason(ctx)  # a change to saved data
        audit = AuditBatch(ctx, subject)
        _mark_performed(visit, performed_on, today, audit)
        result = sync_visits(
            ctx, subject, definition_for(subject), live_events(subject), today, audit
        )
        _record_deviations(ctx, subject, [visit, *result.out_of_window], audit)
        audit.flush()
    return visit


def mark_visit_not_done(
    ctx: ChangeContext, visit: PlannedVisit, reason: str, *, today: dt.date | None = None
) -> PlannedVisit:
    """The site records that a visit will not be done, with its reason (a missed assessment is
    recorded as not done, never as data: §4.5)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("required", "reason", gettext("say why the visit is not done"))
    with transaction.atomic():
        subject = lock_subject(visit.subject)
        authorize(ctx, Permission.ENTER_DATA, subject.study_id, subject.site_id)
        visit = PlannedVisit.objects.select_for_update(of=("self",)).get(pk=visit.pk)
        if not visit.is_open:
            raise DomainError(
                "visit_closed",
                "reason",
                gettext("%(visit)s is already closed (performed, cancelled or not done)")
                % {"visit": visit_label(visit)},
                status=409,
            )
        today = today or subject.site.today()
        audit = AuditBatch(ctx.with_reason(reason), subject)
        audit.visit("visit_not_done", visit, "not_done_reason", None, reason)
        with status_change(visit, today, audit):
            visit.not_done_reason = reason[:200]
        visit.recheck_on = None
        visit.row_version += 1
        visit.save()
        audit.flush()
    return visit


def _mark_performed(
    visit: PlannedVisit, performed_on: dt.date, today: dt.date, audit: AuditBatch
) -> None:
    if visit.performed_on == performed_on:
        return
    settle_performed(visit, performed_on, today, audit)
    visit.recheck_on = None
    visit.row_version += 1
    visit.save()
    mark_for_recheck(PlannedVisit.objects.filter(subject_id=visit.subject_id), today, (), [visit])


# --- hooks for the CRF save path, randomization and subject transitions -----------------------


def on_form_saved(
    ctx: ChangeContext, instance: FormInstance, *, today: dt.date | None = None
) -> SyncResult | None:
    """Call inside the transaction that saved a form. Forms that cannot touch the schedule cost
    no query; others record their events (replacing the ones an earlier save recorded) and mark
    their visit performed. Events the schedule cannot take are kept as conflicts, never refusing
    the form."""
    forms = study_forms(instance.protocol_version_id)
    form = forms.forms.get(instance.form_code)
    visit = forms.events.get(instance.event_code)
    if form is None or visit is None:
        return None
    records_events = affects_schedule(form)
    complete = instance.status == FormStatus.COMPLETE
    marks_visit = complete and _marks_visit(form, visit)
    if not records_events and not marks_visit:
        return None
    with transaction.atomic():
        subject = lock_subject(instance.subject)
        try:
            definition = definition_for(subject)
        except ScheduleUnavailable as exc:
            log.error("form %s saved without schedule update: %s", instance.pk, exc.message)
            return None
        today = today or subject.site.today()
        audit = AuditBatch(ctx, subject)
        rows = live_events(subject)
        if records_events:
            wanted: list[ClinicalEvent] = []
            if complete:
                wanted = events_from_form(
                    form,
                    visit,
                    instance.data,
                    induction_doses=lambda: _induction_doses(definition, rows),
                )
            prefix = f"form:{instance.pk}:"
            sources = {f"{prefix}{i}": event for i, event in enumerate(wanted)}
            rows = _replace_sources(
                ctx, subject, rows, sources, lambda s: s.startswith(prefix), audit
            )
        performed: list[PlannedVisit] = []
        if marks_visit:
            performed = _visit_performed_from_forms(
                subject, visit, instance.event_repeat, forms.forms, today, audit
            )
        result = sync_visits(ctx, subject, definition, rows, today, audit)
        _record_deviations(ctx, subject, [*performed, *result.out_of_window], audit)
        audit.flush()
    return result


def on_randomized(
    ctx: ChangeContext,
    subject: Subject,
    arm_code: str,
    on_date: dt.date,
    *,
    today: dt.date | None = None,
) -> SyncResult | None:
    """Call inside the randomization transaction: the arm's calendar starts on `on_date`."""
    return _sync_sources(ctx, subject, today, {"randomization": Randomized(on_date, arm_code)})


def on_subject_changed(
    ctx: ChangeContext, subject: Subject, *, today: dt.date | None = None
) -> SyncResult | None:
    """Call after screening, consent corrections and lifecycle transitions: consent, registration,
    screen failure, death and going off study become schedule events."""
    return _sync_sources(ctx, subject, today, {})


def sync_subject_from_records(
    ctx: ChangeContext, subject: Subject, *, today: dt.date | None = None
) -> SyncResult | None:
    """Rebuild a subject's schedule events from what is already recorded (subject lifecycle and
    complete forms), e.g. for data entered before this feature or by an import. Idempotent:
    unchanged sources keep their events."""
    result = on_subject_changed(ctx, subject, today=today)
    forms = FormInstance.objects.filter(subject=subject).exclude(status=FormStatus.IN_PROGRESS)
    for instance in forms.select_related("subject").order_by("id"):
        result = on_form_saved(ctx, instance, today=today) or result
    return result


def _sync_sources(
    ctx: ChangeContext, subject: Subject, today: dt.date | None, extra: Mapping[str, ClinicalEvent]
) -> SyncResult | None:
    with transaction.atomic():
        subject = lock_subject(subject)
        try:
            definition = definition_for(subject)
        except ScheduleUnavailable as exc:
            log.error(
                "subject %s changed without schedule update: %s", subject.subject_id, exc.message
            )
            return None
        today = today or subject.site.today()
        audit = AuditBatch(ctx, subject)
        rows = live_events(subject)
        wanted = {**_lifecycle_events(subject, rows, today), **extra}
        managed = LIFECYCLE_SOURCES | set(extra)
        rows = _replace_sources(ctx, subject, rows, wanted, managed.__contains__, audit)
        result = sync_visits(ctx, subject, definition, rows, today, audit)
        _record_deviations(ctx, subject, result.out_of_window, audit)
        audit.flush()
    return result


def _lifecycle_events(
    subject: Subject, rows: list[ScheduleEvent], today: dt.date
) -> dict[str, ClinicalEvent]:
    events: dict[str, ClinicalEvent] = {}
    consent = (
        subject.consents.order_by("consent_date").values_list("consent_date", flat=True).first()
    )
    if consent:
        events["subject:consented"] = Consented(consent)
    if subject.registration_date:
        events["subject:registered"] = Registered(subject.registration_date)
    if subject.status == Status.SCREEN_FAILED:
        # The subject keeps no screen-failure date: the first sync after it fixes the day.
        known = next((r for r in rows if r.source == "subject:screen_failed"), None)
        events["subject:screen_failed"] = ScreenFailed(
            known.on if known else subject.off_study_date or today
        )
    if subject.death_date:
        events["subject:death"] = Death(subject.death_date)
    if subject.status == Status.OFF_STUDY and subject.off_study_date:
        day = subject.off_study_date
        reason = subject.off_study_reason
        if reason == OffStudyReason.DEATH:
            if not subject.death_date:
                events["subject:death"] = Death(day)
        elif reason == OffStudyReason.WITHDRAWAL_ALL:
            events["subject:off_study"] = ConsentWithdrawn(day, WithdrawalScope.ALL_FOLLOW_UP)
        elif reason == OffStudyReason.LOST_TO_FOLLOW_UP:
            events["subject:off_study"] = LostToFollowUp(day)
        else:
            events["subject:off_study"] = StudyEnded(day)
    return events


def _replace_sources(
    ctx: ChangeContext,
    subject: Subject,
    rows: list[ScheduleEvent],
    wanted: Mapping[str, ClinicalEvent],
    manages: Callable[[str], bool],
    audit: AuditBatch,
) -> list[ScheduleEvent]:
    """Make the live events of the sources this caller manages equal `wanted`: unchanged ones
    stay, changed or vanished ones are voided, new ones are added."""
    current = {r.source: r for r in rows if r.source and manages(r.source)}
    new_rows = [event_row(ctx, subject, event, source) for source, event in wanted.items()]
    keep = {r.source for r in new_rows if r.source in current and _same(current[r.source], r)}
    rows = _void(rows, set(current) - keep, audit)
    added = [row for row in new_rows if row.source not in keep]
    if added:
        ScheduleEvent.objects.bulk_create(added)
        for row in added:
            audit.add(
                "schedule_event",
                "reminders.ScheduleEvent",
                row.pk,
                row.kind,
                None,
                _event_value(row),
            )
    return [*rows, *added]


def _void(rows: list[ScheduleEvent], sources: set[str], audit: AuditBatch) -> list[ScheduleEvent]:
    voided = [row for row in rows if row.source in sources]
    if voided:
        now = timezone.now()
        ScheduleEvent.objects.filter(pk__in=[r.pk for r in voided]).update(voided_at=now)
        for row in voided:
            audit.add(
                "schedule_event_voided",
                "reminders.ScheduleEvent",
                row.pk,
                row.kind,
                _event_value(row),
                None,
            )
    return [row for row in rows if row.source not in sources]


def _same(a: ScheduleEvent, b: ScheduleEvent) -> bool:
    return (a.kind, a.on, a.payload) == (b.kind, b.on, b.payload)


def _event_value(row: ScheduleEvent) -> dict:
    return {
        "on": row.on.isoformat(),
        **row.payload,
        **({"source": row.source} if row.source else {}),
    }


def _induction_doses(definition, rows: Iterable[ScheduleEvent]) -> int:
    codes = {e.code for e in definition.events if e.is_induction_dosing}
    return sum(1 for r in rows if r.kind == "DoseGiven" and r.payload.get("event_code") in codes)


def _marks_visit(form: Mapping, visit: Mapping) -> bool:
    return (
        visit.get("kind") not in (EventKind.UNSCHEDULED.value, EventKind.DOSING.value)
        and visit.get("anchor") != Anchor.NONE.value
        and form.get("kind") != "adverse_event"
        and any(item.get("type") == "date" for item in form.get("items", []))
    )


def _visit_performed_from_forms(
    subject: Subject,
    visit: Mapping,
    repeat: int,
    forms: Mapping[str, Mapping],
    today: dt.date,
    audit: AuditBatch,
) -> list[PlannedVisit]:
    row = (
        PlannedVisit.objects.select_for_update(of=("self",))
        .filter(subject=subject, event_code=visit["code"], sequence=repeat)
        .order_by("pk")  # the default ordering would join (and lock) the subject and study
        .first()
    )
    if row is None or row.cancelled:
        return []
    saved = dict(
        FormInstance.objects.filter(
            subject=subject,
            event_code=visit["code"],
            event_repeat=repeat,
            status=FormStatus.COMPLETE,
        ).values_list("form_code", "data")
    )
    ordered = [(forms[code], saved.get(code)) for code in visit["forms"] if code in forms]
    day = first_visit_date(ordered)
    if day is None or day == row.performed_on:
        return []
    _mark_performed(row, day, today, audit)
    return [row]


def _record_deviations(
    ctx: ChangeContext, subject: Subject, visits: Iterable[PlannedVisit], audit: AuditBatch
) -> None:
    """One protocol deviation per visit completed out of window (§4.2)."""
    late = {v.pk: v for v in visits if out_of_window(v)}
    if not late:
        return
    references = {f"PlannedVisit:{pk}": v for pk, v in late.items()}
    known = set(
        ProtocolDeviation.objects.filter(source="schedule", reference__in=references).values_list(
            "reference", flat=True
        )
    )
    now = timezone.now()
    for reference, visit in references.items():
        if reference in known:
            continue
        outside = status_on(visit, visit.performed_on).days_outside_window
        when = f"{outside} day(s) {'after' if outside > 0 else 'before'} the window"
        deviation = ProtocolDeviation.objects.create(
            subject=subject,
            study_id=subject.study_id,
            site_id=subject.site_id,
            kind=DeviationKind.VISIT_OUT_OF_WINDOW,
            description=(
                f"{visit.name} ({visit_label(visit)}) performed on {visit.performed_on}, "
                f"{abs(outside)} {when.split(' ', 1)[1]} {visit.window_start} to {visit.window_end} "
                f"(target {visit.target_date})."
            ),
            detected_at=now,
            source="schedule",
            reference=reference,
            recorded_by=ctx.actor,
        )
        audit.add("create", "crf.ProtocolDeviation", deviation.pk, "kind", None, deviation.kind)


# --- the reminder scan ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    day: dt.date
    evaluated: int
    transitions: int
    message_ids: tuple[int, ...]
    withheld: int  # announceable transitions not announced: subject not to be contacted

    @property
    def messages(self) -> int:
        return len(self.message_ids)

    def __add__(self, other: ScanResult) -> ScanResult:
        return ScanResult(
            day=max(self.day, other.day),
            evaluated=self.evaluated + other.evaluated,
            transitions=self.transitions + other.transitions,
            message_ids=self.message_ids + other.message_ids,
            withheld=self.withheld + other.withheld,
        )


_SCAN_COLUMNS = (
    "id", "row_version", "subject_id", "study_id", "site_id", "event_code", "sequence", "kind",
    "target_date", "window_before", "window_after", "lead_days", "grace_days", "performed_on",
    "not_done_reason", "cancelled_reason", "reminders_paused", "recheck_on", "later_done",
    "subject__status", "subject__death_date", "subject__treatment_consent_withdrawn",
)  # fmt: skip


def scan(today: dt.date, *, timezone_name: str | None = None) -> ScanResult:
    """Announce every visit status change up to `today` (the sites of one time zone, or all).

    Statuses are not stored: a visit's status changes only on its boundary dates or when its
    facts change (then `recheck_on` is set). Since the last day this zone was scanned, the scan
    reads the open visits with a boundary in between plus those marked for a recheck, and
    inserts one message per announceable transition (ON CONFLICT DO NOTHING: a transition is
    announced once, whatever runs overlap) and one audit row per status change. Per zone a
    constant number of queries, whatever the number of subjects; the zone's progress row is
    locked for the run, so a concurrent run of the same zone waits and then finds nothing new."""
    if timezone_name is not None:
        return _scan_zone(today, timezone_name)
    zones = sorted(set(Site.objects.order_by().values_list("timezone", flat=True).distinct()))
    return sum((_scan_zone(today, zone) for zone in zones), ScanResult(today, 0, 0, (), 0))


def _scan_zone(today: dt.date, zone: str) -> ScanResult:
    now = timezone.now()
    with transaction.atomic():
        ScanProgress.objects.get_or_create(timezone=zone, defaults={"last_day": today - ONE_DAY})
        progress = ScanProgress.objects.select_for_update().get(timezone=zone)
        last = min(progress.last_day, today)
        boundary = Q()
        for field in ("reminder_from", "window_start", "target_date"):
            boundary |= Q(**{f"{field}__gt": last, f"{field}__lte": today})
        for field in ("window_end", "missed_after"):  # the status changes the day after these
            boundary |= Q(**{f"{field}__gte": last, f"{field}__lt": today})
        rows = list(
            PlannedVisit.objects.filter(site__timezone=zone)
            .filter((OPEN_AND_ACTIVE & boundary) | Q(recheck_on__lte=today))
            .annotate(later_done=Exists(later_occurrence_done()))
            .order_by()
            .values_list(*_SCAN_COLUMNS)
        )
        rechecked, messages, audits, withheld = [], [], [], 0
        for row in rows:
            (pk, version, subject_pk, study_pk, site_pk, code, sequence, kind, target, before,
             after, lead, grace, performed, not_done, cancelled, paused, recheck, later,
             subject_status, death, no_treatment) = row  # fmt: skip
            facts = VisitRecord(
                event_code=code, sequence=sequence, target=target, window_before=before,
                window_after=after, lead_days=lead, grace_days=grace, performed_on=performed,
                not_done=bool(not_done), cancelled=bool(cancelled),
            )  # fmt: skip
            if recheck is not None:
                rechecked.append((pk, version))
            if paused or not_done or cancelled or performed:
                continue
            current = status_on(facts, today, later_visit_completed=later).code
            previous = (
                status_on(facts, last, later_visit_completed=later).code
                if last < today
                else current
            )
            if current != previous:
                audits.append(
                    (
                        pk,
                        f"{code}#{sequence} status",
                        previous.value,
                        current.value,
                        study_pk,
                        site_pk,
                        subject_pk,
                    )
                )
            elif recheck is None or current not in NOTIFIABLE_STATUSES:
                continue
            # A visit re-evaluated after a change of its facts announces its current status,
            # unless that transition was announced before (the unique constraint decides).
            if current not in NOTIFIABLE_STATUSES:
                continue
            if may_contact(subject_status, death) and not (
                no_treatment and kind == EventKind.DOSING
            ):
                messages.append((pk, current.value, site_pk))
            else:
                withheld += 1
        inserted = bulk_sql.insert_messages(messages, today, now)
        bulk_sql.insert_status_audits(audits, now)
        bulk_sql.clear_rechecks(rechecked)
        if today > progress.last_day:
            progress.last_day = today
            progress.save(update_fields=["last_day", "updated_at"])
    return ScanResult(
        day=today,
        evaluated=len(rows),
        transitions=len(audits),
        message_ids=tuple(inserted),
        withheld=withheld,
    )


def scan_sites_today(now: dt.datetime | None = None) -> ScanResult:
    """Scan every site on its own calendar day (statuses change at local midnight, §4.2)."""
    results = [scan(day, timezone_name=name) for name, day in _site_days(now)]
    return (
        sum(results[1:], results[0]) if results else ScanResult(timezone.localdate(), 0, 0, (), 0)
    )


def _site_days(now: dt.datetime | None) -> list[tuple[str, dt.date]]:
    now = now or timezone.now()
    names = Site.objects.order_by().values_list("timezone", flat=True).distinct()
    return [(name, now.astimezone(zoneinfo.ZoneInfo(name)).date()) for name in sorted(set(names))]


# --- delivery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    withheld: int = 0


def site_recipients(site: Site) -> list[str]:
    """The site's staff address and its active site staff and investigators."""
    addresses = {site.staff_email} if site.staff_email else set()
    addresses |= set(
        Membership.objects.filter(
            site=site, is_active=True, role__in=RECIPIENT_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(addresses)


def _withhold_reason(message: ReminderMessage) -> str:
    """Checked at send time, as the subject may have died since the scan (§4.5)."""
    visit = message.visit
    subject = visit.subject
    if not may_contact(subject.status, subject.death_date):
        return "the subject is dead or off study"
    if visit.kind == EventKind.DOSING and subject.treatment_consent_withdrawn:
        return "the subject withdrew consent for treatment"
    if not visit.is_open:
        return "the visit was closed before sending"
    if visit.reminders_paused:
        return "dosing is on hold"
    newer = (
        ReminderMessage.objects.filter(visit_id=visit.pk, id__gt=message.pk)
        .values_list("transition", flat=True)
        .first()
    )
    if newer:
        return f"superseded: the visit is now {newer}"
    return ""


def visit_facts(visit: PlannedVisit) -> emails.VisitFacts:
    return emails.VisitFacts(
        study_code=visit.study.code,
        site_code=visit.site.code,
        subject_id=visit.subject.subject_id,
        # The visit's name in the language the message is written in (the study's first
        # language unless the caller activated the recipient's).
        visit_name=study_text(study_forms(visit.study.current_version_id).definition, visit.name)
        if visit.study.current_version_id
        else visit.name,
        event_code=visit.event_code,
        sequence=visit.sequence,
        cycle=visit.cycle if visit.kind == EventKind.DOSING else None,
        target=visit.target_date,
        window_start=visit.window_start,
        window_end=visit.window_end,
        missed_after=visit.missed_after,
    )


def deliver_reminders(limit: int | None = None) -> DeliveryResult:
    """Send pending reminder messages, each in its own transaction holding its row lock, so two
    workers never send the same one and a crash before the commit leaves it pending for the
    retry. An SMTP failure raises (the task retries); the message stays pending."""
    sent = withheld = 0
    recipients: dict[int, list[str]] = {}
    connection = get_connection()
    try:
        while limit is None or sent + withheld < limit:
            with transaction.atomic():
                message = (
                    ReminderMessage.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related(
                        "visit__subject", "visit__study__current_version", "visit__site"
                    )
                    .filter(state=Delivery.PENDING)
                    .order_by("id")
                    .first()
                )
                if message is None:
                    break
                visit = message.visit
                reason = _withhold_reason(message)
                if not reason:
                    if visit.site_id not in recipients:
                        recipients[visit.site_id] = site_recipients(visit.site)
                    if not recipients[visit.site_id]:
                        reason = "the site has no staff e-mail address"
                if reason:
                    _close(message, Delivery.SUPPRESSED, reason, [])
                    withheld += 1
                    continue
                transition = VisitStatus(message.transition)
                _send(
                    connection,
                    readers_of(recipients[visit.site_id], visit.site),
                    partial(_reminder_email, visit, transition, message.day),
                )
                _close(message, Delivery.SENT, "", recipients[visit.site_id])
                sent += 1
    finally:
        connection.close()
    return DeliveryResult(sent=sent, withheld=withheld)


def _reminder_email(visit: PlannedVisit, transition: VisitStatus, day: dt.date) -> tuple[str, str]:
    return emails.reminder(visit_facts(visit), transition, day)


def _digest_email(digest: DigestMessage, visits: list[PlannedVisit]) -> tuple[str, str]:
    return emails.digest(
        digest.site.study.code, digest.site.code, digest.day, [visit_facts(v) for v in visits]
    )


def _send(connection, readers: list[Readers], render) -> None:
    """One message per language and zone among the recipients, each rendered in theirs."""
    connection.open()  # no-op once open: one SMTP session for the whole run
    send_to_readers(readers, render, connection=connection)


def _close(message: ReminderMessage | DigestMessage, state: str, note: str, to: list[str]) -> None:
    message.state = state
    message.note = note
    message.recipients = to
    message.sent_at = timezone.now() if state == Delivery.SENT else None
    message.save(update_fields=["state", "note", "recipients", "sent_at"])
    visit = getattr(message, "visit", None)
    record(
        ChangeContext.system(),
        "reminder_sent" if state == Delivery.SENT else "reminder_withheld",
        object_type=f"reminders.{type(message).__name__}",
        object_id=message.pk,
        item=f"{visit_label(visit)} {message.transition}" if visit else f"digest {message.day}",
        new={"recipients": to} if state == Delivery.SENT else {"why": note},
        study=message.site.study if visit is None else visit.study,
        site=message.site,
        subject=visit.subject if visit else None,
    )


def _overdue(day: dt.date):
    return contactable_open_visits(day).filter(window_end__lt=day)


def queue_digests(today: dt.date, *, timezone_name: str | None = None) -> list[int]:
    """One digest row per site with overdue visits on `today` (once per site and day)."""
    overdue = _overdue(today)
    if timezone_name is not None:
        overdue = overdue.filter(site__timezone=timezone_name)
    counts = list(
        overdue.order_by().values("site_id").annotate(n=Count("id")).values_list("site_id", "n")
    )
    return bulk_sql.insert_digests(counts, today, timezone.now())


def queue_digests_today(now: dt.datetime | None = None) -> list[int]:
    return [pk for name, day in _site_days(now) for pk in queue_digests(day, timezone_name=name)]


def deliver_digests() -> DeliveryResult:
    """Send pending digests; the list is read at send time, so a visit done since is left out."""
    sent = withheld = 0
    connection = get_connection()
    try:
        while True:
            with transaction.atomic():
                digest = (
                    DigestMessage.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("site__study")
                    .filter(state=Delivery.PENDING)
                    .order_by("id")
                    .first()
                )
                if digest is None:
                    break
                visits = list(
                    _overdue(digest.day)
                    .filter(site=digest.site)
                    .select_related("subject", "study__current_version", "site")
                    .order_by("window_end", "subject__subject_id", "event_code", "sequence")
                )
                to = site_recipients(digest.site)
                reason = "" if visits else "nothing is overdue any more"
                reason = reason or ("" if to else "the site has no staff e-mail address")
                if reason:
                    _close(digest, Delivery.SUPPRESSED, reason, [])
                    withheld += 1
                    continue
                _send(
                    connection, readers_of(to, digest.site), partial(_digest_email, digest, visits)
                )
                digest.items = len(visits)
                digest.save(update_fields=["items"])
                _close(digest, Delivery.SENT, "", to)
                sent += 1
    finally:
        connection.close()
    return DeliveryResult(sent=sent, withheld=withheld)
