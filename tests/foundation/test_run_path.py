"""Smoke test of the run path: embedded SQLite and filesystem broker, real gunicorn, worker
and beat, every seed study loaded, demo users, and a demo subject opened over HTTP."""

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from edc.demo.services import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "EDC_TEST_"))
    }
    env.update(
        EDC_VAR_DIR=str(var_dir),
        EDC_DEMO="1",
        EDC_HEARTBEAT_SECONDS="1",
        DJANGO_SETTINGS_MODULE="edc.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def open_url(opener, url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with opener.open(url, data=body, timeout=10) as response:
        return response.status, response.geturl(), response.read().decode()


def test_run_path_boots_embedded_with_real_worker_and_opens_a_demo_subject(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    loaded = manage(env, "load_study", "--all")
    assert {"T-REIRR", "T-LRRT", "T-REFR", "T-RTV"} <= set(
        re.findall(r"^(T-[A-Z]+):", loaded, re.M)
    )
    manage(env, "seed_demo")
    port = free_port()
    log = (tmp_path / "runall.log").open("w")
    stack = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runall",
            "--bind",
            f"127.0.0.1:{port}",
            "--web-workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        deadline = time.time() + 60
        while True:
            try:
                status, _, page = open_url(opener, f"{base}/accounts/login/")
                break
            except OSError:
                assert time.time() < deadline, (tmp_path / "runall.log").read_text()
                time.sleep(0.1)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, url, _ = open_url(
            opener,
            f"{base}/accounts/login/",
            {
                "username": "coordinator",
                "password": DEMO_PASSWORD,
                "csrfmiddlewaretoken": csrf,
                "next": "/",
            },
        )
        assert url.rstrip("/") == base, "sign-in did not redirect home"
        _, _, listing = open_url(opener, f"{base}/studies/T-REIRR/sites/01/")
        subject_id = re.search(r"(T-REIRR-01-\d{4})", listing).group(1)
        status, _, subject_page = open_url(opener, f"{base}/studies/T-REIRR/subjects/{subject_id}/")
        assert status == 200 and subject_id in subject_page
        # Beat schedules the heartbeat and the worker runs it: the row proves both are alive.
        db = tmp_path / "edc.sqlite3"
        deadline = time.time() + 90
        while True:
            with sqlite3.connect(db, timeout=10) as conn:
                beats = conn.execute(
                    "SELECT count(*) FROM web_heartbeat WHERE name = 'worker'"
                ).fetchone()[0]
            if beats:
                break
            assert time.time() < deadline, (tmp_path / "runall.log").read_text()
            time.sleep(0.2)
        assert stack.poll() is None, "a process of the stack died"
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        stack.wait(timeout=30)
        log.close()
