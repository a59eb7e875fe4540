"""Sign-in auditing, lockout, and membership changes (all audited)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from edc.accounts import tokenkeys
from edc.accounts.models import ApiToken, LoginFailure, Membership, Preference, TokenRevokeReason
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.accounts.selectors import reader_settings
from edc.accounts.tokenkeys import lifetime_ok, new_key
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import Change, change_rows, record, record_changes
from edc.errors import DomainError
from edc.localtime import zone_or_none

User = get_user_model()


def _lock_window_start() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def is_locked_out(username: str) -> bool:
    """Whether `username` has used up its sign-in attempts within the lockout window."""
    return LoginFailure.objects.filter(
        username=username[:150],
        count__gte=settings.LOGIN_MAX_FAILURES,
        last_failure_at__gte=_lock_window_start(),
    ).exists()


@transaction.atomic
def claim_login_attempt(username: str) -> bool:
    """Take one of `username`'s sign-in attempts BEFORE its password is checked; False when none
    is left (the account is locked). The count goes up in one conditional UPDATE, so however many
    sign-ins race, at most LOGIN_MAX_FAILURES password checks run before the lock: each needs a
    row the database let it increment. A successful sign-in gives the attempts back
    (record_login); a lock older than LOGIN_LOCKOUT_MINUTES is lifted here."""
    username = username[:150]
    now = timezone.now()
    limit = settings.LOGIN_MAX_FAILURES
    # ON CONFLICT DO NOTHING: racing first attempts create one row and none fails.
    LoginFailure.objects.bulk_create(
        [LoginFailure(username=username, count=0, last_failure_at=now)], ignore_conflicts=True
    )
    LoginFailure.objects.filter(
        username=username, count__gte=limit, last_failure_at__lt=_lock_window_start()
    ).update(count=0)
    return bool(
        LoginFailure.objects.filter(username=username, count__lt=limit).update(
            count=F("count") + 1, last_failure_at=now
        )
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
    """Audit a refused sign-in. Its attempt was counted when claimed (claim_login_attempt); the
    failure that uses up the last attempt locks the account, which revokes its API tokens."""
    username = username[:150]
    ctx = ChangeContext(user=None, channel=channel)
    record(
        ctx,
        "login_failed",
        object_type="auth.User",
        item="username",
        new=username,
        object_id="",
        old="locked" if locked else None,
    )
    if locked or not is_locked_out(username):
        return
    owner = User.objects.filter(username=username).first()
    if owner is not None:
        revoke_tokens_of(ctx, owner, TokenRevokeReason.LOCKED_OUT)


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


# API tokens ------------------------------------------------------------------------------------

TOKEN_NAME_MAX_LENGTH = 60


def password_stamp(user) -> str:
    """The stamp of `user`'s current password (edc.accounts.tokenkeys.password_stamp)."""
    return tokenkeys.password_stamp(user.password)


def password_unchanged(token: ApiToken, user) -> bool:
    """Whether `user`'s password is the one `token` was issued under."""
    return constant_time_compare(token.password_stamp, password_stamp(user))


def _audit_revocations(ctx: ChangeContext, tokens: list[ApiToken], reason: str) -> None:
    rows = []
    now = timezone.now()
    for token in tokens:
        rows += change_rows(
            ctx,
            "api_token_revoked",
            [Change("revoke_reason", None, reason), Change("name", token.name, token.name)],
            object_type="accounts.ApiToken",
            object_id=token.pk,
            at=now,
        )
    AuditEvent.objects.bulk_create(rows)


@transaction.atomic
def revoke_tokens_of(ctx: ChangeContext, owner, reason: str) -> int:
    """Revoke every live token of `owner` (deactivation, lockout, a new password). Expired
    tokens are revoked too, so nothing that could be mistaken for live stays."""
    tokens = list(
        ApiToken.objects.select_for_update()
        .filter(owner=owner, revoked_at__isnull=True)
        .order_by("pk")
    )
    if not tokens:
        return 0
    ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(
        revoked_at=timezone.now(), revoked_by=ctx.actor, revoke_reason=reason
    )
    _audit_revocations(ctx, tokens, reason)
    return len(tokens)


def _refuse_token_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise DomainError("required", "name", _("name the device or integration this token is for"))
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise DomainError(
            "too_long",
            "name",
            _("at most %(count)d characters") % {"count": TOKEN_NAME_MAX_LENGTH},
        )
    return name


