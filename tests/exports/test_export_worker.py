"""An export requested over the API runs as a Celery task in a real worker process (Redis
broker, the test database), reports progress, and is downloadable when done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from edc.celery import app
from edc.exports.models import ExportJob
from tests.exports.conftest import use_export_folder
from tests.factories import api_token

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def worker_env(var_dir: Path) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_TEST_")}
    env.update(
        DATABASE_URL=url,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        EDC_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="edc.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_export_runs_in_a_celery_worker_and_downloads(filled, tmp_path, settings):
    var_dir = tmp_path / "var"
    use_export_folder(settings, var_dir / "exports")
    app.control.purge()
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "edc",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env(var_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(filled.users['dm'])}")
        started = client.post(
            "/api/v1/studies/T-EXP/exports/", {"formats": ["csv", "parquet"]}, format="json"
        )
        assert started.status_code == 202
        url = f"/api/v1/studies/T-EXP/exports/{started.json()['id']}/"
        deadline = time.time() + 90
        while True:
            state = client.get(url).json()
            if state["status"] in ("done", "failed"):
                break
            assert time.time() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
        assert state["status"] == "done", state["error"] or (tmp_path / "worker.log").read_text()
        assert state["progress"] == 100
        job = ExportJob.objects.get(pk=state["id"])
        assert job.started_at and job.finished_at and job.started_at <= job.finished_at
        download = client.get(state["download_url"])
        assert download.status_code == 200
        assert b"".join(download.streaming_content)[:2] == b"PK"
        assert "edc.exports.run_export" in (tmp_path / "worker.log").read_text()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
