"""The Debian install path, run here on loopback: deploy/install-debian.sh installs two
gunicorn instances, two Celery workers and beat as systemd units and an nginx site with HTTPS;
the units' commands then run against this test database and Redis, connected as the
application role, with nginx (Debian's package, a configuration of its own) in front.

Two of everything: randomizations spread over both web instances leave no duplicate and no
gap; a reminder scan started twice at once, on the two workers, e-mails each transition once
(a real SMTP server); an export written through one web instance downloads through the other.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from edc.audit.context import ChangeContext
from edc.reminders import services as reminders
from edc.reminders.models import Delivery, ReminderMessage
from randomization.models import Allocation
from randomization.services import go_live
from tests.deploy.conftest import database_url
from tests.deploy.processes import (
    Running,
    free_port,
    read_environment_file,
    start_nginx,
    start_unit,
    tls_context,
    wait_for_log,
    wait_for_port,
)
from tests.factories import SiteFactory, UserFactory, api_token, load_study, member
from tests.randomization.helpers import registered_subject
from tests.reminders.conftest import D, enrol, load_reirr
from tests.smtp import smtp_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RANDOMIZATIONS = 16
W1_DOSES = [D(2026, 3, 23), D(2026, 4, 13), D(2026, 5, 4)]
UPCOMING_DAY = D(2026, 5, 19)


def install(tmp: Path, web_ports: list[int], http_port: int, https_port: int) -> dict:
    s = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDC_", "DATABASE_"))}
    env.update(
        EDC_PREFIX=str(tmp / "opt"),
        EDC_ETC=str(tmp / "etc"),
        EDC_DATA=str(tmp / "data"),
        EDC_USER=subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip(),
        EDC_SERVER_NAME="localhost",
        EDC_LISTEN="127.0.0.1",
        EDC_HTTP_PORT=str(http_port),
        EDC_HTTPS_PORT=str(https_port),
        EDC_WEB_PORTS=" ".join(map(str, web_ports)),
        EDC_WEB_WORKERS="2",
        EDC_WORKERS="2",
        EDC_WORKER_CONCURRENCY="1",
        EDC_DB_NAME=s["NAME"],
        EDC_DB_HOST=s["HOST"] or "127.0.0.1",
        EDC_DB_PORT=str(s["PORT"] or 5432),
        DATABASE_ADMIN_URL=database_url().rsplit("/", 1)[0] + "/postgres",
        EDC_BROKER_URL=settings.CELERY_BROKER_URL,
        EDC_SYSTEMD_DIR=str(tmp / "systemd"),
        EDC_NGINX_SITE=str(tmp / "nginx-sites" / "edc.conf"),
        EDC_VENV=sys.prefix,
        EDC_SKIP_APT="1",  # make test installs nginx; the script's apt step is for real servers
        EDC_START="none",
    )
    done = subprocess.run(
        ["bash", str(ROOT / "deploy" / "install-debian.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return env


def https(
    port: int, cafile: Path, method: str, path: str, token: str = "", body=None, headers=None
):
    """One request through nginx over HTTPS, the certificate checked against the installed one."""
    conn = http.client.HTTPSConnection("localhost", port, context=tls_context(cafile), timeout=120)
    try:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Token {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def direct(port: int, method: str, path: str, token: str, body=None):
    """One request to one gunicorn instance, bypassing nginx."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        # As nginx says it (deploy/nginx/edc.conf): the instance serves HTTPS-only (EDC_HTTPS=1)
        # and would redirect a request that did not come through the TLS proxy.
        headers = {
            "Authorization": f"Token {token}",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
        }
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def scans_done(log: str) -> int:
    return sum("succeeded in" in line for line in log.splitlines() if "edc.reminders.scan[" in line)


