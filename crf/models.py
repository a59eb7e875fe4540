from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class FormStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")
    NOT_DONE = "not_done", _("Not done")
    REMOVED = "removed", _("Removed")


class FormInstance(models.Model):
    """One filled case report form: a form of a subject at one visit (event and repeat).

    Values live in `data` keyed by the item codes of the study definition: top-level items as
    {"ITEM": value}; repeating groups as {"group_code": [{"ITEM": value, ...}, ...]}. Numbers
    are stored as decimal strings so they stay exact; dates as ISO text ("2026-05" when partial).
    Nothing is deleted: a removed form keeps its data with status `removed` and an audit reason.
    """

    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="forms")
    # Denormalised from the subject so scoping and locking filters need no join.
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    protocol_version = models.ForeignKey(
        "studies.ProtocolVersion", on_delete=models.PROTECT, related_name="+"
    )
    event_code = models.CharField(max_length=20)
    event_repeat = models.PositiveIntegerField(default=1)
    form_code = models.CharField(max_length=40)
    form_repeat = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=12, choices=FormStatus.choices, default=FormStatus.IN_PROGRESS
    )
    data = models.JSONField(default=dict)
    row_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Values the system computed from `data` (stage group, RECIST responses, grade suggestions),
    # each with the derivation shown on the form. Never entered by users.
    derived = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["subject", "event_code", "event_repeat", "form_code", "form_repeat"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "event_code", "event_repeat", "form_code", "form_repeat"],
                name="form_instance_unique_slot",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in FormStatus]),
                name="form_instance_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(row_version__gte=1), name="form_instance_row_version_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["study", "form_code"]),
            models.Index(fields=["site", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.event_code}#{self.event_repeat} {self.form_code}#{self.form_repeat}"


class DeviationKind(models.TextChoices):
    ELIGIBILITY_WAIVER = "eligibility_waiver", _("Eligibility criterion waived")
    VISIT_OUT_OF_WINDOW = "visit_out_of_window", _("Visit out of window")
    TREATMENT = "treatment", _("Treatment deviation")
    OTHER = "other", _("Other")


class ProtocolDeviation(models.Model):
    """A departure from the protocol, recorded by whichever feature detects it.

    `source` names the detecting feature (e.g. "eligibility", "schedule"); `reference` points at
    the record that documents it (e.g. "EligibilityWaiver:12")."""

    subject = models.ForeignKey(
        "subjects.Subject", on_delete=models.PROTECT, related_name="deviations"
    )
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40, choices=DeviationKind.choices)
    description = models.TextField()
    detected_at = models.DateTimeField()
    source = models.CharField(max_length=40)
    reference = models.CharField(max_length=120, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["subject", "detected_at", "id"]
        indexes = [models.Index(fields=["study", "kind"])]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.kind} {self.detected_at:%Y-%m-%d}"


class EligibilityPoint(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    RANDOMIZATION = "randomization", _("Randomization")
    FIRST_DOSE = "first_dose", _("First dose")


class EligibilityWaiver(models.Model):
    """A sponsor-approved override of one criterion for one subject; always a protocol deviation."""

    subject = models.ForeignKey(
        "subjects.Subject", on_delete=models.PROTECT, related_name="eligibility_waivers"
    )
    point = models.CharField(max_length=20, choices=EligibilityPoint.choices)
    criterion_id = models.CharField(max_length=20)
    result_at_waiver = models.CharField(max_length=20)
    sponsor_approval_reference = models.CharField(max_length=120)
    sponsor_approver = models.CharField(max_length=150)
    approved_on = models.DateField()
    reason = models.TextField()
    deviation = models.OneToOneField(
        ProtocolDeviation, on_delete=models.PROTECT, related_name="waiver"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["subject", "point", "criterion_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "point", "criterion_id"],
                name="eligibility_waiver_once_per_point",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.point} {self.criterion_id} waived"


class EligibilityConfirmation(models.Model):
    """An investigator's e-signature that a subject is eligible at one point.

    `results` is the snapshot the investigator saw; `results_sha256` binds the signature to it, so
    any later change of the data that changes the results voids the confirmation (21 CFR 11.70)."""

    subject = models.ForeignKey(
        "subjects.Subject", on_delete=models.PROTECT, related_name="eligibility_confirmations"
    )
    point = models.CharField(max_length=20, choices=EligibilityPoint.choices)
    results = models.JSONField()
    results_sha256 = models.CharField(max_length=64)
    meaning = models.TextField()
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_by_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["subject", "point", "-signed_at", "-id"]
        indexes = [models.Index(fields=["subject", "point"])]

    def __str__(self) -> str:
        return f"{self.subject_id} eligible at {self.point} signed {self.signed_at:%Y-%m-%d %H:%M}"


class CtcaeTerm(models.Model):
    """One CTCAE term. Grade text comes only from the official NCI spreadsheet (import_ctcae);
    an empty grade text with the grade listed in `grades` means the text has not been imported."""

    version = models.CharField(max_length=10, default="5.0")
    meddra_code = models.CharField(max_length=12)
    soc = models.CharField(max_length=200)
    term = models.CharField(max_length=200)
    grades = models.JSONField(help_text="Selectable grades, e.g. [1, 2, 3]")
    grade_text = models.JSONField(default=dict, blank=True, help_text='{"1": "...", ...}')
    definition = models.TextField(blank=True)
    navigational_note = models.TextField(blank=True)
    is_other_specify = models.BooleanField(default=False)
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["soc", "term"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "meddra_code"], name="ctcae_term_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term} ({self.meddra_code})"


class LabRangeSex(models.TextChoices):
    ANY = "", _("Any")
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class LabNormalRange(models.Model):
    """A site laboratory's normal range for one test: it fills the LLN/ULN items of the lab
    forms whose sample date is on or after `effective_from` (the latest such range wins), for
    the subject's sex and age (completed years at the sample date, bounds inclusive).

    `lab_test` is the item code of the result on the study's lab form (e.g. CREAT); `unit` a
    UCUM code, converted to the limit item's unit when they differ. Changes are audited and
    need a reason; a range is never deleted (a newer one supersedes it)."""

    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="+")
    lab_test = models.CharField(max_length=8)
    unit = models.CharField(max_length=20)
    sex = models.CharField(max_length=1, blank=True, default="", choices=LabRangeSex.choices)
    age_from = models.PositiveSmallIntegerField(null=True, blank=True)
    age_to = models.PositiveSmallIntegerField(null=True, blank=True)
    lln = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    uln = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    effective_from = models.DateField()
    row_version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "lab_test", "sex", "age_from", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lln__isnull=False) | Q(uln__isnull=False),
                name="lab_range_has_a_limit",
            ),
            models.CheckConstraint(
                condition=Q(lln__isnull=True) | Q(uln__isnull=True) | Q(lln__lte=models.F("uln")),
                name="lab_range_lln_not_above_uln",
            ),
            models.CheckConstraint(
                condition=Q(age_from__isnull=True)
                | Q(age_to__isnull=True)
                | Q(age_from__lte=models.F("age_to")),
                name="lab_range_age_band_ordered",
            ),
            models.CheckConstraint(
                condition=Q(sex__in=[s.value for s in LabRangeSex]), name="lab_range_sex_valid"
            ),
            models.UniqueConstraint(
                fields=["site", "lab_test", "sex", "age_from", "age_to", "effective_from"],
                name="lab_range_unique_band_and_date",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["site", "lab_test", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.site_id} {self.lab_test} {self.effective_from}"
