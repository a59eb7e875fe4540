"""Celery tasks of the reminder system. Acknowledged late and retried with backoff: a worker that
dies mid-run leaves the task queued, and a re-run is harmless (statuses already stored are not
re-announced; each (visit, transition) message row exists once)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from edc.mail import MAIL_TASK_OPTIONS
from edc.reminders import services


@shared_task(name="edc.reminders.scan", **MAIL_TASK_OPTIONS)
def scan(self, day: str | None = None) -> dict:
    """Scan every site on its local calendar day (or on `day`, ISO, for all sites), then send."""
    result = services.scan(dt.date.fromisoformat(day)) if day else services.scan_sites_today()
    delivered = services.deliver_reminders()
    return {
        "transitions": result.transitions,
        "messages": result.messages,
        "sent": delivered.sent,
        "withheld": delivered.withheld,
    }


@shared_task(name="edc.reminders.send_digest", **MAIL_TASK_OPTIONS)
def send_digest(self, day: str | None = None) -> dict:
    """Queue today's per-site digests of overdue visits (once per site and day), then send."""
    if day:
        queued = services.queue_digests(dt.date.fromisoformat(day))
    else:
        queued = services.queue_digests_today()
    delivered = services.deliver_digests()
    return {"queued": len(queued), "sent": delivered.sent, "withheld": delivered.withheld}
