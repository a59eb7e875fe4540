"""Export benchmark: `make bench-export` (python -m edc.exports.bench) on PostgreSQL.

A generated study of 2,000 subjects x 40 form instances x 25 items (2,000,000 item values;
10 forms at 4 visits) is exported in each format, each in a fresh process so its peak RSS is
its own. The same run times PostgreSQL COPY of the same long rows (keys, item, raw value,
label; same order) to /dev/null: the database's own limit. A ratio is COPY time divided by the
format's time, so 1.0 means as fast as COPY. Targets: CSV and Parquet at least 0.3; peak
memory at most 500 MB for every format. The last line is
`RESULT csv_ratio=... parquet_ratio=... peak_mb=...`.

The study (BENCH-EXP) is generated once and reused by later runs in the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")

STUDY = "BENCH-EXP"
SUBJECTS = 2000
SITES = 10
FORMS = 10
EVENTS = 4
ITEMS = 25
FORMATS = ("csv", "parquet", "xpt", "odm")
NY = [{"code": "Y", "label": "Yes"}, {"code": "N", "label": "No"}]
GRADES = [{"code": str(g), "label": f"Grade {g}"} for g in range(1, 6)]


def _item(form: int, index: int) -> dict:
    code = f"F{form:02d}I{index:02d}"
    kind = index % 5
    if kind == 0:
        return {"code": code, "label": f"Question {index} of form {form}", "type": "choice",
                "codelist": "NY"}  # fmt: skip
    if kind == 1:
        return {"code": code, "label": f"Measurement {index}", "type": "decimal", "unit": "mg/dL"}
    if kind == 2:
        return {"code": code, "label": f"Date {index}", "type": "date"}
    if kind == 3:
        return {"code": code, "label": f"Grade {index}", "type": "choice", "choices": GRADES}
    return {"code": code, "label": f"Comment {index}", "type": "text"}


def definition() -> dict:
    forms = [
        {
            "code": f"form{f:02d}",
            "name": f"Bench form {f}",
            "domain": "XX",
            "items": [_item(f, i) for i in range(1, ITEMS + 1)],
        }
        for f in range(1, FORMS + 1)
    ]
    events = [
        {
            "code": f"V{e}",
            "name": f"Visit {e}",
            "kind": "visit",
            "anchor": "registration",
            "offset_days": 28 * e,
            "window": {"before": 3, "after": 3},
            "forms": [f["code"] for f in forms],
        }
        for e in range(1, EVENTS + 1)
    ]
    return {
        "format": 1,
        "code": STUDY,
        "version": "1",
        "title": "Generated study for the export benchmark",
        "identifiers": {"nct": "NCT99999999"},
        "phase": "3",
        "enrolment_model": "enrol_after_induction",
        "codelists": {"NY": NY},
        "arms": [
            {"code": "A", "name": "Arm A", "ratio": 1},
            {"code": "B", "name": "Arm B", "ratio": 1},
        ],
        "randomization": {"method": "stratified_permuted_block", "block_sizes": [2], "factors": []},
        "schedule": {"events": events},
        "forms": forms,
        "eligibility": [
            {
                "id": "B-IN1",
                "kind": "inclusion",
                "text": "Signed consent",
                "evaluated_at": ["registration"],
                "type": "attestation",
                "attestation": {"form": "form01", "item": "F01I05"},
            }
        ],
    }


def _value(rng: random.Random, item: dict) -> str:
    kind = item["type"]
    if kind == "choice":
        return rng.choice(["Y", "N"]) if item.get("codelist") == "NY" else str(rng.randint(1, 5))
    if kind == "decimal":
        return f"{rng.uniform(0, 500):.1f}"
    if kind == "date":
        return (dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))).isoformat()
    return rng.choice(["normal", "not assessed", "see source document", "improved", "stable"])


def ensure_study():
    """The bench study with its data, generated once (deterministic seed)."""
    from django.db import transaction

    from crf.models import FormInstance
    from edc.audit.context import ChangeContext
    from edc.studies.models import Study
    from edc.studies.services import create_site, load_study_definition
    from edc.subjects.models import Subject

    study = Study.objects.filter(code=STUDY).first()
    expected = SUBJECTS * FORMS * EVENTS
    if study is not None and FormInstance.objects.filter(study=study).count() == expected:
        return study
    if study is not None:
        raise SystemExit(f"{STUDY} exists with partial data; drop the database and run again")
    started = time.perf_counter()
    ctx = ChangeContext.system(reason="export benchmark")
    spec = definition()
    with transaction.atomic():
        study = load_study_definition(ctx, spec, source_name="bench").study
        version = study.current_version
        sites = [
            create_site(ctx, study, code=f"{s:02d}", name=f"Site {s}") for s in range(1, SITES + 1)
        ]
        subjects = Subject.objects.bulk_create(
            Subject(
                study=study,
                site=sites[n % SITES],
                subject_id=f"{STUDY}-{sites[n % SITES].code}-{n:04d}",
                status="registered",
                protocol_version=version,
                screening_date=dt.date(2024, 1, 1),
                registration_date=dt.date(2024, 1, 8),
            )
            for n in range(1, SUBJECTS + 1)
        )
    rng = random.Random(20260516)
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    batch: list = []
    for subject in subjects:
        for event in spec["schedule"]["events"]:
            for form in spec["forms"]:
                data = {item["code"]: _value(rng, item) for item in form["items"]}
                batch.append(
                    FormInstance(
                        subject=subject,
                        study=study,
                        site=subject.site,
                        protocol_version=version,
                        event_code=event["code"],
                        form_code=form["code"],
                        status="complete",
                        data=data,
                        completed_at=now,
                    )
                )
        if len(batch) >= 4000:
            _flush(batch, now)
    _flush(batch, now)
    print(
        f"generated {STUDY}: {expected:,} forms in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return study


def _flush(batch: list, now: dt.datetime) -> None:
    from crf.models import FormInstance
    from edc.audit.models import AuditEvent

    if not batch:
        return
    created = FormInstance.objects.bulk_create(batch, batch_size=2000)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=now,
                channel="import",
                action="create",
                study_id=form.study_id,
                site_id=form.site_id,
                subject_id=form.subject_id,
                object_type="crf.FormInstance",
                object_id=str(form.pk),
                item=form.form_code,
                new_value={"status": "complete"},
                reason="export benchmark",
            )
            for form in created
        ],
        batch_size=4000,
    )
    batch.clear()


def copy_statements(study) -> list[tuple[str, str]]:
    """(form, COPY statement) giving the rows of each form table: keys, item code, raw value
    and the label of a coded value, forms in the export's order. Empty texts are NULL so the
    CSV bytes match Python's csv module (PostgreSQL writes an empty string as "")."""
    from edc.exports.codebook import build_layout

    layout = build_layout([study.definition])
    events = [(e.code, i) for i, e in enumerate(layout.events)]
    statements = []
    for form in layout.forms:
        labels = [
            (item.code, code, label)
            for item in form.all_items
            for code, label in item.labels.items()
        ]
        statements.append(
            (
                form.code,
                f"""
                COPY (
                    SELECT f.study, f.site, f.subject, f.event_code, f.event_repeat, f.form_repeat,
                           NULL, 0, kv.key, NULLIF(kv.value, ''), l.label
                    FROM (
                        SELECT st.code AS study, si.code AS site, su.subject_id AS subject,
                               fi.event_code, fi.event_repeat, fi.form_repeat, fi.data
                        FROM crf_forminstance fi
                        JOIN studies_study st ON st.id = fi.study_id
                        JOIN studies_site si ON si.id = fi.site_id
                        JOIN subjects_subject su ON su.id = fi.subject_id
                        LEFT JOIN (VALUES {_values(events)}) e(code, ord) ON e.code = fi.event_code
                        WHERE fi.study_id = {study.pk} AND fi.form_code = '{form.code}'
                          AND fi.status <> 'removed'
                        ORDER BY si.code, su.subject_id, e.ord, fi.event_code, fi.event_repeat,
                                 fi.form_repeat
                    ) f
                    CROSS JOIN LATERAL jsonb_each_text(f.data) kv
                    LEFT JOIN (VALUES {_values(labels)}) l(item, code, label)
                      ON l.item = kv.key AND l.code = kv.value
                ) TO STDOUT (FORMAT csv)
                """,
            )
        )
    return statements


