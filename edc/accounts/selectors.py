"""Reads about people: as readers (their language and time zone), and as the people of a study
its admins manage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from edc.accounts.models import ApiToken, Membership, Preference
from edc.accounts.roles import LIVE_STATUSES, MembershipStatus, Permission
from edc.localtime import zone_or_none
from edc.studies.models import Site, Study

User = get_user_model()


@dataclass(frozen=True)
class ReaderSettings:
    language: str  # "" when the person has not chosen: the browser decides
    time_zone: str  # always an IANA name
    site_zone: str  # the zone the person's sites give them, "" when they span zones
    may_choose_zone: bool


def reader_settings(user) -> ReaderSettings:
    """A person's language and time zone. Site-bound people read in their site's zone; people
    whose roles span sites (study-wide roles, or sites in several zones) read in the zone they
    chose, else their study sites' common zone, else the server's (UTC)."""
    memberships = Membership.objects.filter(user=user, is_active=True)
    spans_sites = memberships.filter(site__isnull=True).exists()
    own_sites = Site.objects.filter(
        Q(pk__in=memberships.filter(site__isnull=False).values("site"))
        | Q(study__in=memberships.filter(site__isnull=True).values("study"))
    )
    zones = sorted(set(own_sites.values_list("timezone", flat=True)))
    site_zone = zones[0] if len(zones) == 1 and zone_or_none(zones[0]) else ""
    may_choose = spans_sites or len(zones) > 1
    preference = Preference.objects.filter(user=user).first()
    language = preference.language if preference else ""
    chosen = preference.time_zone if preference and may_choose else ""
    zone = chosen if zone_or_none(chosen) else site_zone or settings.TIME_ZONE
    return ReaderSettings(language, zone, site_zone, may_choose)


@dataclass(frozen=True)
class Readers:
    """Recipients who read in the same language and time zone."""

    language: str
    time_zone: str
    addresses: tuple[str, ...]


def readers_of(addresses: Iterable[str], site: Site | None) -> list[Readers]:
    """`addresses` grouped by how each recipient reads. A person (an active user with that
    address) reads in their saved language, else the site's, and in their zone; a shared
    address (the site's staff mailbox) reads in the site's language and zone."""
    wanted = sorted(set(addresses))
    default_language = site.language if site is not None else settings.LANGUAGE_CODE
    default_zone = site.timezone if site is not None else settings.TIME_ZONE
    people = {}
    for user in User.objects.filter(email__in=wanted, is_active=True).order_by("pk"):
        people.setdefault(user.email, user)
    groups: dict[tuple[str, str], list[str]] = {}
    for address in wanted:
        user = people.get(address)
        if user is None:
            key = (default_language, default_zone)
        else:
            found = reader_settings(user)
            key = (found.language or default_language, found.time_zone)
        groups.setdefault(key, []).append(address)
    return [Readers(lang, zone, tuple(group)) for (lang, zone), group in sorted(groups.items())]


def tokens_of(owner) -> list[ApiToken]:
    """`owner`'s API tokens, newest first, live and past (never the key: only its digest is
    stored). Each carries `status`: live, expired or revoked."""
    now = timezone.now()
    tokens = list(ApiToken.objects.filter(owner=owner).select_related("revoked_by"))
    for token in tokens:
        token.status = (
            "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "live"
        )
    return tokens


# ---- people of a study, for its admins ------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A user and their memberships in one study that the reader manages (any status)."""

    user: object
    memberships: tuple[Membership, ...]

    @property
    def live(self) -> tuple[Membership, ...]:
        return tuple(m for m in self.memberships if m.status in LIVE_STATUSES)


def administered_study(user, code: str) -> Study:
    """The study `code` when `user` administers any of it (or is a superuser), else 404."""
    from edc.accounts.scoping import scope_of

    study = get_object_or_404(Study, code=code)
    if not (user.is_superuser or scope_of(user).can_anywhere(Permission.ADMINISTER, study.pk)):
        raise Http404("not found")
    return study


def managed_memberships(user, study: Study) -> QuerySet[Membership]:
    """Memberships of `study` that `user` manages: all of them for a study-wide admin (or a
    superuser), those at their own sites for a site admin."""
    from edc.accounts.scoping import scope_of

    memberships = Membership.objects.filter(study=study)
    if user.is_superuser:
        return memberships
    scope = scope_of(user)
    if scope.can(Permission.ADMINISTER, study.pk):
        return memberships
    return memberships.filter(site__in=scope.sites(Permission.ADMINISTER).filter(study=study))


def _people(memberships: QuerySet[Membership]) -> list[Person]:
    rows = memberships.select_related("user", "site", "granted_by", "approved_by", "ended_by")
    grouped: dict[int, list[Membership]] = {}
    users = {}
    for m in rows.order_by("user__username", "-is_active", "site__code", "role", "pk"):
        grouped.setdefault(m.user_id, []).append(m)
        users[m.user_id] = m.user
    return [Person(users[pk], tuple(ms)) for pk, ms in grouped.items()]


def people_of(user, study: Study) -> list[Person]:
    """Everyone with a membership (pending, active, ended or refused) that `user` manages."""
    return _people(managed_memberships(user, study))


def person_in(user, study: Study, person_id: int) -> Person:
    """One person of `study` as `user` manages them; 404 for anyone else."""
    found = _people(managed_memberships(user, study).filter(user_id=person_id))
    if not found:
        raise Http404("not found")
    return found[0]


def pending_grants(user) -> list[Membership]:
    """Grants waiting for approval that `user` could see as an admin (superusers: all)."""
    from edc.accounts.scoping import scope_of

    pending = Membership.objects.filter(status=MembershipStatus.PENDING.value)
    if not user.is_superuser:
        pending = pending.filter(scope_of(user).site_filter(permission=Permission.ADMINISTER))
    return list(
        pending.select_related("user", "study", "site", "granted_by").order_by("created_at", "pk")
    )
