"""The demo has a locked site whose finished export the demo data manager can download."""

import datetime as dt
import io
import zipfile

import pytest
from django.test import Client
from lxml import etree

from crf.demo import seed_demo_crf
from edc.datamanagement.demo import seed_demo_datamanagement
from edc.demo.services import seed_demo
from edc.exports.demo import seed_demo_exports
from edc.exports.models import ExportJob
from tests.exports.conftest import schema_path, use_export_folder
from tests.factories import load_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    use_export_folder(settings, tmp_path / "exports")


def test_demo_locks_a_site_and_leaves_a_downloadable_export():
    load_study("t-reirr.yaml")
    demos = seed_demo()
    seed_demo_crf(demos, dt.date.today())
    seed_demo_datamanagement(demos)
    job = seed_demo_exports(demos)
    assert job.status == "done" and job.locked and job.snapshot_id.startswith("SITELOCK-")
    assert job.site_codes == ["02"] and job.manifest["status"] == "locked"
    assert seed_demo_exports(demos).pk == job.pk
    assert ExportJob.objects.count() == 1

    client = Client()
    client.force_login(job.requested_by)
    assert job.requested_by.username == "datamanager"
    page = client.get("/studies/T-REIRR/exports/").content.decode()
    assert f'href="/studies/T-REIRR/exports/{job.pk}/download/"' in page
    download = client.get(f"/studies/T-REIRR/exports/{job.pk}/download/")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    odm_name = next(n for n in archive.namelist() if n.endswith("odm/T-REIRR.xml"))
    document = etree.parse(io.BytesIO(archive.read(odm_name)))
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    assert schema.validate(document), schema.error_log
    keys = document.xpath(
        "//o:SubjectData/@SubjectKey", namespaces={"o": document.getroot().nsmap[None]}
    )
    assert keys and all("-02-" in key for key in keys)
