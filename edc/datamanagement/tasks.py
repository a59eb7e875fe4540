"""Celery tasks of data management: the e-mails that tell sites of new queries. Acknowledged
late and retried with backoff; a re-run is harmless (each notice row exists once and is sent
under its row lock)."""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from edc.datamanagement import services

_RETRY = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError, OSError, smtplib.SMTPException),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(name="edc.datamanagement.send_query_notices", **_RETRY)
def send_query_notices(self) -> dict:
    """Send the pending per-query e-mails (beat runs this every few seconds)."""
    sent, withheld = services.deliver_query_notices()
    return {"sent": sent, "withheld": withheld}


@shared_task(name="edc.datamanagement.send_query_digests", **_RETRY)
def send_query_digests(self, day: str | None = None) -> dict:
    """Queue the daily digests of `day` (ISO; yesterday, UTC, by default), then send."""
    covered = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    queued = services.queue_query_digests(covered)
    sent, withheld = services.deliver_query_notices()
    return {"queued": len(queued), "sent": sent, "withheld": withheld}