@transaction.atomic
def issue_token(
    ctx: ChangeContext, owner, *, name: str | None, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for `owner`, and its key: the only time the key is known. A client that
    names none (name None) gets "api <prefix>"."""
    key = new_key()
    name = f"api {key.prefix}" if name is None else _refuse_token_name(name)
    most = settings.API_TOKEN_DAYS
    days = most if expires_in_days is None else expires_in_days
    if not lifetime_ok(days, most):
        raise DomainError(
            "invalid_lifetime",
            "expires_in_days",
            _("a token lives from 1 to %(most)d days") % {"most": most},
        )
    now = timezone.now()
    # An expired token gives up its name, so the device can have a new one under it.
    expired = list(
        ApiToken.objects.select_for_update().filter(
            owner=owner, name=name, revoked_at__isnull=True, expires_at__lte=now
        )
    )
    if expired:
        ApiToken.objects.filter(pk__in=[t.pk for t in expired]).update(
            revoked_at=now, revoked_by=None, revoke_reason=TokenRevokeReason.EXPIRED
        )
        _audit_revocations(ChangeContext(None, ctx.channel), expired, TokenRevokeReason.EXPIRED)
    token = ApiToken(
        owner=owner,
        name=name,
        prefix=key.prefix,
        digest=key.digest,
        password_stamp=password_stamp(owner),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    try:
        with transaction.atomic():
            token.save(force_insert=True)
    except IntegrityError:
        raise DomainError(
            "token_name_taken",
            "name",
            _("you already have a live token named %(name)s; revoke it or choose another name")
            % {"name": name},
            status=409,
        ) from None
    record_changes(
        ctx,
        "api_token_issued",
        [
            Change("name", None, name),
            Change("prefix", None, key.prefix),
            Change("expires_at", None, token.expires_at.isoformat()),
        ],
        object_type="accounts.ApiToken",
        object_id=token.pk,
    )
    return token, key.key


def sign_in_for_token(
    owner, channel: str, *, name: str | None, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A sign-in through the API: audited, the failed attempts forgiven, a new token issued.
    The password was right even when the token is refused (a name already taken), so the
    sign-in is kept and only then the refusal raised: a client retrying under a taken name must
    not lock its account."""
    with transaction.atomic(durable=True):
        record_login(owner, channel)
        try:
            with transaction.atomic():
                return issue_token(
                    ChangeContext(user=owner, channel=channel),
                    owner,
                    name=name,
                    expires_in_days=expires_in_days,
                )
        except DomainError as exc:
            refused = exc
    raise refused


@transaction.atomic(durable=True)
def create_token(
    ctx: ChangeContext, *, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A signed-in person makes a token for themselves (the "My API tokens" page)."""
    return issue_token(ctx, ctx.user, name=name, expires_in_days=expires_in_days)


def may_manage_tokens_of(actor, owner) -> bool:
    """A person manages their own tokens; a superuser everyone's; a study admin those of people
    who belong to a study they administer."""
    if actor.pk == owner.pk or actor.is_superuser:
        return True
    administered = scope_of(actor).study_ids(Permission.ADMINISTER)
    return (
        bool(administered)
        and Membership.objects.filter(user=owner, study_id__in=administered).exists()
    )


@transaction.atomic(durable=True)
def revoke_token(ctx: ChangeContext, token_id: int, *, reason: str | None = None) -> ApiToken:
    """Revoke one token. Its owner and the owner's admins may; anyone else learns nothing (404).
    Revoking a revoked token changes nothing."""
    token = (
        ApiToken.objects.select_for_update(of=("self",))
        .select_related("owner")
        .filter(pk=token_id)
        .first()
    )
    if token is None or not may_manage_tokens_of(ctx.user, token.owner):
        raise DomainError("not_found", "id", _("no such token"), status=404)
    if token.revoked_at is not None:
        return token
    if reason is None:
        reason = (
            TokenRevokeReason.BY_OWNER
            if token.owner_id == ctx.user.pk
            else TokenRevokeReason.BY_ADMIN
        )
    token.revoked_at, token.revoked_by, token.revoke_reason = timezone.now(), ctx.actor, reason
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    _audit_revocations(ctx, [token], reason)
    return token


@transaction.atomic
def change_password(ctx: ChangeContext, user, raw_password: str | None) -> None:
    """Set a new password (None: no usable password). Every API token of the person is revoked:
    a token must not outlive the password that issued it."""
    if raw_password is None:
        user.set_unusable_password()
    else:
        user.set_password(raw_password)
    save_password(ctx, user)


@transaction.atomic
def save_password(ctx: ChangeContext, user) -> None:
    """Store the password already set on `user` (by a password form), audit it and revoke the
    person's API tokens."""
    user.save(update_fields=["password"])
    record(ctx, "password_changed", object_type="auth.User", object_id=user.pk)
    revoke_tokens_of(ctx, user, TokenRevokeReason.PASSWORD_CHANGED)


@transaction.atomic
def set_account_active(ctx: ChangeContext, user, active: bool) -> None:
    """Activate or deactivate an account; deactivating revokes its API tokens."""
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.is_active != active:
        User.objects.filter(pk=user.pk).update(is_active=active)
        record_changes(
            ctx,
            "account_active_changed",
            [Change("is_active", current.is_active, active)],
            object_type="auth.User",
            object_id=user.pk,
        )
    user.is_active = active
    if not active:
        revoke_tokens_of(ctx, user, TokenRevokeReason.DEACTIVATED)
