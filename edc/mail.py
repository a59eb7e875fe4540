"""Sending one e-mail to people who read different languages in different time zones.

The message is rendered once per group of recipients (edc.accounts.selectors.readers_of), with
the group's language and zone active, so words and every timestamp (edc.localtime.stamp) are the
reader's. Date-only values (visit dates) print the same in every zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.core.mail import EmailMessage
from django.utils import timezone, translation

from edc.accounts.selectors import Readers


def send_to_readers(
    readers: list[Readers], render: Callable[[], tuple[str, str]], *, connection=None
) -> list[str]:
    """Render (subject, body) for each group and send it; return every address written to."""
    sent: list[str] = []
    for group in readers:
        with (
            translation.override(group.language),
            timezone.override(zoneinfo.ZoneInfo(group.time_zone)),
        ):
            title, body = render()
        EmailMessage(title, body, None, list(group.addresses), connection=connection).send()
        sent += group.addresses
    return sent
