"""Randomization records. Integrity lives in the database: unique constraints stop a subject
being randomized twice or a slot being used twice, and triggers (migration 0002) keep the
commitments, seeds, allocations and corrections append-only and a live scheme frozen."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    PERMUTED_BLOCKS = "permuted_blocks", _("Stratified permuted blocks")
    MINIMIZATION = "minimization", _("Minimization (Pocock–Simon)")


class SchemeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")


class RandomizationScheme(models.Model):
    """How one study allocates. Once live, the database refuses any change to the row."""

    study = models.OneToOneField(
        "studies.Study", on_delete=models.PROTECT, related_name="randomization_scheme"
    )
    protocol_version = models.ForeignKey(
        "studies.ProtocolVersion", on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=20, choices=Method.choices)
    # Arms, ratios, block sizes, factors, sites, list length, p: everything the list depends on.
    params = models.JSONField()
    status = models.CharField(
        max_length=10, choices=SchemeStatus.choices, default=SchemeStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    went_live_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=[m.value for m in Method]), name="scheme_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft", went_live_at__isnull=True)
                | Q(status="live", went_live_at__isnull=False),
                name="scheme_live_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study_id} {self.method} ({self.status})"


class CommitmentKind(models.TextChoices):
    GO_LIVE = "go_live", _("Go-live")
    EXTENSION = "extension", _("List extension")


class Commitment(models.Model):
    """Hashes fixed before allocation: parameters, parameters+list, seed+salt. Append-only.

    ``params`` holds the exact structured parameters the list was generated from, so a
    verifier holding the seed can regenerate the list and recompute every hash."""

    scheme = models.ForeignKey(
        RandomizationScheme, on_delete=models.PROTECT, related_name="commitments"
    )
    kind = models.CharField(max_length=12, choices=CommitmentKind.choices)
    generator = models.CharField(max_length=40)
    params = models.JSONField()
    params_sha256 = models.CharField(max_length=64)
    list_sha256 = models.CharField(max_length=64)
    seed_sha256 = models.CharField(max_length=64)
    slot_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.list_sha256[:12]}"


class Seed(models.Model):
    """The secret seed, wrapped with the server key (see seed_vault), and the commitment salt.

    Only statisticians can read it, through selectors that audit every reveal."""

    scheme = models.OneToOneField(
        RandomizationScheme, on_delete=models.PROTECT, related_name="seed"
    )
    wrapped = models.BinaryField()
    key_id = models.CharField(max_length=16)
    salt = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"seed of scheme {self.scheme_id} (wrapped)"


class Stratum(models.Model):
    """One independent allocation sequence and its cursor; locked for each allocation.

    Minimization has a single stratum row (key ``minimization``) that serialises the study."""

    scheme = models.ForeignKey(RandomizationScheme, on_delete=models.PROTECT, related_name="strata")
    key = models.CharField(max_length=300)
    values = models.JSONField()
    site = models.ForeignKey(
        "studies.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    next_sequence = models.PositiveIntegerField(default=1)
    slots_total = models.PositiveIntegerField(default=0)
    alerted_80 = models.BooleanField(default=False)
    alerted_100 = models.BooleanField(default=False)

    class Meta:
        ordering = ["scheme", "key"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "key"], name="stratum_key_unique"),
            models.CheckConstraint(
                condition=Q(next_sequence__gte=1), name="stratum_cursor_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def used(self) -> int:
        return self.next_sequence - 1


class Slot(models.Model):
    """One pre-generated position of a stratum list. Only ``available`` may change, and only
    from true to false (a withdrawn slot is never given out)."""

    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="slots")
    sequence = models.PositiveIntegerField()
    block_number = models.PositiveIntegerField()
    block_size = models.PositiveIntegerField()
    position_in_block = models.PositiveIntegerField()
    arm = models.CharField(max_length=40)
    available = models.BooleanField(default=True)

    class Meta:
        ordering = ["stratum", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["stratum", "sequence"], name="slot_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.stratum_id}#{self.sequence}"


class Allocation(models.Model):
    """A subject's arm. Never updated or deleted: corrections are AllocationCorrection rows."""

    subject = models.OneToOneField(
        "subjects.Subject", on_delete=models.PROTECT, related_name="allocation"
    )
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    scheme = models.ForeignKey(
        RandomizationScheme, on_delete=models.PROTECT, related_name="allocations"
    )
    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="allocations")
    slot = models.OneToOneField(
        Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="allocation"
    )
    sequence = models.PositiveIntegerField()
    arm = models.CharField(max_length=40)
    # Factor levels (and site) exactly as used: later CRF corrections never change them.
    stratum_values = models.JSONField()
    idempotency_key = models.CharField(max_length=100, blank=True)
    randomized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    randomized_by_username = models.CharField(max_length=150, blank=True)
    randomized_at = models.DateTimeField()
    channel = models.CharField(max_length=10)
    # What the eligibility gate saw: confirmation id, signer, time, waived criteria.
    eligibility = models.JSONField(default=dict)
    # List-use thresholds (80, 100 %) this allocation reached: the study admin is e-mailed about
    # each after commit, so a retried notification task knows them from the row alone.
    list_alerts = models.JSONField(null=True, blank=True)
    # Enrolment caps (study target, site, stratum) this allocation took to 80 % or 100 %:
    # [{"cap": "site", "percent": 80, "used": 8, "limit": 10}, ...], e-mailed by the follow-up.
    cap_alerts = models.JSONField(null=True, blank=True)
    # Minimization over the ratio's units (unequal ratios): which of the arm's units the
    # subject was given, so later allocations count per unit (1 for every other allocation).
    ratio_unit = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["stratum", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["stratum", "sequence"], name="allocation_sequence_unique"
            ),
            models.UniqueConstraint(
                fields=["scheme", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="allocation_idempotency_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["study", "site", "arm"])]

    def __str__(self) -> str:
        return f"{self.subject_id} → {self.arm}"


class AllocationFollowUp(models.Model):
    """The worker's mark that an allocation's follow-up (derived form items, the arm's calendar,
    e-mails) is done. An allocation without one is pending: the request that randomizes writes
    nothing here and sends nothing to the broker; a periodic task finds pending allocations, so
    none is missed even if the broker or the web process was down at commit."""

    allocation = models.OneToOneField(
        Allocation, primary_key=True, on_delete=models.PROTECT, related_name="follow_up"
    )
    done_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.allocation_id} followed up {self.done_at:%Y-%m-%d %H:%M}"


class CorrectionKind(models.TextChoices):
    SLOT_WITHDRAWN = "slot_withdrawn", _("Slot withdrawn (never to be used)")
    RANDOMIZED_IN_ERROR = "randomized_in_error", _("Randomized in error")
    STRATUM_ERROR = "stratum_error", _("Stratum values recorded in error")


class AllocationCorrection(models.Model):
    """An administrative correction with its reason. Append-only; nothing is reused."""

    scheme = models.ForeignKey(
        RandomizationScheme, on_delete=models.PROTECT, related_name="corrections"
    )
    kind = models.CharField(max_length=24, choices=CorrectionKind.choices)
    allocation = models.ForeignKey(
        Allocation, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    slot = models.ForeignKey(
        Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    details = models.JSONField(default=dict, blank=True)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="correction_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.created_at:%Y-%m-%d})"
