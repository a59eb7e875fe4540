"""Sign-in auditing, lockout, and membership changes (all audited)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from edc.accounts.models import LoginFailure, Membership, Preference
from edc.accounts.selectors import reader_settings
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record, record_changes
from edc.errors import DomainError
from edc.localtime import zone_or_none


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


@transaction.atomic(durable=True)
def set_preferences(
    ctx: ChangeContext, user, *, language: str, time_zone: str | None = None
) -> Preference:
    """Save what `user` chose to read in. Empty values mean "not chosen" (browser language, site
    zone); time_zone None keeps the zone as it is. Only people whose roles span sites may choose
    a zone; site-bound people read in their site's zone, so for them a chosen zone is refused."""
    if language not in {code for code, _name in settings.LANGUAGES} | {""}:
        raise DomainError(
            "invalid_language",
            "language",
            _("%(value)s is not a language of this system") % {"value": language},
        )
    if time_zone is not None and time_zone and zone_or_none(time_zone) is None:
        raise DomainError(
            "invalid_timezone",
            "time_zone",
            _("%(value)s is not an IANA time zone name") % {"value": time_zone},
        )
    if time_zone and not reader_settings(user).may_choose_zone:
        raise DomainError(
            "zone_fixed", "time_zone", _("your time zone is your site's and cannot be changed")
        )
    preference, _created = Preference.objects.select_for_update().get_or_create(user=user)
    if time_zone is None:
        time_zone = preference.time_zone
    changes = [
        Change(name, getattr(preference, name), value)
        for name, value in (("language", language), ("time_zone", time_zone))
        if getattr(preference, name) != value
    ]
    if changes:
        preference.language, preference.time_zone = language, time_zone
        preference.save()
        record_changes(
            ctx,
            "preferences_changed",
            changes,
            object_type="accounts.Preference",
            object_id=user.pk,
        )
    return preference
