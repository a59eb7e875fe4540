"""How a timestamp is shown to a person: in the reader's time zone, with the zone named.

One format everywhere (pages, e-mails, messages): ``2026-03-02 01:30 CST``. The active zone is
the reader's (edc.accounts.middleware for pages, ``timezone.override`` for e-mails). Date-only
clinical values (a visit date, a birth date) are ``datetime.date`` and never go through here,
so they never shift.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

STAMP_FORMAT = "%Y-%m-%d %H:%M"


def stamp(moment: dt.datetime | str | None, zone: dt.tzinfo | None = None) -> str:
    """`moment` in `zone` (default: the active zone) as "YYYY-MM-DD HH:MM ZONE". An ISO text
    with an offset (as stored in JSON snapshots) is read first."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    local = timezone.localtime(moment, zone)
    return f"{local.strftime(STAMP_FORMAT)} {local.tzname()}"


def zone_or_none(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone called `name`, or None when the name is empty or unknown."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
