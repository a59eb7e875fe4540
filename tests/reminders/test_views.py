"""Subject calendar, site to-do list, the casebook block and the subject list's next due visit,
all read through the caller's scope."""

import datetime as dt

import pytest
from django.template import Context, Template
from django.urls import reverse

from edc.audit.models import AuditEvent
from edc.reminders import selectors, services
from edc.reminders.models import PlannedVisit
from edc.schedule.events import Death
from tests.factories import SiteFactory, UserFactory, member
from tests.reminders.conftest import SYSTEM, enrol, status, visit


@pytest.fixture
def today(site):
    return site.today()


@pytest.fixture
def staff(site, client):
    user = UserFactory()
    member(user, site, "site_staff")
    client.force_login(user)
    return user


def current_subject(site, today, days_ago=23):
    """Randomized `days_ago` days ago with its first dose then: dose 2 is due on day 21 + window."""
    start = today - dt.timedelta(days=days_ago)
    return enrol(site, "IMMEDIATE", start, [start])


def test_calendar_shows_every_visit_with_its_status_today(site, staff, client, today):
    subject = current_subject(site, today)
    response = client.get(reverse("reminders-calendar", args=["T-REIRR", subject.subject_id]))
    assert response.status_code == 200
    page = response.content.decode()
    second = visit(subject, "PD1", 2)
    assert second.target_date == today - dt.timedelta(days=2)
    assert 'id="visit-PD1-2"' in page and "cycle 2" in page
    row = page.split('id="visit-PD1-2"', 1)[1].split("</tr>", 1)[0]
    assert "status-due" in row and second.target_date.isoformat() in row
    assert "Correct an anchor date" in page


def test_calendar_of_another_site_is_not_found(site, staff, client, today):
    other = current_subject(SiteFactory(study=site.study, code="02"), today)
    response = client.get(reverse("reminders-calendar", args=["T-REIRR", other.subject_id]))
    assert response.status_code == 404


def test_site_staff_records_a_visit_not_done_with_a_reason(site, staff, client, today):
    subject = current_subject(site, today)
    second = visit(subject, "PD1", 2)
    url = reverse("reminders-visit-not-done", args=["T-REIRR", subject.subject_id, second.pk])
    assert client.post(url, {"reason": ""}).status_code == 302
    second.refresh_from_db()
    assert second.not_done_reason == ""  # refused: a reason is required
    client.post(url, {"reason": "patient admitted elsewhere"})
    second.refresh_from_db()
    assert (second.not_done_reason, status(subject, "PD1", 2, today)) == (
        "patient admitted elsewhere",
        "missed",
    )
    entry = AuditEvent.objects.get(action="visit_not_done", object_id=str(second.pk))
    assert (entry.actor, entry.reason) == (staff, "patient admitted elsewhere")


def test_a_monitor_may_read_the_calendar_but_not_change_it(site, client, today):
    subject = current_subject(site, today)
    monitor = UserFactory()
    member(monitor, site.study, "monitor")
    client.force_login(monitor)
    page = client.get(
        reverse("reminders-calendar", args=["T-REIRR", subject.subject_id])
    ).content.decode()
    assert "Correct an anchor date" not in page
    second = visit(subject, "PD1", 2)
    url = reverse("reminders-visit-not-done", args=["T-REIRR", subject.subject_id, second.pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    second.refresh_from_db()
    assert second.not_done_reason == ""


def test_anchor_correction_from_the_calendar_page(site, staff, client, today):
    subject = current_subject(site, today)
    imaging = visit(subject, "IMAGING", 1)
    new_date = subject.schedule_events.get(kind="Randomized").on + dt.timedelta(days=2)
    url = reverse("reminders-correct-anchor", args=["T-REIRR", subject.subject_id])
    client.post(
        url,
        {"anchor": "randomization", "new_date": new_date.isoformat(), "reason": "typo in the date"},
    )
    imaging.refresh_from_db()
    assert imaging.target_date == new_date + dt.timedelta(days=84)
    assert AuditEvent.objects.filter(
        subject=subject, action="schedule_target_moved", actor=staff
    ).exists()


def test_site_todo_lists_due_and_overdue_visits_of_the_site_only(site, staff, client, today):
    due = current_subject(site, today, days_ago=23)  # dose 2 target 2 days ago: due
    overdue = current_subject(site, today, days_ago=27)  # window closed 3 days ago: overdue
    dead = current_subject(site, today, days_ago=27)
    services.record_event(SYSTEM, dead, Death(today), today=today)
    elsewhere = current_subject(SiteFactory(study=site.study, code="02"), today, days_ago=27)

    response = client.get(reverse("reminders-todo", args=["T-REIRR", "01"]))

    assert response.status_code == 200
    now = [
        (i.visit.subject.subject_id, i.visit.event_code, i.status.value)
        for i in response.context["todo"].act_now
    ]
    assert now[0] == (overdue.subject_id, "PD1", "overdue")
    assert (due.subject_id, "PD1", "due") in now
    assert dead.subject_id not in response.content.decode()
    assert elsewhere.subject_id not in response.content.decode()
    assert client.get(reverse("reminders-todo", args=["T-REIRR", "02"])).status_code == 404


def test_next_due_for_a_subject_list_in_one_query(site, today, django_assert_num_queries):
    subjects = [current_subject(site, today, days_ago=d) for d in (23, 5, 40)]
    dead = current_subject(site, today)
    services.record_event(SYSTEM, dead, Death(today), today=today)
    dead.refresh_from_db()
    with django_assert_num_queries(1):
        due = selectors.next_due([*subjects, dead], today)
    expected = {}
    for subject in subjects:
        first_open = (
            PlannedVisit.objects.filter(
                subject=subject,
                performed_on__isnull=True,
                cancelled_reason="",
                not_done_reason="",
                missed_after__gte=today,
            )
            .order_by("target_date", "event_code", "sequence")
            .first()
        )
        expected[subject.pk] = (first_open.name, first_open.target_date)
    assert {pk: (d.name, d.target) for pk, d in due.items()} == expected
    assert "(due)" in str(due[subjects[0].pk])


def test_casebook_block_renders_the_calendar(site, today):
    subject = current_subject(site, today)
    html = Template("{% load reminders %}{% subject_calendar subject %}").render(
        Context({"subject": subject})
    )
    assert 'id="schedule-table"' in html and "PD-1 maintenance dose" in html
    assert reverse("reminders-calendar", args=["T-REIRR", subject.subject_id]) in html
