"""Reads about a person as a reader: their language and time zone."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from edc.accounts.models import Membership, Preference
from edc.localtime import zone_or_none
from edc.studies.models import Site


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
