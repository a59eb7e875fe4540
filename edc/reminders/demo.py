"""Demo data for schedules: every demo subject's schedule follows its lifecycle, and one scan of
`today` fills the statuses the calendar and the to-do list show."""

from __future__ import annotations

import datetime as dt
import logging

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.reminders import services

log = logging.getLogger(__name__)


def seed_demo_reminders(demo_studies, today: dt.date | None = None) -> int:
    """Sync the schedule of every demo subject from its lifecycle and forms (call after the CRF
    and randomization demo steps). Returns the subjects synced. Safe to run again."""
    ctx = ChangeContext.system(reason="seed_demo")
    synced = 0
    for demo in demo_studies:
        for subjects in demo.subjects.values():
            for subject in subjects:
                try:
                    if services.sync_subject_from_records(ctx, subject, today=today) is not None:
                        synced += 1
                except DomainError as exc:
                    log.warning("demo subject %s: %s", subject.subject_id, exc.message)
    if today is not None:
        services.scan(today)
    else:
        services.scan_sites_today()
    return synced
