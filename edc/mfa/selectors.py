"""Reads for two-step sign-in: which step a person is at, and what they have enrolled."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from edc.accounts.models import Membership
from edc.mfa import policy
from edc.mfa.models import StudyMfaPolicy


def authenticator_of(user) -> TOTPDevice | None:
    """The person's enrolled (confirmed) authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def pending_authenticator(user) -> TOTPDevice | None:
    """The authenticator being set up: shown as a QR code until a code from it confirms it."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def is_required(user) -> bool:
    """Whether any of the person's active roles must sign in with a second factor. Two queries."""
    memberships = list(
        Membership.objects.filter(user=user, is_active=True).values_list("role", "study_id")
    )
    policies = {
        row.pk: row.required_roles
        for row in StudyMfaPolicy.objects.filter(pk__in={study for _role, study in memberships})
    }
    return policy.is_required(
        [(role, policies.get(study)) for role, study in memberships],
        default=settings.EDC_MFA_ROLES,
        is_admin=user.is_staff or user.is_superuser,
    )


def step_after_password(user) -> policy.Step:
    """What a person who has just given the password must do next. Three queries, once per
    session (edc.mfa.middleware keeps the answer in the session)."""
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    required = False if has_device else is_required(user)
    return policy.step_after_password(has_device=has_device, required=required)


@dataclass(frozen=True)
class SecondFactor:
    """What the preferences page says about a person's two-step sign-in."""

    authenticator: TOTPDevice | None
    required: bool
    recovery_codes_left: int


def second_factor_of(user) -> SecondFactor:
    return SecondFactor(
        authenticator=authenticator_of(user),
        required=is_required(user),
        recovery_codes_left=StaticToken.objects.filter(device__user=user).count(),
    )
