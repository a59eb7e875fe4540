from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

FORMATS = ("csv", "xpt", "parquet", "odm")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ExportJob(models.Model):
    """One requested export of a study's data, run by a Celery task into its own folder.

    `snapshot_id` names the locked dataset the files hold, or is UNLOCKED when the data were
    current, unlocked data; `data_cut` is the instant the files describe (the lock time, or
    the moment an unlocked export was requested).
    """

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150, blank=True)
    channel = models.CharField(max_length=10)
    all_sites = models.BooleanField(default=True)
    site_codes = models.JSONField(default=list, help_text=_("Sites in the export, by code."))
    formats = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    progress_note = models.CharField(max_length=200, blank=True)
    locked = models.BooleanField(default=False)
    snapshot_id = models.CharField(max_length=80, blank=True)
    data_cut = models.DateTimeField(null=True, blank=True)
    out_dir = models.CharField(max_length=500, blank=True)
    archive_name = models.CharField(max_length=200, blank=True)
    archive_bytes = models.BigIntegerField(null=True, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ExportStatus]),
                name="export_job_status_valid",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_job_progress_max"),
        ]
        indexes = [models.Index(fields=["study", "-created_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.study_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {ExportStatus.DONE, ExportStatus.FAILED}

    @property
    def label(self) -> str:
        return "locked" if self.locked else "UNLOCKED"
