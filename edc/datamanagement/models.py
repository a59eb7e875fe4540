from django.conf import settings
from django.db import models
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from edc import labels
from edc.datamanagement.query_states import QuerySource, QueryStatus

# Named here so the API schema can give them one enum (SPECTACULAR_SETTINGS ENUM_NAME_OVERRIDES).
QUERY_STATUS_CHOICES = [(s.value, labels.QUERY_STATUS[s.value]) for s in QueryStatus]


class LockLevel(models.TextChoices):
    FORM = "form", _("Form")
    SUBJECT = "subject", _("Subject")
    SITE = "site", _("Site")
    STUDY = "study", _("Study")


# Orders locks widest first, so a check names the lock a data manager would have to lift.
LOCK_BREADTH = Case(
    When(level=LockLevel.STUDY, then=Value(0)),
    When(level=LockLevel.SITE, then=Value(1)),
    When(level=LockLevel.SUBJECT, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


class SignatureLevel(models.TextChoices):
    FORM = "form", _("Form")
    VISIT = "visit", _("Visit")
    CASEBOOK = "casebook", _("Casebook")


class Query(models.Model):
    """A data clarification request on one item of one filled form (and one group row)."""

    # Denormalised from the form so scoping and dashboard counts need no join.
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    form_instance = models.ForeignKey(
        "crf.FormInstance", on_delete=models.PROTECT, related_name="queries"
    )
    item_code = models.CharField(max_length=60)
    group_row = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("1-based row of a repeating group, empty for plain items"),
    )
    source = models.CharField(
        max_length=12, choices=[(s.value, labels.QUERY_SOURCE[s.value]) for s in QuerySource]
    )
    status = models.CharField(
        max_length=10,
        choices=QUERY_STATUS_CHOICES,
        default=QueryStatus.OPEN,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty means anyone at the site who answers queries."),
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for queries opened by an edit check."),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "queries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in QueryStatus]), name="query_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=[s.value for s in QuerySource]), name="query_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(group_row__isnull=True) | Q(group_row__gte=1),
                name="query_group_row_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["study", "site", "status"]),
            models.Index(fields=["form_instance", "status"]),
        ]

    def __str__(self) -> str:
        row = f"[{self.group_row}]" if self.group_row else ""
        return f"Q{self.pk} {self.item_code}{row} ({self.status})"


