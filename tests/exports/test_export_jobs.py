"""Running exports: who may, which sites they get, the API and pages, the audit trail of
exports, and the command line. The task body (services.run_job) runs in-process here; the
worker test runs it through a real Celery worker."""

from __future__ import annotations

import io
import json
import zipfile

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from lxml import etree
from rest_framework.test import APIClient

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent, Channel
from edc.datamanagement import services as dm_services
from edc.exports import services
from edc.exports.models import ExportJob
from tests.exports.conftest import lock_study, use_export_folder
from tests.factories import UserFactory, api_token, member

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    return use_export_folder(settings, tmp_path / "exports")


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


def start(client, formats=("all",), **extra):
    return client.post(
        "/api/v1/studies/T-EXP/exports/", {"formats": list(formats), **extra}, format="json"
    )


def archive_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_data_manager_starts_follows_and_downloads_an_export(filled):
    client = api_for(filled.users["dm"])
    started = start(client, ["csv", "odm"])
    assert started.status_code == 202, started.content
    body = started.json()
    assert (body["status"], body["formats"], body["sites"]) == ("queued", ["csv", "odm"], "all")
    assert body["snapshot_id"] == "UNLOCKED" and body["locked"] is False
    url = f"/api/v1/studies/T-EXP/exports/{body['id']}/"
    not_ready = client.get(url + "download/")
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "not_ready"

    services.run_job(body["id"])

    done = client.get(url).json()
    assert done["status"] == "done" and done["progress"] == 100
    # an unlocked export describes the data as read when it ran, not when it was asked for
    assert done["data_cut"] > body["data_cut"]
    paths = {f["path"] for f in done["files"]}
    assert {"csv/forms/demographics.csv", "odm/T-EXP.xml", "UNLOCKED.txt"} <= paths
    download = client.get(done["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "UNLOCKED" in download["Content-Disposition"]
    archive = archive_of(download)
    folder = archive.namelist()[0].split("/")[0]
    manifest = json.loads(archive.read(f"{folder}/manifest.json"))
    assert manifest["files"] == done["files"]
    demographics = archive.read(f"{folder}/csv/forms/demographics.csv").decode()
    assert filled.s1.subject_id in demographics and filled.s2.subject_id in demographics
    listed = client.get("/api/v1/studies/T-EXP/exports/").json()
    assert [j["id"] for j in listed] == [body["id"]]


def test_every_export_and_download_is_audited(filled):
    client = api_for(filled.users["stat"])
    job_id = start(client, ["parquet"]).json()["id"]
    started = AuditEvent.objects.get(action="export", object_id=str(job_id))
    assert started.actor == filled.users["stat"] and started.channel == Channel.API
    assert started.new_value["formats"] == ["parquet"] and started.new_value["sites"] == "all"
    services.run_job(job_id)
    client.get(f"/api/v1/studies/T-EXP/exports/{job_id}/download/")
    downloaded = AuditEvent.objects.get(action="export_download", object_id=str(job_id))
    assert downloaded.actor == filled.users["stat"] and downloaded.study == filled.study


@pytest.mark.parametrize("role", ["monitor", "staff_a", "admin"])
def test_only_data_managers_and_statisticians_may_export(filled, role):
    client = api_for(filled.users[role])
    assert start(client).status_code == 403
    assert client.get("/api/v1/studies/T-EXP/exports/").status_code == 403
    assert not ExportJob.objects.exists()


def test_outsiders_do_not_see_the_study(filled):
    client = api_for(UserFactory(username="outsider"))
    assert start(client).status_code == 404


def test_a_site_limited_data_manager_gets_a_site_scoped_export(filled, tmp_path):
    client = api_for(filled.users["dm_a"])
    refused = start(client, sites=["02"])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_site"
    body = start(client, ["csv", "parquet", "odm"]).json()
    assert body["sites"] == ["01"]
    job = services.run_job(body["id"])
    root = services.job_folder(job)
    s1, s2 = filled.s1.subject_id, filled.s2.subject_id
    for path in (root / "csv").rglob("*.csv"):
        assert s2 not in path.read_text(), path
    subjects = pq.read_table(root / "parquet" / "subjects.parquet").to_pylist()
    assert [r["SUBJID"] for r in subjects] == [s1]
    queries = pq.read_table(root / "parquet" / "queries.parquet").to_pylist()
    assert [r["QUERYID"] for r in queries] == [q.pk for q in filled.queries[:2]]
    allocations = pq.read_table(root / "parquet" / "randomization.parquet").to_pylist()
    assert [r["SUBJID"] for r in allocations] == [s1]
    audit = pq.read_table(root / "parquet" / "audit_trail.parquet").to_pylist()
    site_b_events = AuditEvent.objects.filter(site=filled.site_b).values_list("pk", flat=True)
    assert audit and not {r["AUDITID"] for r in audit} & set(site_b_events)
    assert {r["SITEID"] for r in audit} == {"01"}
    odm = etree.parse(str(root / "odm" / "T-EXP.xml"))
    assert odm.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS) == [s1]
    assert odm.getroot().get("Granularity") == "SingleSite"
    assert set(odm.xpath("//odm:Location/@OID", namespaces=NS)) == {"LOC.STUDY", "LOC.01"}
    # The study-wide data manager sees the export; another site-limited one would not.
    assert (
        api_for(filled.users["dm"]).get(f"/api/v1/studies/T-EXP/exports/{job.pk}/").status_code
        == 200
    )
    other = UserFactory(username="dm_b")
    member(other, filled.site_b, "data_manager")
    assert api_for(other).get(f"/api/v1/studies/T-EXP/exports/{job.pk}/").status_code == 404


def test_locking_every_exported_site_makes_a_locked_site_export(filled):
    site_lock = dm_services.lock(
        ChangeContext(user=filled.users["dm"], channel=Channel.WEB),
        "site",
        filled.site_a,
        "site 01 done",
    )
    scoped = start(api_for(filled.users["dm_a"]), ["csv"]).json()
    assert scoped["locked"] is True and scoped["snapshot_id"] == f"SITELOCK-{site_lock.pk}"
    whole = start(api_for(filled.users["dm"]), ["csv"]).json()
    assert whole["locked"] is False and whole["snapshot_id"] == "UNLOCKED"
    job = services.run_job(scoped["id"])
    assert job.manifest["status"] == "locked"
    assert not (services.job_folder(job) / "UNLOCKED.txt").exists()
    assert job.archive_name.endswith(f"SITELOCK-{site_lock.pk}.zip")


def test_a_lock_released_before_the_run_fails_the_job(filled):
    lock = lock_study(filled)
    body = start(api_for(filled.users["dm"]), ["csv"]).json()
    assert body["locked"] is True and body["snapshot_id"] == str(lock.snapshot_id)
    dm_services.unlock(ChangeContext(user=filled.users["dm"], channel=Channel.WEB), lock, "fix")
    with pytest.raises(Exception, match="released"):
        services.run_job(body["id"])
    job = ExportJob.objects.get(pk=body["id"])
    assert job.status == "failed" and "released" in job.error


def test_bad_formats_are_refused(filled):
    client = api_for(filled.users["dm"])
    assert start(client, ["sav"]).status_code == 400
    assert start(client, []).status_code == 400


def test_the_openapi_schema_documents_the_export_api(filled):
    schema = Client().get("/api/schema/?format=json")
    paths = json.loads(schema.content)["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/studies/{study_code}/exports/"])
    assert "get" in paths["/api/v1/studies/{study_code}/exports/{id}/download/"]
    assert "get" in paths["/api/v1/studies/{study_code}/exports/{id}/"]


