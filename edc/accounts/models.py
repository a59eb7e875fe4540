from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from edc import labels
from edc.accounts.roles import LIVE_STATUSES, MembershipStatus, Role


class Membership(models.Model):
    """A user's role in a study, at one site, or at every site of the study when site is empty.

    Only an ACTIVE membership grants anything. `is_active` is kept as the one flag every reader
    of access filters on (scoping, selectors, e-mail recipients), and a check constraint ties it
    to `status`, so a PENDING, ENDED or REFUSED membership can never grant access."""

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
    status = models.CharField(
        max_length=10,
        choices=[(s.value, labels.MEMBERSHIP_STATUS[s.value]) for s in MembershipStatus],
        default=MembershipStatus.ACTIVE.value,
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Empty for system grants (demo, imports) and memberships made before grants were signed.
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Ended, or (for a pending grant) refused: when, by whom and why.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["study", "site", "user"]
        constraints = [
            # One live (pending or active) membership per user, place and role; ended ones stay
            # beside it as history.
            models.UniqueConstraint(
                fields=["user", "study", "site", "role"],
                condition=Q(site__isnull=False, status__in=sorted(s.value for s in LIVE_STATUSES)),
                name="membership_unique_live_at_site",
            ),
            models.UniqueConstraint(
                fields=["user", "study", "role"],
                condition=Q(site__isnull=True, status__in=sorted(s.value for s in LIVE_STATUSES)),
                name="membership_unique_live_study_wide",
            ),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in MembershipStatus]),
                name="membership_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, status=MembershipStatus.ACTIVE.value)
                | (Q(is_active=False) & ~Q(status=MembershipStatus.ACTIVE.value)),
                name="membership_active_only_when_status_active",
            ),
            # No one grants a role to themselves, nor approves a grant they asked for or that
            # is for them. (NULL, a system grant, passes a CHECK.)
            models.CheckConstraint(
                condition=~Q(granted_by=F("user")), name="membership_not_self_granted"
            ),
            models.CheckConstraint(
                condition=~Q(approved_by=F("user")) & ~Q(approved_by=F("granted_by")),
                name="membership_approved_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} · {self.study} · {where} · {self.role} · {self.status}"


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
