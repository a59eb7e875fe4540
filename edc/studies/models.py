import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StudyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (set-up)")
    OPEN = "open", _("Open to enrolment")
    CLOSED = "closed", _("Closed to enrolment")
    LOCKED = "locked", _("Locked")


class Study(models.Model):
    """A trial. Its protocol lives in versioned definition files (ProtocolVersion)."""

    code = models.SlugField(max_length=20, unique=True, allow_unicode=False)
    title = models.CharField(max_length=400)
    nct_number = models.CharField(max_length=20, blank=True)
    sponsor_protocol_number = models.CharField(max_length=60, blank=True)
    phase = models.CharField(max_length=10)
    target_enrollment = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=StudyStatus.choices, default=StudyStatus.OPEN)
    current_version = models.ForeignKey(
        "ProtocolVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    safety_contact_email = models.EmailField(blank=True)
    admin_email = models.EmailField(blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    @property
    def definition(self) -> dict:
        return self.current_version.definition if self.current_version_id else {}


class ProtocolVersion(models.Model):
    """One loaded version of a study definition file. Data keeps the version it was entered under."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=40, blank=True)
    sha256 = models.CharField(max_length=64)
    source_name = models.CharField(max_length=200)
    definition = models.JSONField()
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["study", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "number"], name="protocol_version_number_unique"
            ),
            models.UniqueConstraint(
                fields=["study", "sha256"], name="protocol_version_content_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.code} v{self.number}"


class Site(models.Model):
    """A participating centre in one study. Memberships and subjects hang off it."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=60, default="Asia/Shanghai")
    # The language of e-mails to the site's shared address (people's own e-mails follow their
    # preferences).
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    staff_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["study", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="site_code_unique_in_study"),
        ]

    def __str__(self) -> str:
        return f"{self.study.code}/{self.code} {self.name}"

    def today(self) -> dt.date:
        """The calendar day at the site now. Dates are entered, visit windows evaluated and
        subjects randomized on the site's day (domain spec §4.2), not the server's: a site east
        of UTC starts its day hours before the server does. A timezone the system does not know
        (set outside create_site) falls back to the server's day."""
        try:
            zone = zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return timezone.localdate()
        return timezone.now().astimezone(zone).date()
