"""Sending reminders and digests: recipients, content naming subjects by study ID only, the
send-time check of the subject, SMTP failures leaving messages pending."""

import socket

import pytest
from django.core import mail
from django.test import override_settings

from edc.audit.models import AuditEvent
from edc.reminders import services
from edc.reminders.models import Delivery, DigestMessage, ReminderMessage
from edc.subjects import services as subject_services
from tests.factories import SiteFactory, UserFactory, member
from tests.reminders.conftest import SYSTEM, D, enrol, scan_days, visit

W1_DOSES = [D(2026, 3, 23), D(2026, 4, 13), D(2026, 5, 4)]
UPCOMING_DAY = D(2026, 5, 19)


def ready(site, count=1):
    """Subjects whose cycle 4 turns upcoming on UPCOMING_DAY; earlier messages already sent."""
    subjects = [enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES) for _ in range(count)]
    services.scan(UPCOMING_DAY - D.resolution)
    services.deliver_reminders()
    mail.outbox.clear()
    return subjects


def make_dead(subject, day):
    for target, on in (
        ("registered", D(2026, 2, 1)),
        ("induction", D(2026, 2, 8)),
        ("randomized", W1_DOSES[0]),
    ):
        subject_services.transition(SYSTEM, subject, target, on_date=on)
    subject_services.transition(
        SYSTEM, subject, "off_study", on_date=day, off_study_reason="death", death_date=day
    )


def test_one_email_per_transition_to_the_site_staff_naming_the_study_id_only(site):
    staff, investigator, monitor, other_site = (UserFactory() for _ in range(4))
    member(staff, site, "site_staff")
    member(investigator, site, "investigator")
    member(monitor, site.study, "monitor")
    member(other_site, SiteFactory(study=site.study, code="02"), "site_staff")
    (subject,) = ready(site)
    services.scan(UPCOMING_DAY)

    delivered = services.deliver_reminders()

    assert (delivered.sent, delivered.withheld) == (1, 0)
    (email,) = mail.outbox
    assert sorted(email.to) == sorted([site.staff_email, staff.email, investigator.email])
    assert email.subject == (
        f"[T-REIRR] {subject.subject_id}: PD-1 maintenance dose (PD1 cycle 4) window opens soon (target 2026-05-25)"
    )
    assert f"Subject: {subject.subject_id}" in email.body
    assert "Window: 2026-05-22 to 2026-05-28" in email.body
    # Nothing else identifies the patient: the only identifier in the message is the study ID.
    facts = services.visit_facts(visit(subject, "PD1", 4))
    assert set(vars(facts)) == {
        "study_code", "site_code", "subject_id", "visit_name", "event_code", "sequence", "cycle",
        "target", "window_start", "window_end", "missed_after",
    }  # fmt: skip
    message = ReminderMessage.objects.get(visit__subject=subject, transition="upcoming")
    assert (message.state, sorted(message.recipients)) == (Delivery.SENT, sorted(email.to))
    assert AuditEvent.objects.filter(action="reminder_sent", object_id=str(message.pk)).count() == 1
    # Sending again sends nothing.
    assert services.deliver_reminders().sent == 0 and len(mail.outbox) == 1


def test_subject_who_died_after_the_scan_gets_no_email(site):
    (subject,) = ready(site)
    services.scan(UPCOMING_DAY)
    assert (
        ReminderMessage.objects.filter(visit__subject=subject, state=Delivery.PENDING).count() == 1
    )
    make_dead(subject, UPCOMING_DAY)

    delivered = services.deliver_reminders()

    assert (delivered.sent, delivered.withheld) == (0, 1)
    assert mail.outbox == []
    message = ReminderMessage.objects.get(visit__subject=subject, transition="upcoming")
    assert (message.state, message.sent_at) == (Delivery.SUPPRESSED, None)
    assert message.note == "the subject is dead or off study"
    assert AuditEvent.objects.filter(action="reminder_withheld", object_id=str(message.pk)).exists()


def test_a_message_overtaken_by_a_later_transition_is_not_sent(site):
    (subject,) = ready(site)
    services.scan(UPCOMING_DAY)
    services.scan(D(2026, 5, 22))  # window_open before the upcoming message went out
    delivered = services.deliver_reminders()
    assert (delivered.sent, delivered.withheld) == (1, 1)
    (email,) = mail.outbox
    assert "window is open" in email.subject


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_smtp_failure_leaves_the_message_pending_for_the_retry(site):
    (subject,) = ready(site)
    services.scan(UPCOMING_DAY)
    unreachable = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": free_port(),
        "EMAIL_TIMEOUT": 2,
    }
    with override_settings(**unreachable), pytest.raises(OSError):
        services.deliver_reminders()
    message = ReminderMessage.objects.get(visit__subject=subject, transition="upcoming")
    assert message.state == Delivery.PENDING
    assert services.deliver_reminders().sent == 1
    assert len(mail.outbox) == 1


def test_daily_digest_lists_the_site_overdue_visits_once(site):
    alive, dead = ready(site, 2)
    other = enrol(
        SiteFactory(study=site.study, code="02", staff_email="s2@example.org"),
        "IMMEDIATE",
        W1_DOSES[0],
        W1_DOSES,
    )
    day = D(2026, 5, 30)
    scan_days(UPCOMING_DAY, day)
    make_dead(dead, D(2026, 5, 29))

    first = services.queue_digests(day)
    again = services.queue_digests(day)
    assert len(first) == 2 and again == []  # sites 01 and 02, once each
    services.deliver_digests()

    assert DigestMessage.objects.filter(day=day, state=Delivery.SENT).count() == 2
    (site_email,) = [m for m in mail.outbox if m.to == [site.staff_email]]
    assert site_email.subject == f"[T-REIRR] Site 01: 1 overdue visit on {day}"
    assert alive.subject_id in site_email.body and dead.subject_id not in site_email.body
    assert other.subject_id not in site_email.body
    assert (
        "PD1 cycle 4), target 2026-05-25, window closed 2026-05-28 (2 day(s) ago)"
        in site_email.body
    )
    assert services.deliver_digests().sent == 0