class QueryMessage(models.Model):
    """One step of a query's thread: the question, each answer, re-query, close or cancel."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    action = models.CharField(max_length=10)
    text = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["query", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.query_id} {self.action} by {self.author_name}"


class SourceVerification(models.Model):
    """A monitor's record that a form, or one item of it, matches the source documents.

    Never deleted: a change to the verified data sets cleared_at, and the row stays as history.
    """

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    form_instance = models.ForeignKey(
        "crf.FormInstance", on_delete=models.PROTECT, related_name="source_verifications"
    )
    item_code = models.CharField(
        max_length=60, blank=True, help_text=_("Empty when the whole form was verified.")
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["form_instance", "item_code", "verified_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["form_instance", "item_code"],
                condition=Q(cleared_at__isnull=True),
                name="sdv_one_current_per_item",
            ),
        ]
        indexes = [models.Index(fields=["study", "site"])]

    def __str__(self) -> str:
        return f"SDV {self.form_instance_id} {self.item_code or 'form'}"


class Signature(models.Model):
    """An investigator's electronic signature (21 CFR 11.50/11.70) on a form, visit or casebook.

    Bound to the SHA-256 of the signed content. Never deleted: an edit of signed data voids it
    (voided_at, void_reason) and sets resign_required until the target is signed again.
    """

    level = models.CharField(max_length=10, choices=SignatureLevel.choices)
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    form_instance = models.ForeignKey(
        "crf.FormInstance", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event_code = models.CharField(max_length=20, blank=True)
    event_repeat = models.PositiveIntegerField(null=True, blank=True)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The printed name as it was when signing (11.50), so a later rename does not rewrite it.
    signer_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField(default=timezone.now)
    meaning = models.TextField()
    content_sha256 = models.CharField(max_length=64)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    resign_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["subject", "signed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level=SignatureLevel.FORM, form_instance__isnull=False)
                    | Q(level=SignatureLevel.VISIT, form_instance__isnull=True, event_repeat__gte=1)
                    & ~Q(event_code="")
                    | Q(level=SignatureLevel.CASEBOOK, form_instance__isnull=True)
                ),
                name="signature_target_matches_level",
            ),
            models.UniqueConstraint(
                fields=["form_instance"],
                condition=Q(level=SignatureLevel.FORM, voided_at__isnull=True),
                name="signature_one_valid_per_form",
            ),
            models.UniqueConstraint(
                fields=["subject", "event_code", "event_repeat"],
                condition=Q(level=SignatureLevel.VISIT, voided_at__isnull=True),
                name="signature_one_valid_per_visit",
            ),
            models.UniqueConstraint(
                fields=["subject"],
                condition=Q(level=SignatureLevel.CASEBOOK, voided_at__isnull=True),
                name="signature_one_valid_per_casebook",
            ),
        ]
        indexes = [models.Index(fields=["subject", "voided_at"])]

    def __str__(self) -> str:
        return f"{self.level} signature {self.pk} by {self.signer_name}"

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None


class Lock(models.Model):
    """A lock on a form, a subject, a site or a whole study. Active while unlocked_at is empty."""

    level = models.CharField(max_length=10, choices=LockLevel.choices)
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "studies.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.ForeignKey(
        "subjects.Subject", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    form_instance = models.ForeignKey(
        "crf.FormInstance", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField(default=timezone.now)
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unlock_reason = models.TextField(blank=True)
    # Study locks only: the dataset the lock froze, which every analysis extract names.
    snapshot_id = models.UUIDField(null=True, blank=True, unique=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    snapshot_form_count = models.PositiveIntegerField(null=True, blank=True)
    previous_study_status = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-locked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level=LockLevel.STUDY, site__isnull=True, subject__isnull=True)
                    & Q(form_instance__isnull=True, snapshot_id__isnull=False)
                    | Q(level=LockLevel.SITE, site__isnull=False, subject__isnull=True)
                    & Q(form_instance__isnull=True, snapshot_id__isnull=True)
                    | Q(level=LockLevel.SUBJECT, site__isnull=False, subject__isnull=False)
                    & Q(form_instance__isnull=True, snapshot_id__isnull=True)
                    | Q(level=LockLevel.FORM, site__isnull=False, subject__isnull=False)
                    & Q(form_instance__isnull=False, snapshot_id__isnull=True)
                ),
                name="lock_target_matches_level",
            ),
            models.UniqueConstraint(
                fields=["study"],
                condition=Q(level=LockLevel.STUDY, unlocked_at__isnull=True),
                name="lock_one_active_per_study",
            ),
            models.UniqueConstraint(
                fields=["site"],
                condition=Q(level=LockLevel.SITE, unlocked_at__isnull=True),
                name="lock_one_active_per_site",
            ),
            models.UniqueConstraint(
                fields=["subject"],
                condition=Q(level=LockLevel.SUBJECT, unlocked_at__isnull=True),
                name="lock_one_active_per_subject",
            ),
            models.UniqueConstraint(
                fields=["form_instance"],
                condition=Q(level=LockLevel.FORM, unlocked_at__isnull=True),
                name="lock_one_active_per_form",
            ),
        ]
        indexes = [
            models.Index(
                fields=["study", "level"],
                condition=Q(unlocked_at__isnull=True),
                name="lock_active_by_study",
            ),
        ]

    def __str__(self) -> str:
        state = "active" if self.unlocked_at is None else "released"
        return f"{self.level} lock {self.pk} ({state})"

    @property
    def is_active(self) -> bool:
        return self.unlocked_at is None


class QueryEmailMode(models.TextChoices):
    IMMEDIATE = "immediate", _("One e-mail per new query")
    DAILY = "daily", _("One daily digest of new queries")
    OFF = "off", _("No query e-mails")


class SiteQuerySettings(models.Model):
    """How a site hears of new queries. A site without a row gets one e-mail per query."""

    site = models.OneToOneField(
        "studies.Site", on_delete=models.PROTECT, related_name="query_settings"
    )
    email_mode = models.CharField(
        max_length=10, choices=QueryEmailMode.choices, default=QueryEmailMode.IMMEDIATE
    )

    class Meta:
        verbose_name_plural = "site query settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(email_mode__in=QueryEmailMode.values), name="query_email_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} queries: {self.email_mode}"


class QueryNotice(models.Model):
    """The e-mail telling a site of new queries: one per query (immediate) or one per site and
    day (digest). The unique constraints make a re-run or two workers unable to queue a second
    one for the same query or day."""

    class Kind(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate"
        DIGEST = "digest", "Daily digest"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        SUPPRESSED = "suppressed", "Not sent"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    query = models.ForeignKey(
        Query, null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    day = models.DateField(null=True, blank=True, help_text="The day a digest covers (UTC).")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    items = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="immediate", query__isnull=False, day__isnull=True)
                | Q(kind="digest", query__isnull=True, day__isnull=False),
                name="query_notice_target_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["query"], condition=Q(kind="immediate"), name="query_notice_once_per_query"
            ),
            models.UniqueConstraint(
                fields=["site", "day"],
                condition=Q(kind="digest"),
                name="query_notice_once_per_site_day",
            ),
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(state="pending"), name="query_notice_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} query notice {self.pk} ({self.state})"


class QueryChange(models.Model):
    """Links the audit row of a value changed in answer to a query to that query. The audit
    table is append-only, so the link lives beside it; it is never changed or deleted."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="changes")
    audit_event = models.ForeignKey("audit.AuditEvent", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["query", "audit_event"], name="query_change_once_per_audit_row"
            ),
        ]

    def __str__(self) -> str:
        return f"Q{self.query_id} changed audit row {self.audit_event_id}"
