"""End to end: an allocation over HTTP (gunicorn) is followed up by a real Celery worker, whose
beat finds it pending: the site's staff get the e-mail over SMTP, and the arm's calendar starts.
Web server and worker share a broker folder of their own (kombu's filesystem transport), so no
other test's queued message reaches this worker."""

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
from django.conf import settings

from edc.audit.context import ChangeContext
from edc.reminders.models import ScheduleEvent
from edc.subjects.models import Subject
from randomization.http_load import ROOT, JsonClient, start_gunicorn
from randomization.models import Allocation
from randomization.services import go_live
from tests.factories import api_token
from tests.randomization.helpers import registered_subject
from tests.randomization.test_concurrency import database_url
from tests.smtp import smtp_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(condition, what, log, seconds=60):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"no {what}:\n{log()[-3000:]}"
        time.sleep(0.3)


def test_a_worker_mails_site_staff_and_starts_the_calendar_after_an_http_allocation(
    study, site_a, coordinator_a, tmp_path
):
    go_live(ChangeContext.system(), study)
    subject = registered_subject(site_a, "CR")
    token = api_token(coordinator_a)
    smtp = ExitStack()
    inbox = smtp.enter_context(smtp_server())
    shared = {
        "EDC_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": "filesystem://",
        "EDC_FOLLOW_UP_SECONDS": "1",
    }
    worker_env = {k: v for k, v in os.environ.items() if not k.startswith(("EDC_TEST_", "EMAIL_"))}
    worker_env.update(
        shared,
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="edc.settings",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(inbox.port),
        PYTHONUNBUFFERED="1",
    )
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "edc", "worker", "--beat", "--pool", "solo",
             "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = start_gunicorn(database_url(), tmp_path / "gunicorn.log", workers=1, extra_env=shared)
    try:
        client = JsonClient(server.host, server.port, token)
        status, body = client.request(
            "POST", f"/api/v1/studies/T-MINI/subjects/{subject.subject_id}/randomization/"
        )
        client.close()
        assert status == 201, (body, server.log()[-3000:])
        wait_for(lambda: inbox.messages, "e-mail", worker_log.read_text)
        wait_for(
            lambda: ScheduleEvent.objects.filter(subject=subject, source="randomization").exists(),
            "calendar event",
            worker_log.read_text,
        )
    finally:
        server.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        smtp.close()

    allocation = Allocation.objects.get(subject=subject)
    ((to, message),) = inbox.messages
    assert to == [site_a.staff_email]
    assert subject.subject_id in str(message["Subject"]) and allocation.arm in str(
        message["Subject"]
    )
    assert f"Randomization number: {allocation.sequence}" in message.get_content()
    event = ScheduleEvent.objects.get(subject=subject, source="randomization")
    randomized_on = Subject.objects.get(pk=subject.pk).randomization_date
    assert (event.on, event.payload) == (randomized_on, {"arm": allocation.arm})
    assert re.search(
        r"randomization\.follow_up_allocations\[.*\] succeeded .*'done': 1, 'failed': 0",
        worker_log.read_text(),
    )
