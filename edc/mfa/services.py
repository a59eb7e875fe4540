"""Writes of two-step sign-in (django-otp's TOTP and static devices), each audited.

A TOTP device stays unconfirmed until the person types a code from it, so a QR code scanned
wrongly never locks anyone out. Confirming it replaces any earlier authenticator and issues a
fresh set of recovery codes (django-otp static tokens, each usable once), which the page shows
once. Wrong codes are throttled by django-otp (each failure doubles the wait) and audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from edc.accounts.roles import Role
from edc.audit.context import ChangeContext
from edc.audit.services import Change, apply_changes, record, record_changes
from edc.errors import DomainError
from edc.mfa.models import StudyMfaPolicy
from edc.mfa.selectors import pending_authenticator

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


@transaction.atomic(durable=True)
def _wrong_code(ctx: ChangeContext, user, purpose: str) -> DomainError:
    """Audit a wrong code (committed on its own: the attempt stays on record) and return the
    error to raise."""
    record(
        ctx,
        "second_factor_failed",
        object_type="auth.User",
        object_id=user.pk,
        item=purpose,
    )
    return DomainError(
        "wrong_code",
        "code",
        _("this code is not right or has expired; wait for a new code and try again"),
        status=403,
    )


@transaction.atomic(durable=True)
def start_enrolment(ctx: ChangeContext, user) -> TOTPDevice:
    """The unconfirmed authenticator whose secret the enrolment page shows (reused while the
    person has not confirmed it, so reloading the page keeps the QR code)."""
    pending = pending_authenticator(user)
    if pending is not None:
        return pending
    device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    record(ctx, "second_factor_enrolment_started", object_type="auth.User", object_id=user.pk)
    return device


def confirm_enrolment(ctx: ChangeContext, user, *, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it. Returns the device and the new
    recovery codes (to be shown once). A wrong code is refused, field ``code``; the attempt
    stays on record (and in django-otp's throttle) although the enrolment fails."""
    done = _confirm(ctx, user, code.strip())
    if done is None:
        raise _wrong_code(ctx, user, "enrolment")
    return done


@transaction.atomic(durable=True)
def _confirm(ctx: ChangeContext, user, code: str) -> tuple[TOTPDevice, list[str]] | None:
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("-pk")
        .first()
    )
    if device is None:
        raise DomainError(
            "no_enrolment", "code", _("start again: no authenticator is being set up"), status=409
        )
    if not device.verify_token(code):
        return None
    replaced = list(
        TOTPDevice.objects.filter(user=user, confirmed=True).values_list("pk", flat=True)
    )
    # A new phone replaces the old one: its secret must stop working. Credentials, not clinical
    # data; the audit row keeps who replaced what and when.
    TOTPDevice.objects.filter(pk__in=replaced).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    recovery, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    recovery.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=recovery, token=c) for c in codes])
    record_changes(
        ctx,
        "second_factor_enrolled",
        [
            Change("authenticator", f"replaced {len(replaced)}" if replaced else None, device.pk),
            Change("recovery_codes", None, RECOVERY_CODE_COUNT),
        ],
        object_type="auth.User",
        object_id=user.pk,
    )
    return device, codes


def verify_second_factor(ctx: ChangeContext, user, *, code: str) -> Device:
    """Check a code from the person's authenticator, or one of their recovery codes (used up).
    Returns the device that accepted it, for django_otp.login. A wrong code is refused (field
    ``code``) and audited; django-otp's throttle makes each further try wait twice as long."""
    device = _match(ctx, user, code.strip().replace(" ", "").lower())
    if device is None:
        raise _wrong_code(ctx, user, "sign-in")
    return device


@transaction.atomic(durable=True)
def _match(ctx: ChangeContext, user, code: str) -> Device | None:
    if not code:
        return None
    # Six digits are an authenticator's code, anything else a recovery code: each device is
    # tried on its own kind only, so a typo does not also count against the other's throttle.
    kind = TOTPDevice if code.isdigit() else StaticDevice
    for device in devices_for_user(user, confirmed=True, for_verify=True):
        if isinstance(device, kind) and device.verify_token(code):
            record(
                ctx,
                "second_factor_verified",
                object_type="auth.User",
                object_id=user.pk,
                item="recovery code" if kind is StaticDevice else "authenticator",
            )
            return device
    return None


# Not durable: the admin's change form runs it inside its own transaction.
@transaction.atomic
def set_study_policy(ctx: ChangeContext, study, required: dict[str, bool]) -> StudyMfaPolicy:
    """Set which roles of `study` must sign in with a second factor (every role named;
    unknown roles refused). Applies from each person's next sign-in."""
    unknown = set(required) - {role.value for role in Role}
    if unknown:
        raise DomainError(
            "invalid_role", "role", _("not a role: %(roles)s") % {"roles": ", ".join(unknown)}
        )
    policy, created = StudyMfaPolicy.objects.select_for_update().get_or_create(
        study=study, defaults=required
    )
    if created:
        changes = [Change(role, None, value) for role, value in required.items()]
    else:
        changes = apply_changes(policy, required)
        if changes:
            policy.save()
    if changes:
        record_changes(
            ctx,
            "second_factor_policy_changed",
            changes,
            object_type="mfa.StudyMfaPolicy",
            object_id=study.pk,
            study=study,
        )
    return policy


# Not durable: the admin's delete view runs it inside its own transaction.
@transaction.atomic
def reset_second_factor(ctx: ChangeContext, user) -> None:
    """Remove every authenticator and recovery code of `user` (a lost phone and lost codes):
    they sign in with the password alone until they enrol again, or are asked to enrol at once
    when a role requires it. Credentials, not clinical data: the audit row keeps the fact."""
    authenticators = TOTPDevice.objects.filter(user=user)
    removed = authenticators.count()
    authenticators.delete()
    StaticDevice.objects.filter(user=user).delete()
    record(
        ctx,
        "second_factor_reset",
        object_type="auth.User",
        object_id=user.pk,
        item="authenticator",
        old=removed,
        new=0,
    )