def copy_to(study, sink_for) -> tuple[float, int]:
    """Run every COPY into sink_for(form); seconds and rows."""
    from django.db import connection

    rows = 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for form, sql in copy_statements(study):
            sink = sink_for(form)
            with raw.copy(sql) as copy:
                for block in copy:
                    sink.write(block)
            rows += raw.rowcount
    return time.perf_counter() - started, rows


def copy_seconds(study) -> tuple[float, int]:
    with open(os.devnull, "wb") as devnull:
        return copy_to(study, lambda form: devnull)


class _Digest:
    def __init__(self):
        self.sha = hashlib.sha256()

    def write(self, block) -> None:
        self.sha.update(block)


def same_rows(study, csv_root: Path) -> bool:
    """Whether COPY's bytes equal the exported CSV form tables (header line aside)."""
    digests: dict[str, _Digest] = {}

    def sink(form):
        return digests.setdefault(form, _Digest())

    copy_to(study, sink)
    for form, digest in digests.items():
        exported = hashlib.sha256()
        with open(csv_root / "forms" / f"{form}.csv", "rb") as handle:
            handle.readline()
            while chunk := handle.read(1 << 20):
                exported.update(chunk)
        if exported.hexdigest() != digest.sha.hexdigest():
            return False
    return True


def _values(rows: list[tuple]) -> str:
    def literal(value):
        if isinstance(value, int):
            return str(value)
        return "'" + str(value).replace("'", "''") + "'"

    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)


