"""The scan task on a real Celery worker (Redis broker) sending through Django's SMTP backend to
a real SMTP server on loopback: the task enqueued twice, at once, sends each message once."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from edc.reminders import services
from edc.reminders.models import Delivery, ReminderMessage
from edc.schedule.events import Death
from edc.subjects.models import Subject
from tests.factories import SiteFactory, UserFactory, member
from tests.reminders.conftest import SYSTEM, D, enrol
from tests.smtp import smtp_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
W1_DOSES = [D(2026, 3, 23), D(2026, 4, 13), D(2026, 5, 4)]
UPCOMING_DAY = D(2026, 5, 19)


def broker_url():
    url = settings.CELERY_BROKER_URL
    return url if url.startswith("redis://") else "redis://127.0.0.1:6379/6"


def worker_database_url():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_scan_task_run_twice_on_a_real_worker_emails_each_transition_once(reirr, tmp_path):
    site = SiteFactory(study=reirr, code="01", staff_email="site01@example.org")
    nurse = UserFactory(email="nurse@example.org")
    member(nurse, site, "site_staff")
    alive = [enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES) for _ in range(3)]
    dead_by_event = enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES)
    dead_on_record = enrol(site, "IMMEDIATE", W1_DOSES[0], W1_DOSES)
    # Set-up: everything before the scan day is announced by this process first, so only the
    # scan day's transitions are left for the worker.
    services.scan(UPCOMING_DAY - D.resolution)
    services.deliver_reminders()
    services.record_event(
        SYSTEM, dead_by_event, Death(UPCOMING_DAY - D.resolution), today=UPCOMING_DAY
    )
    Subject.objects.filter(pk=dead_on_record.pk).update(death_date=UPCOMING_DAY - D.resolution)

    smtp = ExitStack()
    inbox = smtp.enter_context(smtp_server())
    queue = f"reminders-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDC_TEST_", "EMAIL_"))}
    env.update(
        DATABASE_URL=worker_database_url(),
        CELERY_BROKER_URL=broker_url(),
        DJANGO_SETTINGS_MODULE=os.environ["DJANGO_SETTINGS_MODULE"],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(inbox.port),
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "edc", "worker", "-Q", queue, "-c", "2",
         "-n", f"{queue}@localhost", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    client = Celery("reminders-test", broker=broker_url())
    try:
        for _ in range(2):  # what beat does on two runs (here they even overlap)
            client.send_task(
                "edc.reminders.scan", kwargs={"day": UPCOMING_DAY.isoformat()}, queue=queue
            )
        deadline = time.time() + 90
        while log_path.read_text().count("succeeded in") < 2:
            assert worker.poll() is None, log_path.read_text()
            assert "raised unexpected" not in log_path.read_text(), log_path.read_text()
            assert time.time() < deadline, log_path.read_text()
            time.sleep(0.5)
        time.sleep(1)  # any straggling duplicate would arrive now
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
        smtp.close()
        client.close()

    subjects = [str(message["Subject"]) for _, message in inbox.messages]
    expected = sorted(
        f"[T-REIRR] {s.subject_id}: PD-1 maintenance dose (PD1 cycle 4) window opens soon (target 2026-05-25)"
        for s in alive
    )
    assert sorted(subjects) == expected
    assert all(to == ["nurse@example.org", "site01@example.org"] for to, _ in inbox.messages)
    for dead in (dead_by_event, dead_on_record):
        assert not any(dead.subject_id in line for line in subjects)
    sent = ReminderMessage.objects.filter(day=UPCOMING_DAY, state=Delivery.SENT)
    assert sorted(sent.values_list("visit__subject_id", flat=True)) == sorted(s.pk for s in alive)
