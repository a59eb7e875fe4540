"""Sign-in auditing, lockout, and membership changes (all audited)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from edc.accounts.models import LoginFailure, Membership
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record, record_changes


def is_locked_out(username: str) -> bool:
    failure = LoginFailure.objects.filter(username=username).first()
    if failure is None or failure.count < settings.LOGIN_MAX_FAILURES:
        return False
    return timezone.now() - failure.last_failure_at < dt.timedelta(
        minutes=settings.LOGIN_LOCKOUT_MINUTES
    )


@transaction.atomic
def record_login(user, channel: str) -> None:
    LoginFailure.objects.filter(username=user.get_username()).delete()
    record(
        ChangeContext(user=user, channel=channel),
        "login",
        object_type="auth.User",
        object_id=user.pk,
    )


@transaction.atomic
def record_login_failure(username: str, channel: str, *, locked: bool = False) -> None:
    now = timezone.now()
    updated = LoginFailure.objects.filter(username=username).update(
        count=F("count") + 1, last_failure_at=now
    )
    if not updated:
        LoginFailure.objects.create(username=username[:150], count=1, last_failure_at=now)
    ctx = ChangeContext(user=None, channel=channel)
    record(
        ctx,
        "login_failed",
        object_type="auth.User",
        item="username",
        new=username[:150],
        object_id="",
        old="locked" if locked else None,
    )


def record_logout(user, channel: str) -> None:
    record(
        ChangeContext(user=user, channel=channel),
        "logout",
        object_type="auth.User",
        object_id=user.pk,
    )


@transaction.atomic
def grant_membership(ctx: ChangeContext, *, user, study, site, role: str) -> Membership:
    membership = Membership.objects.create(user=user, study=study, site=site, role=role)
    record_changes(
        ctx,
        "role_granted",
        [
            Change("user", None, user.get_username()),
            Change("role", None, role),
            Change("site", None, site.code if site else "all sites"),
        ],
        object_type="accounts.Membership",
        object_id=membership.pk,
        study=study,
        site=site,
    )
    return membership


@transaction.atomic
def change_membership(
    ctx: ChangeContext,
    membership: Membership,
    *,
    role: str | None = None,
    site=...,
    is_active: bool | None = None,
) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    changes = []
    if role is not None and role != membership.role:
        changes.append(Change("role", membership.role, role))
        membership.role = role
    if site is not ... and (site.pk if site else None) != membership.site_id:
        changes.append(
            Change(
                "site",
                membership.site.code if membership.site_id else "all sites",
                site.code if site else "all sites",
            )
        )
        membership.site = site
    if is_active is not None and is_active != membership.is_active:
        changes.append(Change("is_active", membership.is_active, is_active))
        membership.is_active = is_active
    if changes:
        membership.save()
        record_changes(
            ctx,
            "role_changed",
            changes,
            object_type="accounts.Membership",
            object_id=membership.pk,
            study=membership.study,
            site=membership.site,
        )
    return membership
