"""A whole export against PostgreSQL: every format reads back equal to the source data, the
ODM file validates, locked exports are byte-identical, and unlocked ones say so."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.utils import timezone
from lxml import etree

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.datamanagement.models import QueryMessage
from edc.exports import services
from edc.exports.tables import FIXED_DATASETS
from tests.exports.conftest import lock_study, schema_path

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
INT_COLUMNS = {
    "VISITREP", "FORMREP", "IGRPROW", "PROTVER", "QUERYID", "SEQ", "AUDITID",
    "RANDSEQ", "ORDER", "LENGTH", "COLORDER",
}  # fmt: skip


def read_rows(root, fmt: str, table: str, reader: str = "pandas") -> list[tuple]:
    """Rows of one exported table as plain tuples (ints as int, text as str)."""
    if fmt == "csv":
        with open(root / "csv" / f"{table}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header = rows[0]
        return [
            tuple(int(v) if h in INT_COLUMNS else v for h, v in zip(header, row, strict=True))
            for row in rows[1:]
        ]
    if fmt == "parquet":
        return [
            tuple(r.values())
            for r in pq.read_table(root / "parquet" / f"{table}.parquet").to_pylist()
        ]
    dataset = FIXED_DATASETS.get(table) or table.removeprefix("forms/").upper()[:8]
    path = root / "xpt" / f"{dataset.lower()}.xpt"
    if reader == "pandas":
        frame = pd.read_sas(path, format="xport", encoding="utf-8")
    else:
        frame, _ = pyreadstat.read_xport(str(path), encoding="utf-8")
    for column in frame.columns:
        if column in INT_COLUMNS:
            # pandas reads SAS's true zero as 5.4e-79: round, as for any integer column.
            frame[column] = frame[column].round().astype(int)
    return [
        tuple(v.item() if hasattr(v, "item") else v for v in row)
        for row in frame.itertuples(index=False)
    ]


def audit_until(f, lock):
    """The study's audit rows up to and including the lock's own rows (same transaction)."""
    own = AuditEvent.objects.filter(
        object_type="datamanagement.Lock", object_id=str(lock.pk), action="lock"
    )
    last = max(own.values_list("at", flat=True))
    return AuditEvent.objects.filter(study=f.study, at__lte=last)


def expected_demographics(f):
    # Value rows end with the unit of VALUE and the value and unit as entered.
    s1, s2, study = f.s1.subject_id, f.s2.subject_id, f.study.code
    k1 = (study, "01", s1, "SCREEN", 1, 1, "", 0)
    k2 = (study, "02", s2, "SCREEN", 1, 1, "", 0)
    return [
        k1 + ("BRTHDAT", "1970-01-02", "", "", "", ""),
        k1 + ("SEX", "F", "Female", "", "", ""),
        k1 + ("WEIGHT", "61.5", "", "kg", "61.5", "kg"),
        k1 + ("HOMETOWN", '广州, "Canton"', "", "", "", ""),
        k1 + ("RACE", "ASIAN|OTHER", "Asian|Other", "", "", ""),
        k1 + ("SMOKER", "false", "No", "", "", ""),
        k1 + ("DIAGDAT", "2025-03", "", "", "", ""),
        k2 + ("BRTHDAT", "1980-05-06", "", "", "", ""),
        k2 + ("SEX", "M", "Male", "", "", ""),
        k2 + ("WEIGHT", "80", "", "kg", "80", "kg"),
        k2 + ("SMOKER", "true", "Yes", "", "", ""),
    ]


def expected_tumour(f):
    base = (f.study.code, "01", f.s1.subject_id, "CYCLE")
    return [
        base + (1, 1, "", 0, "TUDAT", "2026-02-01", "", "", "", ""),
        base + (1, 1, "lesions", 1, "LESID", "T1", "", "", "", ""),
        base + (1, 1, "lesions", 1, "LOC", "NP", "Nasopharynx", "", "", ""),
        base + (1, 1, "lesions", 1, "LDIAM", "23.0", "", "mm", "23.0", "mm"),
        base + (1, 1, "lesions", 2, "LESID", "T2", "", "", "", ""),
        base + (1, 1, "lesions", 2, "LOC", "NECK", "Neck node", "", "", ""),
        base + (1, 1, "lesions", 2, "LDIAM", "15.5", "", "mm", "15.5", "mm"),
        base + (2, 1, "", 0, "TUDAT", "2026-02-22", "", "", "", ""),
        base + (2, 1, "", 0, "TUNOTE", "line one\nline two", "", "", "", ""),
        base + (2, 1, "lesions", 1, "LESID", "T1", "", "", "", ""),
        base + (2, 1, "lesions", 1, "LOC", "NP", "Nasopharynx", "", "", ""),
        base + (2, 1, "lesions", 1, "LDIAM", "20.0", "", "mm", "20.0", "mm"),
    ]


def expected_ae(f):
    base = (f.study.code, "01", f.s1.subject_id, "CYCLE", 1)
    return [
        base + (1, "", 0, "AETERM", "Nausea", "", "", "", ""),
        base + (1, "", 0, "AETOXGR", "2", "Moderate", "", "", ""),
        base + (1, "", 0, "AESER", "N", "No", "", "", ""),
        base + (1, "", 0, "AESTDAT", "2026-02", "", "", "", ""),
        base + (2, "", 0, "AETERM", "Fatigue", "", "", "", ""),
        base + (2, "", 0, "AETOXGR", "1", "Mild", "", "", ""),
    ]


def export(f, tmp_path, name="out", formats=("all",)):
    out = tmp_path / name
    manifest = services.export_for_command(
        f.study, list(formats), out, ctx=ChangeContext.system(reason="test")
    )
    return out, manifest


@pytest.fixture
def locked(filled):
    return lock_study(filled)


@pytest.mark.parametrize(
    ("fmt", "reader"), [("csv", ""), ("parquet", ""), ("xpt", "pandas"), ("xpt", "pyreadstat")]
)
def test_form_tables_read_back_equal_to_the_source(filled, locked, tmp_path, fmt, reader):
    root, _ = export(filled, tmp_path)
    assert read_rows(root, fmt, "forms/demographics", reader) == expected_demographics(filled)
    assert read_rows(root, fmt, "forms/tumour", reader) == expected_tumour(filled)
    assert read_rows(root, fmt, "forms/ae", reader) == expected_ae(filled)
    randomization = read_rows(root, fmt, "randomization", reader)
    assert [(r[2], r[4], r[-1]) for r in randomization] == [
        (filled.s1.subject_id, filled.allocations[0].arm, "CR"),
        (filled.s2.subject_id, filled.allocations[1].arm, "PR"),
    ]
    assert [r[9] for r in randomization] == [a.stratum.key for a in filled.allocations]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xpt"])
def test_listing_tables_hold_instances_subjects_queries_and_audit(filled, locked, tmp_path, fmt):
    root, _ = export(filled, tmp_path)
    instances = read_rows(root, fmt, "form_instances")
    source = [
        k for k, form in filled.forms.items() if form.status != "removed"
    ]  # (subject, event, erep, form, frep)
    assert sorted((r[2], r[3], r[4], r[5], r[6]) for r in instances) == sorted(source)
    not_done = next(r for r in instances if r[7] == "not_done")
    assert not_done[3:6] == ("CYCLE", 3, "tumour") and not_done[9] == ""
    demographics = next(r for r in instances if r[5] == "demographics" and r[1] == "01")
    completed = filled.forms[(filled.s1.subject_id, "SCREEN", 1, "demographics", 1)].completed_at
    assert demographics[9] == completed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

    subjects = read_rows(root, fmt, "subjects")
    assert [(r[1], r[2], r[3]) for r in subjects] == [
        ("01", filled.s1.subject_id, filled.s1.status),
        ("02", filled.s2.subject_id, filled.s2.status),
    ]

    queries = read_rows(root, fmt, "queries")
    q1, q2, q3 = filled.queries
    assert [(r[3], r[8], r[9], r[11], r[15]) for r in queries] == [
        (q1.pk, "WEIGHT", 0, "closed", "Please confirm 61.5 kg"),
        (q2.pk, "LDIAM", 2, "cancelled", "Diameter of T2?"),
        (q3.pk, "SEX", 0, "cancelled", "Sex as on ID?"),
    ]
    messages = read_rows(root, fmt, "query_messages")
    assert [(r[1], r[2], r[3]) for r in messages] == [
        (m.query_id, n, m.action)
        for q in filled.queries
        for n, m in enumerate(QueryMessage.objects.filter(query=q).order_by("created_at", "id"), 1)
    ]

    audit = read_rows(root, fmt, "audit_trail")
    ids = list(audit_until(filled, locked).order_by("id").values_list("id", flat=True))
    assert [r[1] for r in audit] == ids
    lock_row = next(r for r in audit if r[5] == "lock" and r[10] == "snapshot_id")
    assert json.loads(lock_row[12]) == str(locked.snapshot_id)
    assert lock_row[3] == "dm" and lock_row[13] == "database lock for analysis"


def test_codebook_codelists_and_datasets_describe_the_export(filled, locked, tmp_path):
    root, _ = export(filled, tmp_path, formats=["csv"])
    codebook = read_rows(root, "csv", "codebook")
    assert (codebook[2][0], codebook[2][1], codebook[2][7]) == (
        "DEMOGRAP",
        "demographics",
        "Weight",
    )
    assert {r[5] for r in codebook if r[1] == "tumour"} == {
        "TUDAT",
        "TUNOTE",
        "LESID",
        "LOC",
        "LDIAM",
    }
    codelists = read_rows(root, "csv", "codelists")
    assert ("LOC", 3, "LIVER", "Liver") in codelists
    datasets = read_rows(root, "csv", "datasets")
    tables = {r[0] for r in datasets}
    assert {"forms/demographics", "forms/randomization", "randomization", "audit_trail"} <= tables
    assert ("RESPONSE", "Stratum: Response to induction") in {(r[3], r[5]) for r in datasets}


def test_odm_validates_and_holds_the_clinical_data(filled, locked, tmp_path):
    root, manifest = export(filled, tmp_path, formats=["odm"])
    path = root / "odm" / "T-EXP.xml"
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    odm = document.getroot()
    assert odm.get("CreationDateTime") == locked.locked_at.astimezone(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    ).replace(".000000Z", "Z")
    assert str(locked.snapshot_id) in odm.get("FileOID")
    keys = document.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS)
    assert keys == [filled.s1.subject_id, filled.s2.subject_id]
    values = document.xpath("//odm:ItemData", namespaces=NS)
    expected = len(expected_demographics(filled)) + len(expected_tumour(filled))
    expected += len(expected_ae(filled)) + 2  # the two randomization forms
    assert len(values) == expected
    assert next(e for e in manifest["files"] if e["format"] == "odm")["rows"] == expected
    audit = document.xpath("//odm:AuditRecord", namespaces=NS)
    assert len(audit) == audit_until(filled, locked).count()
    removed = document.xpath("//odm:ItemData[@Value='entered in error']", namespaces=NS)
    assert removed == []


def test_manifest_lists_every_file_with_rows_and_sha256(filled, locked, tmp_path):
    root, manifest = export(filled, tmp_path)
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert sorted(e["path"] for e in manifest["files"]) == [
        p for p in on_disk if p != "manifest.json"
    ]
    for entry in manifest["files"]:
        data = (root / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    by_path = {e["path"]: e for e in manifest["files"]}
    assert by_path["csv/forms/demographics.csv"]["rows"] == 11
    assert by_path["parquet/forms/tumour.parquet"]["rows"] == 12
    assert by_path["xpt/ae.xpt"]["rows"] == 6
    assert manifest["status"] == "locked"
    assert manifest["snapshot_id"] == str(locked.snapshot_id)
    assert manifest["lock_snapshot_sha256"] == locked.snapshot_sha256
    assert manifest["lock_snapshot_verified"] is True
    assert json.loads((root / "manifest.json").read_text()) == manifest
    # forms with no data get no XPT member (pandas cannot read an empty one); the manifest says so
    assert "xpt/querymsg.xpt" in by_path and "query_messages" not in manifest.get(
        "xpt_not_written_empty_tables", []
    )


def test_locked_exports_are_byte_identical_apart_from_the_manifest(filled, locked, tmp_path):
    first, m1 = export(filled, tmp_path, "first")
    # Activity after the lock (this export's own audit row, a sign-in...) must not leak in.
    AuditEvent.objects.create(
        at=timezone.now(),
        channel="web",
        action="login",
        object_type="auth.User",
        study=filled.study,
    )
    second, m2 = export(filled, tmp_path, "second")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        if relative.name == "manifest.json":
            continue
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    assert {k: v for k, v in m1.items() if k != "created_at"} == {
        k: v for k, v in m2.items() if k != "created_at"
    }
    _, meta = pyreadstat.read_xport(str(first / "xpt" / "demograp.xpt"))
    assert meta.creation_time == locked.locked_at.astimezone(dt.UTC).replace(
        tzinfo=None, microsecond=0
    )


def test_an_unlocked_export_is_clearly_marked(filled, tmp_path):
    root, manifest = export(filled, tmp_path, formats=["csv", "odm"])
    assert manifest["status"] == "UNLOCKED" and manifest["snapshot_id"] == "UNLOCKED"
    assert "UNLOCKED DATA" in (root / "UNLOCKED.txt").read_text()
    assert "UNLOCKED.txt" in {e["path"] for e in manifest["files"]}
    odm = etree.parse(str(root / "odm" / "T-EXP.xml")).getroot()
    assert "UNLOCKED" in odm.get("Description") and "UNLOCKED" in odm.get("FileOID")
    assert "lock_snapshot_verified" not in manifest
