"""Sign-in auditing, lockout, people and their memberships (every change audited)."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from edc.accounts import tokenkeys
from edc.accounts.models import ApiToken, LoginFailure, Membership, Preference, TokenRevokeReason
from edc.accounts.roles import (
    LIVE_STATUSES,
    MembershipStatus,
    Permission,
    Role,
    needs_second_approval,
)
from edc.accounts.scoping import scope_of
from edc.accounts.selectors import reader_settings
from edc.accounts.tokenkeys import lifetime_ok, new_key
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent, Channel
from edc.audit.services import (
    Change,
    apply_changes,
    change_rows,
    record,
    record_changes,
    require_reason,
)
from edc.errors import DomainError
from edc.localtime import zone_or_none

log = logging.getLogger(__name__)
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


def _may_administer(user, study_id: int, site_id: int | None) -> bool:
    """A superuser, or an admin of the study (site_id None: of the whole study)."""
    return user.is_superuser or scope_of(user).can(Permission.ADMINISTER, study_id, site_id)


def _require_admin(ctx: ChangeContext, study, site) -> None:
    """403 unless the caller administers `site` (or the whole study when site is None). System
    work (demo, imports) is not scoped; the views that start it were."""
    user = ctx.actor
    if user is not None and not _may_administer(user, study.pk, site.pk if site else None):
        raise PermissionDenied(_("you do not administer people there"))


def _where(site) -> str:
    return site.code if site else "all sites"


@transaction.atomic
def grant_membership(ctx: ChangeContext, *, user, study, site, role: str) -> Membership:
    """Give `user` a role in `study` (at `site`, or at every site when None). A person's grant
    of a role that reads unblinded data (roles.needs_second_approval) stays PENDING, granting
    nothing, until a second admin approves it (decide_membership). No one grants to themselves;
    a study admin grants only where they administer."""
    if role not in {r.value for r in Role}:
        raise DomainError("invalid_role", "role", _("%(value)s is not a role") % {"value": role})
    if site is not None and site.study_id != study.pk:
        raise DomainError("site_not_in_study", "site", _("the site is not one of this study's"))
    actor = ctx.actor
    if actor is not None and actor.pk == user.pk:
        raise DomainError(
            "self_grant", "user", _("no one may grant a role to themselves"), status=403
        )
    _require_admin(ctx, study, site)
    pending = actor is not None and needs_second_approval(
        role, granted_by_superuser=actor.is_superuser
    )
    status = MembershipStatus.PENDING if pending else MembershipStatus.ACTIVE
    try:
        # A savepoint: the live-membership unique constraint settles two admins racing.
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user,
                study=study,
                site=site,
                role=role,
                status=status.value,
                is_active=not pending,
                granted_by=actor,
            )
    except IntegrityError:
        raise DomainError(
            "already_member",
            "role",
            _("this person already has (or waits for) this role there"),
            status=409,
        ) from None
    record_changes(
        ctx,
        "role_granted",
        [
            Change("user", None, user.get_username()),
            Change("role", None, role),
            Change("site", None, _where(site)),
            Change("status", None, status.value),
        ],
        object_type="accounts.Membership",
        object_id=membership.pk,
        study=study,
        site=site,
    )
    return membership


def _locked(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("study", "site", "user")
        .get(pk=membership.pk)
    )


@transaction.atomic(durable=True)
def end_membership(ctx: ChangeContext, membership: Membership) -> Membership:
    """End a pending or active membership (with ctx's reason). It is kept, ENDED, as history."""
    reason = require_reason(ctx)
    membership = _locked(membership)
    _require_admin(ctx, membership.study, membership.site)
    if membership.status not in LIVE_STATUSES:
        raise DomainError(
            "membership_not_live", "membership", _("this membership has already ended"), status=409
        )
    old = membership.status
    membership.status, membership.is_active = MembershipStatus.ENDED.value, False
    membership.ended_at, membership.ended_by, membership.end_reason = (
        timezone.now(),
        ctx.actor,
        reason,
    )
    membership.save(update_fields=["status", "is_active", "ended_at", "ended_by", "end_reason"])
    record_changes(
        ctx,
        "role_ended",
        [Change("status", old, membership.status)],
        object_type="accounts.Membership",
        object_id=membership.pk,
        study=membership.study,
        site=membership.site,
    )
    return membership


def may_decide(user, membership: Membership) -> bool:
    """Whether `user` may approve or refuse this pending grant: a second admin of the study
    (neither the one who asked nor the person it is for), or a superuser, which is how a study
    with a single admin gets its grants approved."""
    return (
        membership.status == MembershipStatus.PENDING
        and user.pk not in {membership.user_id, membership.granted_by_id}
        and _may_administer(user, membership.study_id, membership.site_id)
    )


@transaction.atomic(durable=True)
def decide_membership(ctx: ChangeContext, membership: Membership, *, approve: bool) -> Membership:
    """Approve (it then grants its role) or refuse (ctx's reason required) a pending grant."""
    actor = ctx.actor
    if actor is None:
        raise DomainError("approver_required", "user", _("a person must approve a grant"))
    reason = (ctx.reason or "").strip() if approve else require_reason(ctx)
    membership = _locked(membership)
    if membership.status != MembershipStatus.PENDING:
        raise DomainError(
            "membership_not_pending",
            "membership",
            _("this grant is not waiting for approval"),
            status=409,
        )
    if actor.pk in {membership.user_id, membership.granted_by_id}:
        raise DomainError(
            "second_admin_required",
            "user",
            _("a second admin, not the one who asked nor the person it is for, must decide"),
            status=403,
        )
    _require_admin(ctx, membership.study, membership.site)
    now = timezone.now()
    if approve:
        membership.status, membership.is_active = MembershipStatus.ACTIVE.value, True
        membership.approved_by, membership.approved_at = actor, now
        fields = ["status", "is_active", "approved_by", "approved_at"]
    else:
        membership.status = MembershipStatus.REFUSED.value
        membership.ended_at, membership.ended_by, membership.end_reason = now, actor, reason
        fields = ["status", "ended_at", "ended_by", "end_reason"]
    membership.save(update_fields=fields)
    record_changes(
        ctx,
        "role_approved" if approve else "role_refused",
        [Change("status", MembershipStatus.PENDING.value, membership.status)],
        object_type="accounts.Membership",
        object_id=membership.pk,
        study=membership.study,
        site=membership.site,
    )
    return membership


@dataclass(frozen=True)
class AddedPerson:
    user: object
    membership: Membership
    link_sent: bool


def add_person(
    ctx: ChangeContext,
    study,
    *,
    username: str,
    full_name: str,
    email: str,
    language: str,
    site,
    role: str,
    base_url: str,
) -> AddedPerson:
    """A new user with no usable password and their first membership, then an e-mail with a
    link to set their password (in their language and zone). The user and membership commit
    together; the e-mail goes after the commit, and a failure to send is reported (the person
    page can send a new link), not rolled back."""
    _require_admin(ctx, study, site)
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    full_name = full_name.strip()
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise DomainError(
            "invalid_language",
            "language",
            _("%(value)s is not a language of this system") % {"value": language},
        )
    with transaction.atomic(durable=True):
        if User.objects.filter(username__iexact=username).exists():
            raise DomainError(
                "username_taken", "username", _("this username is already taken"), status=409
            )
        if User.objects.filter(email__iexact=email, is_active=True).exists():
            raise DomainError(
                "email_taken",
                "email",
                _("another person already uses this e-mail address"),
                status=409,
            )
        # Django's User keeps a name in two parts; a full name (Chinese names included) is
        # kept whole in the first part, and get_full_name() reads it back unchanged.
        user = User(username=username, email=email, first_name=full_name)
        user.set_unusable_password()
        try:
            user.full_clean(exclude=["password", "last_name"])
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            field = {"first_name": "full_name"}.get(field, field)
            raise DomainError("invalid_person", field, " ".join(messages)) from None
        user.save()
        Preference.objects.create(user=user, language=language)
        record_changes(
            ctx,
            "person_added",
            [
                Change("username", None, username),
                Change("full_name", None, full_name),
                Change("email", None, email),
                Change("language", None, language),
            ],
            object_type="auth.User",
            object_id=user.pk,
            study=study,
            site=site,
        )
        membership = grant_membership(ctx, user=user, study=study, site=site, role=role)
    sent = send_set_password_link(ctx, user, study=study, site=site, base_url=base_url)
    return AddedPerson(user, membership, sent)


def send_set_password_link(ctx: ChangeContext, user, *, study, site, base_url: str) -> bool:
    """E-mail `user` a link to set their password (Django's default_token_generator: it works
    once, until the password changes, for PASSWORD_RESET_TIMEOUT). Audited when sent; False
    (logged) when the mail server refused or was away."""
    from edc.accounts.invitations import send_invitation

    _require_admin(ctx, study, site)
    if user.has_usable_password():
        raise DomainError(
            "password_already_set", "user", _("this person has already set a password"), status=409
        )
    try:
        send_invitation(user, study=study, site=site, inviter=ctx.actor, base_url=base_url)
    except (OSError, smtplib.SMTPException):
        log.exception("set-password e-mail to %s not sent", user.email)
        return False
    with transaction.atomic(durable=True):
        record(
            ctx,
            "set_password_link_sent",
            object_type="auth.User",
            object_id=user.pk,
            item="email",
            new=user.email,
            study=study,
            site=site,
        )
    return True


@transaction.atomic(durable=True)
def set_password_from_link(user, password: str) -> None:
    """The person sets their own password from the e-mailed link (the link's token was checked
    by Django's PasswordResetConfirmView). Audited as the person's own change."""
    user.set_password(password)
    user.save(update_fields=["password"])
    ctx = ChangeContext(user=user, channel=Channel.WEB)
    record(ctx, "password_set", object_type="auth.User", object_id=user.pk)
    # A token must not outlive the password that issued it (a reset, too, may follow a theft).
    revoke_tokens_of(ctx, user, TokenRevokeReason.PASSWORD_CHANGED)


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
    changes = apply_changes(preference, {"language": language, "time_zone": time_zone})
    if changes:
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
