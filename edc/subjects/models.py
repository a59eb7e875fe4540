from django.db import models
from django.db.models import Q

from edc import labels
from edc.subjects.lifecycle import OffStudyReason, Status


class Subject(models.Model):
    """A screened patient, known everywhere by a study-scoped ID, never by name."""

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="subjects")
    site = models.ForeignKey("studies.Site", on_delete=models.PROTECT, related_name="subjects")
    subject_id = models.CharField(max_length=30)
    status = models.CharField(
        max_length=30,
        choices=[(s.value, labels.SUBJECT_STATUS[s.value]) for s in Status],
        default=Status.SCREENING,
    )
    protocol_version = models.ForeignKey(
        "studies.ProtocolVersion", on_delete=models.PROTECT, related_name="+"
    )
    screening_date = models.DateField()
    registration_date = models.DateField(null=True, blank=True)
    randomization_date = models.DateField(null=True, blank=True)
    off_study_date = models.DateField(null=True, blank=True)
    off_study_reason = models.CharField(
        max_length=40,
        blank=True,
        choices=[(r.value, labels.OFF_STUDY_REASON[r.value]) for r in OffStudyReason],
    )
    death_date = models.DateField(null=True, blank=True)
    treatment_consent_withdrawn = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    row_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["study", "subject_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "subject_id"], name="subject_id_unique_in_study"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="subject_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return self.subject_id


class Consent(models.Model):
    """Informed consent: the date and the ICF version signed. Re-consent adds a row."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consents")
    consent_date = models.DateField()
    icf_version = models.CharField(max_length=40)
    recorded_at = models.DateTimeField(auto_now_add=True)
    row_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["subject", "consent_date", "id"]

    def __str__(self) -> str:
        return f"{self.subject} consent {self.consent_date} ({self.icf_version})"
