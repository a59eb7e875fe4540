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


class TokenRevokeReason(models.TextChoices):
    SIGNED_OUT = "signed_out", _("signed out")
    BY_OWNER = "by_owner", _("by its owner")
    BY_ADMIN = "by_admin", _("by an administrator")
    PASSWORD_CHANGED = "password_changed", _("password changed")
    DEACTIVATED = "deactivated", _("account deactivated")
    LOCKED_OUT = "locked_out", _("account locked after failed sign-ins")
    EXPIRED = "expired", _("expired")


class ApiToken(models.Model):
    """A named API key of one person, for one device or integration. Only the key's SHA-256
    digest is stored (the key is shown once, when issued) and a short prefix to recognise it
    by. Tokens are never deleted: revoking one stamps who, when and why."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=60, verbose_name=_("name"))
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    # A digest of the owner's password hash when the token was issued (tokenkeys.password_stamp):
    # a password changed by any path (admin, changepassword command) makes the token fail.
    password_stamp = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoke_reason = models.CharField(max_length=20, blank=True, choices=TokenRevokeReason.choices)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=Q(revoked_at__isnull=True),
                name="api_token_unique_live_name",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=(Q(revoked_at__isnull=True) & Q(revoke_reason=""))
                | (Q(revoked_at__isnull=False) & ~Q(revoke_reason="")),
                name="api_token_revoked_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner} · {self.name} · {self.prefix}…"