def test_pages_start_show_progress_and_download(filled):
    client = Client()
    client.force_login(filled.users["dm"])
    page = client.get("/studies/T-EXP/exports/")
    assert page.status_code == 200 and "UNLOCKED" in page.content.decode()
    response = client.post(
        "/studies/T-EXP/exports/", {"formats": ["csv", "xpt"], "sites": ["01", "02"]}
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/studies/T-EXP/exports/{job.pk}/"
    assert job.formats == ["csv", "xpt"] and job.all_sites is True
    detail = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in detail and "export-bar" in detail
    assert client.get(f"{response.url}progress/").json() == {
        "status": "queued",
        "progress": 0,
        "note": "",
        "finished": False,
    }
    services.run_job(job.pk)
    detail = client.get(response.url).content.decode()
    assert "Download" in detail and "xpt/demograp.xpt" in detail
    download = client.get(f"{response.url}download/")
    assert download.status_code == 200
    assert any(n.endswith("xpt/demograp.xpt") for n in archive_of(download).namelist())
    monitor = Client()
    monitor.force_login(filled.users["monitor"])
    assert monitor.get("/studies/T-EXP/exports/").status_code == 403
    assert monitor.get(f"{response.url}download/").status_code == 403


def test_command_writes_every_format_into_the_folder(filled, tmp_path):
    out = tmp_path / "cli"
    stdout = io.StringIO()
    call_command("export_study", "T-EXP", "--format", "all", "--out", str(out), stdout=stdout)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["formats"] == ["csv", "xpt", "parquet", "odm"]
    assert {e["format"] for e in manifest["files"]} == {"csv", "xpt", "parquet", "odm", "txt"}
    assert "T-EXP UNLOCKED snapshot UNLOCKED" in stdout.getvalue()
    assert AuditEvent.objects.filter(action="export", object_type="exports.command").count() == 1
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_study", "T-EXP", "--format", "csv", "--out", str(out))
    with pytest.raises(CommandError, match="no study"):
        call_command("export_study", "NOPE", "--format", "csv", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="data managers and statisticians"):
        call_command(
            "export_study",
            "T-EXP",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "y"),
            "--user",
            "monitor",
        )


def test_command_as_a_site_limited_user_exports_their_sites(filled, tmp_path):
    out = tmp_path / "cli"
    call_command(
        "export_study",
        "T-EXP",
        "--format",
        "csv",
        "--out",
        str(out),
        "--user",
        "dm_a",
        stdout=io.StringIO(),
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scope"] == {"all_sites": False, "sites": ["01"]}
    assert filled.s2.subject_id not in (out / "csv" / "subjects.csv").read_text()
