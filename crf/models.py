from django.db import models
from django.db.models import Q


class FormStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETE = "complete", "Complete"
    NOT_DONE = "not_done", "Not done"
    REMOVED = "removed", "Removed"


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
    protocol_version = models.ForeignKey("studies.ProtocolVersion", on_delete=models.PROTECT, related_name="+")
    event_code = models.CharField(max_length=20)
    event_repeat = models.PositiveIntegerField(default=1)
    form_code = models.CharField(max_length=40)
    form_repeat = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=FormStatus.choices, default=FormStatus.IN_PROGRESS)
    data = models.JSONField(default=dict)
    row_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subject", "event_code", "event_repeat", "form_code", "form_repeat"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "event_code", "event_repeat", "form_code", "form_repeat"],
                name="form_instance_unique_slot",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in FormStatus]), name="form_instance_status_valid"
            ),
            models.CheckConstraint(condition=Q(row_version__gte=1), name="form_instance_row_version_positive"),
        ]
        indexes = [
            models.Index(fields=["study", "form_code"]),
            models.Index(fields=["site", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} {self.event_code}#{self.event_repeat} {self.form_code}#{self.form_repeat}"
