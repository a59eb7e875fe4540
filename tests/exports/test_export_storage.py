"""Finished archives go through Django's storage API (STORAGES["exports"]), so a shared folder
or an object store can hold them: here a storage with no local path at all."""

from __future__ import annotations

import io
import zipfile

import pytest
from rest_framework.test import APIClient

from edc.exports import services
from edc.exports.models import ExportJob
from tests.factories import api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory_storage(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "work"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    return services.export_storage()


def test_an_archive_is_stored_and_served_by_the_exports_storage(filled, memory_storage, settings):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(filled.users['dm'])}")
    body = client.post("/api/v1/studies/T-EXP/exports/", {"formats": ["csv"]}, format="json").json()
    job = services.run_job(body["id"])

    name = f"T-EXP/{job.archive_name}"
    assert memory_storage.exists(name) and memory_storage.size(name) == job.archive_bytes
    # The worker's build folder keeps no archive: the storage is the only copy.
    assert not list(settings.EXPORT_ROOT.rglob("*.zip*"))
    download = client.get(f"/api/v1/studies/T-EXP/exports/{job.pk}/download/")
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    with memory_storage.open(name, "rb") as stored:
        assert content == stored.read()
    assert any(
        n.endswith("csv/forms/demographics.csv")
        for n in zipfile.ZipFile(io.BytesIO(content)).namelist()
    )

    # A re-run (a worker lost after storing) replaces the archive under the same name.
    ExportJob.objects.filter(pk=job.pk).update(status="queued")
    again = services.run_job(job.pk)
    assert again.archive_name == job.archive_name
    assert memory_storage.listdir("T-EXP")[1] == [job.archive_name]
