from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from edc import labels
from edc.accounts.roles import Role


class Membership(models.Model):
    """A user's role in a study, at one site, or at every site of the study when site is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(
        "studies.Site",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text=_("Empty means every site of the study."),
    )
    role = models.CharField(max_length=20, choices=[(r.value, labels.ROLE[r.value]) for r in Role])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "site", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "site", "role"],
                condition=Q(site__isnull=False),
                name="membership_unique_at_site",
            ),
            models.UniqueConstraint(
                fields=["user", "study", "role"],
                condition=Q(site__isnull=True),
                name="membership_unique_study_wide",
            ),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} · {self.study} · {where} · {self.role}"


class LoginFailure(models.Model):
    """Failed sign-ins per username, for lockout. The audit trail keeps the history."""

    username = models.CharField(max_length=150, unique=True)
    count = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.username}: {self.count} failed sign-in(s)"


class Preference(models.Model):
    """What a person chose for reading: language and time zone. Empty means "not chosen": the
    language then comes from the browser, else the system default; the zone from the person's
    site (edc.accounts.selectors.reader_zone_name)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preference",
    )
    language = models.CharField(
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        verbose_name=_("language"),
    )
    time_zone = models.CharField(max_length=60, blank=True, verbose_name=_("time zone"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.language or '-'} {self.time_zone or '-'}"
