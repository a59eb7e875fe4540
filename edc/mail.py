"""Sending one e-mail to people who read different languages in different time zones.

The message is rendered once per group of recipients (edc.accounts.selectors.readers_of), with
the group's language and zone active, so words and every timestamp (edc.localtime.stamp) are the
reader's. Date-only values (visit dates) print the same in every zone.
"""

from __future__ import annotations

import smtplib
import zoneinfo
from collections.abc import Callable

from django.core.mail import EmailMessage
from django.db import DatabaseError
from django.utils import timezone, translation

from edc.accounts.selectors import Readers

# Options of the Celery tasks that send e-mail: acknowledged after they ran, and retried with
# backoff when the database or the mail server is away for a while.
MAIL_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError, OSError, smtplib.SMTPException),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 10,
}


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