def run_one(fmt: str, out: Path) -> dict:
    """One format, in this process: time and peak RSS (VmHWM) of the whole export."""
    from django.utils import timezone

    from edc.exports import selectors, services
    from edc.studies.models import Study

    study = Study.objects.get(code=STUDY)
    export = selectors.whole_study(study)
    snapshot = selectors.snapshot_for(export, timezone.now())
    started = time.perf_counter()
    with services.consistent_read():
        manifest = services.write_export(export, snapshot, [fmt], out)
    seconds = time.perf_counter() - started
    form_rows = sum(
        e["rows"]
        for e in manifest["files"]
        if e["table"].startswith("forms/") or e["format"] == "odm"
    )
    return {
        "format": fmt,
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "value_rows": form_rows,
        "bytes": sum(e["bytes"] for e in manifest["files"]),
    }


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("the export benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    if args.one:
        print(json.dumps(run_one(args.one, Path(args.out))))
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    study = ensure_study()
    connection.close()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    results = {}
    try:
        for fmt in FORMATS:
            child = subprocess.run(
                [sys.executable, "-m", "edc.exports.bench", "--one", fmt, "--out", str(work / fmt)],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise SystemExit(child.stdout + child.stderr)
            results[fmt] = json.loads(child.stdout.strip().splitlines()[-1])
            if fmt != "csv":
                shutil.rmtree(work / fmt, ignore_errors=True)
        copy_time, copy_rows = copy_seconds(study)
        identical = same_rows(study, work / "csv" / "csv")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{'format':8} {'seconds':>8} {'peak MB':>8} {'value rows':>11} {'MB written':>10} {'ratio':>6}"
    )
    for fmt, r in results.items():
        ratio = copy_time / r["seconds"]
        print(
            f"{fmt:8} {r['seconds']:8.2f} {r['peak_mb']:8.1f} {r['value_rows']:11,} "
            f"{r['bytes'] / 1e6:10.1f} {ratio:6.2f}"
        )
    print(f"{'COPY':8} {copy_time:8.2f} {'':>8} {copy_rows:11,}   (PostgreSQL to /dev/null)")
    print(f"COPY bytes equal to the exported CSV form tables: {'yes' if identical else 'NO'}")
    peak = max(r["peak_mb"] for r in results.values())
    print(
        f"RESULT csv_ratio={copy_time / results['csv']['seconds']:.2f} "
        f"parquet_ratio={copy_time / results['parquet']['seconds']:.2f} peak_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
