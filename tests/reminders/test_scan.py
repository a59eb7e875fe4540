"""The reminder scan: constant query count, idempotent re-runs, concurrent runs, the unique
(visit, transition) backstop, per-site calendar days and who is never announced."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from edc.audit.models import AuditEvent
from edc.reminders import bulk_sql, services
from edc.reminders.models import ReminderMessage, ScanProgress
from edc.schedule.events import DoseHeld, DoseResumed
from edc.subjects.models import Subject
from tests.factories import SiteFactory
from tests.reminders.conftest import SYSTEM, D, announced, enrol, scan_days, status, visit

W1_DOSES = [D(2026, 3, 23), D(2026, 4, 13), D(2026, 5, 4)]
UPCOMING_DAY = D(2026, 5, 19)  # cycle 4 (target 05-25) turns upcoming


def cohort(site, size, *, zone=None):
    subjects = [enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES) for _ in range(size)]
    services.scan(UPCOMING_DAY - dt.timedelta(days=1), timezone_name=zone or site.timezone)
    return subjects


def queries_of_scan(day, zone):
    with CaptureQueriesContext(connection) as captured:
        result = services.scan(day, timezone_name=zone)
    return len(captured), result


def test_scan_query_count_does_not_grow_with_subjects(reirr):
    small_site = SiteFactory(study=reirr, code="01", timezone="Asia/Shanghai")
    large_site = SiteFactory(study=reirr, code="02", timezone="Asia/Hong_Kong")
    cohort(small_site, 1)
    cohort(large_site, 12)
    few, small = queries_of_scan(UPCOMING_DAY, "Asia/Shanghai")
    many, large = queries_of_scan(UPCOMING_DAY, "Asia/Hong_Kong")
    assert (small.messages, large.messages) == (1, 12)
    assert few == many <= 8


def test_rerun_on_the_same_day_announces_and_audits_nothing_new(site):
    subjects = cohort(site, 3)
    first = services.scan(UPCOMING_DAY)
    audit_rows = AuditEvent.objects.count()
    again = services.scan(UPCOMING_DAY)
    assert first.messages == 3 and first.transitions >= 3
    assert (again.evaluated, again.transitions, again.messages) == (0, 0, 0)
    assert AuditEvent.objects.count() == audit_rows
    for subject in subjects:
        assert announced(subject, "PD1", 4) == [("PD1", 4, "upcoming", UPCOMING_DAY)]


def test_a_transition_seen_again_still_gets_no_second_message(site):
    """If the scan's progress is ever lost (a restored backup, a manual fix), the scan sees the
    transition again, but the (visit, transition) constraint refuses a second message."""
    (subject,) = cohort(site, 1)
    services.scan(UPCOMING_DAY)
    cycle4 = visit(subject, "PD1", 4)
    ScanProgress.objects.update(last_day=UPCOMING_DAY - dt.timedelta(days=1))
    again = services.scan(UPCOMING_DAY)
    assert (again.transitions, again.messages) == (1, 0)
    assert ReminderMessage.objects.filter(visit=cycle4).count() == 1
    assert (
        bulk_sql.insert_messages(
            [(cycle4.pk, "upcoming", site.pk)], UPCOMING_DAY, cycle4.created_at
        )
        == []
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_announce_each_transition_once(reirr):
    site = SiteFactory(study=reirr, code="01", staff_email="site01@example.org")
    subjects = cohort(site, 6)
    earlier = set(ReminderMessage.objects.values_list("id", flat=True))
    results, errors = [], []
    barrier = threading.Barrier(4)

    def run():
        try:
            barrier.wait()
            results.append(services.scan(UPCOMING_DAY))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [pk for result in results for pk in result.message_ids]
    assert len(ids) == len(set(ids)) == 6
    new = ReminderMessage.objects.exclude(id__in=earlier)
    assert set(ids) == set(new.values_list("id", flat=True))
    assert sorted(new.values_list("visit__subject_id", flat=True)) == sorted(s.pk for s in subjects)


def test_each_site_is_scanned_on_its_own_calendar_day(reirr):
    shanghai = SiteFactory(study=reirr, code="01", timezone="Asia/Shanghai")
    london = SiteFactory(study=reirr, code="02", timezone="Europe/London")
    east = enrol(shanghai, "IMMEDIATE", W1_DOSES[0], W1_DOSES)
    west = enrol(london, "IMMEDIATE", W1_DOSES[0], W1_DOSES)
    services.scan(D(2026, 5, 18))
    # 17:00 UTC on 05-18 is 01:00 on 05-19 in Shanghai and 18:00 on 05-18 in London.
    services.scan_sites_today(dt.datetime(2026, 5, 18, 17, 0, tzinfo=dt.UTC))
    assert announced(east, "PD1", 4) == [("PD1", 4, "upcoming", UPCOMING_DAY)]
    assert announced(west, "PD1", 4) == []
    services.scan_sites_today(dt.datetime(2026, 5, 19, 0, 30, tzinfo=dt.UTC))
    assert (
        announced(east, "PD1", 4)
        == announced(west, "PD1", 4)
        == [("PD1", 4, "upcoming", UPCOMING_DAY)]
    )


def test_no_dosing_reminder_after_treatment_consent_is_withdrawn(site):
    (subject,) = cohort(site, 1)
    Subject.objects.filter(pk=subject.pk).update(treatment_consent_withdrawn=True)
    result = services.scan(UPCOMING_DAY)
    assert (result.transitions, result.messages, result.withheld) == (1, 0, 1)
    assert AuditEvent.objects.filter(
        action="visit_status", new_value="upcoming", item="PD1#4 status"
    ).exists()
    scan_days(UPCOMING_DAY, D(2026, 6, 10))
    assert announced(subject, "PD1") == []
    assert announced(subject, "IMAGING")  # imaging continues


def test_held_dose_pauses_reminders_until_resumed(site):
    (subject,) = cohort(site, 1)
    services.record_event(SYSTEM, subject, DoseHeld(D(2026, 5, 20), "PD1"), today=D(2026, 5, 20))
    held = visit(subject, "PD1", 4)
    assert (held.reminders_paused, held.recheck_on) == (True, None)
    scan_days(D(2026, 5, 20), D(2026, 6, 10))
    assert announced(subject, "PD1", 4) == []
    services.record_event(SYSTEM, subject, DoseResumed(D(2026, 6, 10), "PD1"), today=D(2026, 6, 10))
    held.refresh_from_db()
    assert (held.not_done_reason, status(subject, "PD1", 4, D(2026, 6, 10))) == (
        "dose held for toxicity",
        "missed",
    )
    resumed = visit(subject, "PD1", 5)
    assert (resumed.target_date, resumed.cycle, resumed.reminders_paused) == (
        D(2026, 6, 10),
        4,
        False,
    )
    services.scan(D(2026, 6, 10))
    assert announced(subject, "PD1") == [("PD1", 5, "due", D(2026, 6, 10))]
