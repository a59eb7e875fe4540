"""Work that follows a committed allocation, done by a Celery worker instead of the HTTP request:
the copy into the randomization form's derived items, the arm's visit calendar and the e-mails.

The allocation row is the record; all three are derived from it and read it back by id. The task
is acknowledged late and retried: the form copy and the calendar are idempotent (a re-run finds
nothing to change), so a retry can at worst repeat an e-mail, never lose one.
"""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.db import DatabaseError

from randomization import services


@shared_task(
    name="randomization.after_allocation",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError, OSError, smtplib.SMTPException),
    retry_backoff=10,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=12,
)
def after_allocation(self, allocation_id: int) -> None:
    """Derived items, calendar, then e-mails to site staff (and the study admin at 80/100 %)."""
    services.after_allocation(allocation_id)