def together(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def test_two_web_instances_and_two_workers_behind_nginx_as_the_application_role(
    app_role_url, tmp_path
):
    # --- data, set up through the services before the journey
    study = load_study()
    site = SiteFactory(study=study, code="01")
    coordinator = UserFactory(username="coord")
    member(coordinator, site, "site_staff")
    data_manager = UserFactory(username="dm")
    member(data_manager, study, "data_manager")
    go_live(ChangeContext.system(), study, min_slots_per_stratum=RANDOMIZATIONS + 8)
    subjects = [registered_subject(site, "CR") for _ in range(RANDOMIZATIONS)]
    coordinator_token = api_token(coordinator)
    dm_token = api_token(data_manager)

    reirr = load_reirr()
    reirr_site = SiteFactory(study=reirr, code="01", staff_email="site01@example.org")
    alive = [enrol(reirr_site, "IMMEDIATE", W1_DOSES[0], W1_DOSES) for _ in range(3)]
    reminders.scan(UPCOMING_DAY - D.resolution)  # everything before the scan day is announced
    reminders.deliver_reminders()

    # --- install, then start what systemd would start
    web_ports = [free_port(), free_port()]
    http_port, https_port = free_port(), free_port()
    env = install(tmp_path, web_ports, http_port, https_port)
    units = Path(env["EDC_SYSTEMD_DIR"])
    env_file = Path(env["EDC_ETC"]) / "edc.env"
    cafile = Path(env["EDC_ETC"]) / "tls" / "edc.crt"
    settings_file = read_environment_file(env_file)
    assert settings_file["DATABASE_URL"].startswith("postgres://edc_app:")
    assert settings_file["DATABASE_MIGRATE_URL"].startswith("postgres://edc_owner:")
    assert (
        f"edc-web@{web_ports[0]}.service edc-web@{web_ports[1]}.service"
        in (units / "edc.target").read_text()
    )

    with smtp_server() as inbox:
        # What an operator adds to /etc/edc/edc.env for e-mail.
        with env_file.open("a") as handle:
            handle.write(f"EMAIL_HOST=127.0.0.1\nEMAIL_PORT={inbox.port}\n")
        broker = Celery("deploy-test", broker=settings.CELERY_BROKER_URL)
        broker.control.purge()
        logs = tmp_path / "logs"
        logs.mkdir()
        running = Running()
        try:
            webs = [
                running.add(start_unit(units / "edc-web@.service", logs, str(p))) for p in web_ports
            ]
            workers = [
                running.add(start_unit(units / "edc-worker@.service", logs, str(n))) for n in (1, 2)
            ]
            beat = running.add(start_unit(units / "edc-beat.service", logs))
            nginx = running.add(start_nginx(Path(env["EDC_NGINX_SITE"]), tmp_path / "nginx"))
            for web, port in zip(webs, web_ports, strict=True):
                wait_for_port(port, web)
            wait_for_port(https_port, nginx)
            for worker in workers:
                wait_for_log(worker, "ready.")
            wait_for_log(beat, "beat: Starting")

            # HTTP sends to HTTPS; the sign-in page answers through nginx over TLS.
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
            conn.request("GET", "/accounts/login/", headers={"Host": "localhost"})
            redirect = conn.getresponse()
            assert redirect.status == 301
            assert (
                redirect.getheader("Location") == f"https://localhost:{https_port}/accounts/login/"
            )
            conn.close()
            status, headers, page = https(https_port, cafile, "GET", "/accounts/login/")
            assert status == 200 and b"password" in page.lower()
            assert "max-age=31536000" in dict(headers)["Strict-Transport-Security"]
            assert "Secure" in dict(headers).get("Set-Cookie", "Secure")
            # No software banner with a version, and gunicorn's never passes the proxy.
            assert dict(headers)["Server"] == "nginx"
            assert redirect.getheader("Server") == "nginx"

            # Randomizations spread over both instances: no duplicate, no gap.
            def randomize(subject):
                return lambda: https(
                    https_port,
                    cafile,
                    "POST",
                    f"/api/v1/studies/T-MINI/subjects/{subject.subject_id}/randomization/",
                    coordinator_token,
                    {"strata": {"response": "CR"}},
                    {"Idempotency-Key": f"two-{subject.subject_id}"},
                )

            answers = together([randomize(s) for s in subjects])
            assert [a[0] for a in answers] == [201] * RANDOMIZATIONS, [a[2][:300] for a in answers]
            sequences = sorted(
                Allocation.objects.filter(study=study).values_list("sequence", flat=True)
            )
            assert sequences == list(range(1, RANDOMIZATIONS + 1))
            assert sorted(json.loads(a[2])["sequence"] for a in answers) == sequences
            deadline = time.monotonic() + 10  # the access log line follows the reply
            while (
                sum(served := [w.log().count("/randomization/ HTTP") for w in webs])
                < RANDOMIZATIONS
            ):
                assert time.monotonic() < deadline, served
                time.sleep(0.2)
            assert sum(served) == RANDOMIZATIONS and all(served), served

            # A reminder scan started twice at once on the two workers: one e-mail each.
            for _ in range(2):
                broker.send_task("edc.reminders.scan", kwargs={"day": UPCOMING_DAY.isoformat()})
            deadline = time.monotonic() + 90
            while sum(scans_done(w.log()) for w in workers) < 2:
                assert time.monotonic() < deadline, [w.log()[-2000:] for w in workers]
                time.sleep(0.3)
            time.sleep(1)  # a straggling duplicate would arrive now
            reminder_mail = sorted(
                str(m["Subject"])
                for _, m in inbox.messages
                if str(m["Subject"]).startswith("[T-REIRR]")
            )
            assert reminder_mail == sorted(
                f"[T-REIRR] {s.subject_id}: PD-1 maintenance dose (PD1 cycle 4) window opens soon "
                "(target 2026-05-25)"
                for s in alive
            )
            assert (
                ReminderMessage.objects.filter(day=UPCOMING_DAY, state=Delivery.SENT).count() == 3
            )

            # An export asked for on one instance, written by a worker, downloaded on the other.
            first, second = web_ports
            status, body = direct(
                first, "POST", "/api/v1/studies/T-MINI/exports/", dm_token, {"formats": ["csv"]}
            )
            assert status == 202, body
            job = json.loads(body)
            deadline = time.monotonic() + 120
            while True:
                status, body = direct(
                    first, "GET", f"/api/v1/studies/T-MINI/exports/{job['id']}/", dm_token
                )
                state = json.loads(body)
                if state["status"] in ("done", "failed"):
                    break
                assert time.monotonic() < deadline, [w.log()[-2000:] for w in workers]
                time.sleep(0.5)
            assert state["status"] == "done", state
            status, archive = direct(
                second, "GET", f"/api/v1/studies/T-MINI/exports/{job['id']}/download/", dm_token
            )
            assert status == 200 and archive[:2] == b"PK"
            stored = Path(env["EDC_DATA"]) / "exports" / "T-MINI" / state["archive_name"]
            assert (
                hashlib.sha256(archive).hexdigest()
                == hashlib.sha256(stored.read_bytes()).hexdigest()
            )
            deadline = time.monotonic() + 10  # gunicorn writes the access line after the reply
            while "/download/ HTTP" not in webs[1].log():
                assert time.monotonic() < deadline, webs[1].log()[-2000:]
                time.sleep(0.2)
            assert "/download/ HTTP" not in webs[0].log()

            # Connected as the application role: no superuser warning anywhere.
            for process in running.processes:
                assert "edc.W001" not in process.log(), process.log()[-2000:]
        finally:
            running.stop()
            broker.close()
