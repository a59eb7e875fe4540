"""Celery tasks of data management: the e-mails that tell sites of new queries. Acknowledged
late and retried with backoff; a re-run is harmless (each notice row exists once and is sent
under its row lock)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from edc.datamanagement import services
from edc.mail import MAIL_TASK_OPTIONS


@shared_task(name="edc.datamanagement.send_query_notices", **MAIL_TASK_OPTIONS)
def send_query_notices(self) -> dict:
    """Send the pending per-query e-mails (beat runs this every few seconds)."""
    sent, withheld = services.deliver_query_notices()
    return {"sent": sent, "withheld": withheld}


@shared_task(name="edc.datamanagement.send_query_digests", **MAIL_TASK_OPTIONS)
def send_query_digests(self, day: str | None = None) -> dict:
    """Queue the daily digests of `day` (ISO; yesterday, UTC, by default), then send."""
    covered = dt.date.fromisoformat(day) if day else timezone.now().date() - dt.timedelta(days=1)
    queued = services.queue_query_digests(covered)
    sent, withheld = services.deliver_query_notices()
    return {"queued": len(queued), "sent": sent, "withheld": withheld}
