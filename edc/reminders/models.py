"""Stored schedules: the clinical events a subject's schedule is replayed from, the visits it
planned, and the reminder e-mails sent about them. Uniqueness in the database is what makes a
reminder go out once per visit and transition, however often or concurrently the scan runs."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from edc.schedule.windows import VisitStatus

# The dates on (or, for the last two, the day after) which a visit's status changes.
BOUNDARY_FIELDS = ("reminder_from", "window_start", "target_date", "window_end", "missed_after")
OPEN_AND_ACTIVE = Q(
    performed_on__isnull=True, cancelled_reason="", not_done_reason="", reminders_paused=False
)


class ScheduleEvent(models.Model):
    """One recorded clinical event (edc.schedule.events), e.g. a dose given or a progression.

    Rows are never deleted: a corrected source (an edited form) voids its old rows and adds new
    ones. `source` names where the event came from ("form:<id>:<n>", "subject:registered",
    "randomization"), so re-saving the same source replaces instead of duplicating."""

    # Indexed by (subject, voided_at) below; a second index on the foreign key alone adds nothing.
    subject = models.ForeignKey(
        "subjects.Subject",
        on_delete=models.PROTECT,
        related_name="schedule_events",
        db_index=False,
    )
    kind = models.CharField(max_length=40)
    on = models.DateField()
    payload = models.JSONField(default=dict)
    source = models.CharField(max_length=120, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    # Why the schedule engine cannot apply this event (it is then left out of the replay).
    conflict = models.TextField(blank=True)

    class Meta:
        ordering = ["subject", "on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "source"],
                condition=Q(voided_at__isnull=True) & ~Q(source=""),
                name="schedule_event_one_live_per_source",
            ),
        ]
        indexes = [models.Index(fields=["subject", "voided_at"])]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.kind} {self.on}"


class PlannedVisit(models.Model):
    """One occurrence of a schedule event for a subject, as planned by edc.schedule.planning.

    Its status is never stored: it is a function of these facts and the day (domain spec §4.2).
    The reminder scan finds the visits whose status changes on a day through the indexed
    boundary dates (reminder_from, window_start, target_date, window_end, missed_after), and
    the visits whose facts changed through `recheck_on`, so it writes nothing to this table."""

    # The foreign keys rely on the unique (subject, event_code, sequence) and the partial site
    # index instead of indexes of their own: fewer indexes to maintain on 10^6-10^7 rows.
    subject = models.ForeignKey(
        "subjects.Subject",
        on_delete=models.PROTECT,
        related_name="planned_visits",
        db_index=False,
    )
    study = models.ForeignKey(
        "studies.Study", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    site = models.ForeignKey(
        "studies.Site", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event_code = models.CharField(max_length=20)
    sequence = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12)
    cycle = models.PositiveIntegerField(null=True, blank=True)
    target_date = models.DateField()
    window_before = models.PositiveSmallIntegerField()
    window_after = models.PositiveSmallIntegerField()
    lead_days = models.PositiveSmallIntegerField()
    grace_days = models.PositiveSmallIntegerField()
    window_start = models.DateField()
    window_end = models.DateField()
    reminder_from = models.DateField()
    missed_after = models.DateField()
    performed_on = models.DateField(null=True, blank=True)
    not_done_reason = models.CharField(max_length=200, blank=True)
    cancelled_reason = models.CharField(max_length=60, blank=True)
    reminders_paused = models.BooleanField(default=False)
    # Set when the visit's facts change (planned, moved, reinstated, resumed, a later occurrence
    # done): the next scan evaluates it whatever the day; cleared by that scan.
    recheck_on = models.DateField(null=True, blank=True)
    row_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subject", "target_date", "event_code", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "event_code", "sequence"], name="planned_visit_unique"
            ),
            models.CheckConstraint(
                condition=Q(window_start__lte=models.F("target_date"))
                & Q(window_end__gte=models.F("target_date")),
                name="planned_visit_window_contains_target",
            ),
        ]
        indexes = [
            *(
                models.Index(
                    fields=[boundary], condition=OPEN_AND_ACTIVE, name=f"planned_visit_{boundary}"
                )
                for boundary in BOUNDARY_FIELDS
            ),
            models.Index(
                fields=["recheck_on"],
                condition=Q(recheck_on__isnull=False),
                name="planned_visit_recheck",
            ),
            models.Index(
                fields=["site", "missed_after"],
                condition=OPEN_AND_ACTIVE,
                name="planned_visit_open_by_site",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.event_code}#{self.sequence} {self.target_date}"

    # The attributes edc.schedule's status model and reconcile read.
    @property
    def target(self) -> dt.date:
        return self.target_date

    @property
    def not_done(self) -> bool:
        return bool(self.not_done_reason)

    @property
    def cancelled(self) -> bool:
        return bool(self.cancelled_reason)

    @property
    def is_open(self) -> bool:
        return self.performed_on is None and not self.not_done and not self.cancelled


class ScanProgress(models.Model):
    """The last calendar day the reminder scan covered, per site time zone. The scan holds this
    row's lock while it runs, so runs of one zone never overlap, and covers the days after it."""

    timezone = models.CharField(max_length=60, unique=True)
    last_day = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.timezone} scanned to {self.last_day}"


class Delivery(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    SUPPRESSED = "suppressed", _("Not sent")


class ReminderMessage(models.Model):
    """The e-mail about one status transition of one visit. At most one row per (visit,
    transition): the scan inserts with ON CONFLICT DO NOTHING, so a re-run or an overlapping
    run can never queue a second message for the same transition."""

    # Indexed by the unique (visit, transition).
    visit = models.ForeignKey(
        PlannedVisit, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    transition = models.CharField(max_length=30, choices=[(s.value, s.value) for s in VisitStatus])
    day = models.DateField()
    site = models.ForeignKey(
        "studies.Site", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    state = models.CharField(max_length=12, choices=Delivery.choices, default=Delivery.PENDING)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "transition"], name="reminder_once_per_visit_transition"
            ),
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(state="pending"), name="reminder_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.visit} → {self.transition} ({self.state})"


class DigestMessage(models.Model):
    """The daily e-mail listing a site's overdue visits: one per site and local day."""

    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    state = models.CharField(max_length=12, choices=Delivery.choices, default=Delivery.PENDING)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    items = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "day"], name="digest_once_per_site_day"),
        ]

    def __str__(self) -> str:
        return f"{self.site} digest {self.day} ({self.state})"
