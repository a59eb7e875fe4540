import datetime as dt
from pathlib import Path

import pytest

from edc.audit.context import ChangeContext
from edc.reminders import selectors, services
from edc.reminders.models import PlannedVisit, ReminderMessage
from edc.schedule.events import Consented, DoseGiven, Randomized, Registered
from tests.factories import SiteFactory, load_study, screen

FIXTURE = Path(__file__).parent / "fixtures" / "t-reirr-schedule.yaml"
D = dt.date
DAY = dt.timedelta(days=1)
SYSTEM = ChangeContext.system()


def load_reirr():
    return load_study(FIXTURE)


@pytest.fixture
def reirr(db):
    return load_reirr()


@pytest.fixture
def site(reirr):
    return SiteFactory(study=reirr, code="01", staff_email="site01@example.org")


def enrol(site, arm, randomized_on, doses=()):
    """A subject consented 60 and registered 50 days before randomization, with PD-1 doses."""
    subject = screen(
        site, consent_date=randomized_on - 60 * DAY, screening_date=randomized_on - 60 * DAY
    )
    record = services.record_event
    record(SYSTEM, subject, Consented(randomized_on - 60 * DAY), today=randomized_on - 60 * DAY)
    record(SYSTEM, subject, Registered(randomized_on - 50 * DAY), today=randomized_on - 50 * DAY)
    record(SYSTEM, subject, Randomized(randomized_on, arm), today=randomized_on)
    for day in doses:
        record(SYSTEM, subject, DoseGiven(day, "PD1"), today=day)
    return subject


def visit(subject, code, sequence):
    return PlannedVisit.objects.get(subject=subject, event_code=code, sequence=sequence)


def status(subject, code, sequence, day):
    """The status the subject's calendar shows for a visit on `day`."""
    rows = selectors.subject_calendar(subject, day).rows
    (row,) = [r for r in rows if (r.visit.event_code, r.visit.sequence) == (code, sequence)]
    return row.code


def targets(subject, code, *, live=True):
    rows = PlannedVisit.objects.filter(subject=subject, event_code=code).order_by("sequence")
    if live:
        rows = rows.filter(cancelled_reason="")
    return [v.target_date for v in rows]


def announced(subject, code=None, sequence=None):
    """[(event_code, sequence, transition, day)] of the subject's reminder rows, in order."""
    rows = ReminderMessage.objects.filter(visit__subject=subject)
    if code:
        rows = rows.filter(visit__event_code=code)
    if sequence:
        rows = rows.filter(visit__sequence=sequence)
    return [
        (m.visit.event_code, m.visit.sequence, m.transition, m.day)
        for m in rows.select_related("visit").order_by("day", "id")
    ]


def scan_days(first, last, *, twice=False):
    day = first
    while day <= last:
        services.scan(day)
        if twice:
            services.scan(day)
        day += DAY
