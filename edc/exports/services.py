"""Running exports: asking for one (audited, permission-checked), writing the files of every
format with their manifest, and packing them for download.

`write_export` is the core every entry point shares (the Celery task, the command line and the
benchmark): it streams each table from the database into each format, so memory stays bounded
whatever the study size. On PostgreSQL it reads inside one REPEATABLE READ transaction, so all
formats of one export show the same data even while others keep entering data.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext

from edc.accounts.scoping import Scope
from edc.audit.context import ChangeContext
from edc.audit.services import record
from edc.datamanagement.selectors import dataset_snapshot
from edc.errors import DomainError
from edc.exports import selectors, tables
from edc.exports.codebook import StudyLayout, codebook_rows, codelist_rows, label_rows
from edc.exports.csv_writer import write_csv
from edc.exports.manifest import FileEntry, build_manifest, entry_for, write_manifest
from edc.exports.models import FORMATS, ExportJob, ExportStatus
from edc.exports.odm_writer import OdmHeader, OdmSite, write_odm
from edc.exports.parquet_writer import write_parquet
from edc.exports.selectors import ExportScope, Snapshot
from edc.exports.tables import Table
from edc.exports.xpt_writer import write_xpt
from edc.studies.models import Study

SOFTWARE = "npc-edc 0.1"
TABULAR = ("csv", "parquet", "xpt")
Progress = Callable[[float, str], None]
RowSource = Callable[[], Iterable[tuple]]


def parse_formats(requested: Iterable[str]) -> list[str]:
    """`all`, or any of csv, xpt, parquet, odm (comma separated or repeated); canonical order."""
    wanted: set[str] = set()
    for entry in requested:
        for name in str(entry).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                wanted |= set(FORMATS)
            elif name in FORMATS:
                wanted.add(name)
            else:
                raise DomainError(
                    "unknown_format",
                    "formats",
                    gettext("unknown format %(format)s: use csv, xpt, parquet, odm or all")
                    % {"format": repr(name)},
                )
    if not wanted:
        raise DomainError("no_format", "formats", gettext("choose at least one format"))
    return [f for f in FORMATS if f in wanted]


# ---- the files ----------------------------------------------------------------------------


@dataclass
class _Plan:
    export: ExportScope
    snapshot: Snapshot
    layout: StudyLayout
    tables: list[tuple[Table, RowSource, int]] = field(default_factory=list)


def _plan(export: ExportScope, snapshot: Snapshot) -> _Plan:
    layout = selectors.study_layout(export.study)
    plan = _Plan(export, snapshot, layout)
    counts = selectors.form_counts(export)
    for form in layout.forms:
        table = tables.form_table(form.code, form.dataset, form.name)
        plan.tables.append(
            (
                table,
                lambda form=form: selectors.form_value_rows(export, layout, form),
                counts.get(form.code, 0) * max(1, len(form.all_items)),
            )
        )
    factors = selectors.randomization_factors(export.study, layout)
    randomization = tables.randomization_table([c for c, _ in factors], dict(factors))
    instances = sum(counts.values())
    plan.tables += [
        (tables.FORM_INSTANCES, lambda: selectors.form_instance_rows(export, layout), instances),
        (tables.SUBJECTS, lambda: selectors.subject_rows(export, snapshot), 1),
        (
            randomization,
            lambda: selectors.randomization_rows(export, snapshot, [c for c, _ in factors]),
            1,
        ),
        (tables.QUERIES, lambda: selectors.query_rows(export, snapshot), 1),
        (tables.QUERY_MESSAGES, lambda: selectors.query_message_rows(export, snapshot), 1),
        (tables.AUDIT_TRAIL, lambda: selectors.audit_rows(export, snapshot), 1),
        (tables.CODEBOOK, lambda: codebook_rows(layout), 1),
        (tables.CODELISTS, lambda: codelist_rows(layout), 1),
        (tables.LABELS, lambda: label_rows(layout), 1),
    ]
    every_table = [t for t, _, _ in plan.tables] + [tables.DATASETS]
    plan.tables.append((tables.DATASETS, lambda: tables.dataset_rows(every_table), 1))
    return plan


def _reporting(rows: Iterable[tuple], note: Callable[[int], None]) -> Iterator[tuple]:
    """Pass rows through, telling `note` the running count every 100,000 rows."""
    iterator = iter(rows)
    count = 0
    while chunk := list(islice(iterator, 100_000)):
        yield from chunk
        count += len(chunk)
        note(count)


def _file_path(root: Path, fmt: str, table: Table) -> Path:
    if fmt == "xpt":
        return root / "xpt" / f"{table.dataset.lower()}.xpt"
    return root / fmt / f"{table.name}.{fmt}"


def _write_table(fmt: str, path: Path, table: Table, rows: RowSource, cut: dt.datetime) -> dict:
    if fmt == "csv":
        return {"rows": write_csv(path, table, rows())}
    if fmt == "parquet":
        return {"rows": write_parquet(path, table, rows())}
    result = write_xpt(path, table, rows, created=cut)
    return {"rows": result.rows, "truncated": result.truncated_values, "written": path.exists()}


def unlocked_notice(study: str, cut: dt.datetime) -> str:
    return (
        f"UNLOCKED DATA: this export of {study} holds current data as of "
        f"{cut.astimezone(dt.UTC).isoformat()}, not a locked snapshot. Values may still change "
        "and queries may still be open. Do not use it for final analysis.\n"
    )


def write_export(
    export: ExportScope,
    snapshot: Snapshot,
    formats: list[str],
    out_dir: Path,
    *,
    requested_by: str = "",
    progress: Progress | None = None,
    created: dt.datetime | None = None,
) -> dict:
    """Write every table in every format under out_dir, then the manifest; return it."""
    report = progress or (lambda fraction, note: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = _plan(export, snapshot)
    steps = [(fmt, t) for fmt in formats if fmt in TABULAR for t in plan.tables]
    # XPT reads every table twice (measure, then write); ODM costs about one format's tables.
    weights = [w * (2 if fmt == "xpt" else 1) for fmt, (_, _, w) in steps]
    odm_weight = sum(w for _, _, w in plan.tables) if "odm" in formats else 0
    total = max(1, sum(weights) + odm_weight)
    done = 0
    entries: list[FileEntry] = []
    truncated: dict[str, int] = {}
    empty_xpt: list[str] = []
    for (fmt, (table, source, _)), weight in zip(steps, weights, strict=True):
        path = _file_path(out_dir, fmt, table)
        path.parent.mkdir(parents=True, exist_ok=True)
        where = f"{fmt}/{table.name}"
        report(done / total, f"Writing {where}")

        def rows(source=source, where=where, start=done / total):
            return _reporting(source(), lambda n: report(start, f"{where}: {n:,} rows"))

        written = _write_table(fmt, path, table, rows, snapshot.data_cut)
        done += weight
        if not written.get("written", True):
            empty_xpt.append(table.name)
            continue
        entries.append(entry_for(out_dir, path, format=fmt, table=table.name, rows=written["rows"]))
        if written.get("truncated"):
            truncated[path.relative_to(out_dir).as_posix()] = written["truncated"]
    extra: dict = {}
    if "odm" in formats:
        report(done / total, "Writing odm")
        entries.append(_write_odm(out_dir, plan))
    if not snapshot.locked:
        notice = out_dir / "UNLOCKED.txt"
        notice.write_text(unlocked_notice(export.study.code, snapshot.data_cut), encoding="utf-8")
        entries.append(entry_for(out_dir, notice, format="txt", table="notice", rows=1))
    if truncated:
        extra["xpt_values_cut_to_200_bytes"] = truncated
    if empty_xpt:
        extra["xpt_not_written_empty_tables"] = empty_xpt
    if snapshot.locked and snapshot.lock_sha256 and export.all_sites:
        recomputed, _ = dataset_snapshot(export.study)
        extra["lock_snapshot_sha256"] = snapshot.lock_sha256
        extra["lock_snapshot_verified"] = recomputed == snapshot.lock_sha256
    manifest = build_manifest(
        study=export.study.code,
        locked=snapshot.locked,
        snapshot_id=snapshot.snapshot_id,
        data_cut=snapshot.data_cut,
        created=created or timezone.now(),
        sites=export.site_codes,
        all_sites=export.all_sites,
        formats=formats,
        files=entries,
        requested_by=requested_by,
        extra=extra,
    )
    write_manifest(out_dir, manifest)
    report(1.0, "Done")
    return manifest


def _write_odm(out_dir: Path, plan: _Plan) -> FileEntry:
    export, snapshot, layout = plan.export, plan.snapshot, plan.layout
    study = export.study
    versions = selectors.protocol_versions(study)
    current = next((v for v in versions if v.pk == study.current_version_id), versions[-1])
    path = out_dir / "odm" / f"{study.code}.xml"
    path.parent.mkdir(exist_ok=True)
    status = "Locked snapshot" if snapshot.locked else "UNLOCKED current data, not a snapshot"
    if export.all_sites:
        granularity = "All"
    elif len(export.sites) == 1:
        granularity = "SingleSite"
    else:
        granularity = None
    header = OdmHeader(
        file_oid=f"F.{study.code}.{snapshot.snapshot_id}"
        + ("" if export.all_sites else ".SITES-" + "-".join(export.site_codes)),
        created=snapshot.data_cut,
        as_of=snapshot.data_cut,
        description=f"{study.code} {status} {snapshot.snapshot_id}; sites "
        + ("all" if export.all_sites else ", ".join(export.site_codes)),
        source_system_version=SOFTWARE,
        granularity=granularity,
    )
    result = write_odm(
        path,
        header,
        layout,
        study_oid=f"S.{study.code}",
        mdv_oid=f"MDV.{current.number}",
        mdv_name=f"Protocol version {current.number} ({current.label or 'unlabelled'})",
        mdv_description="Union of protocol versions "
        + ", ".join(str(v.number) for v in versions)
        + "; the newest decides labels.",
        effective=current.loaded_at.date(),
        usernames=selectors.audit_usernames(export, snapshot),
        sites=[OdmSite(s.code, s.name) for s in export.sites],
        forms=selectors.odm_forms(export, layout),
        audit=selectors.odm_audit(export, snapshot),
    )
    return entry_for(out_dir, path, format="odm", table="odm", rows=result.item_values)


@contextmanager
def consistent_read():
    """One REPEATABLE READ, READ ONLY transaction on PostgreSQL, so every table and format sees
    the same data; elsewhere (SQLite, or already inside a transaction) the reads run as they
    are."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield False
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield True


class JobProgress:
    """Writes a job's progress at most twice a second. Inside the export's read transaction
    the write goes through a second connection, so the progress is visible while it runs."""

    def __init__(self, job_id: int, separate_connection: bool):
        self.job_id = job_id
        self.last = 0.0
        self.connection = connections.create_connection("default") if separate_connection else None

    def __call__(self, fraction: float, note: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and fraction < 1.0:
            return
        self.last = now
        percent = max(0, min(99, int(fraction * 100)))
        if self.connection is None:
            ExportJob.objects.filter(pk=self.job_id).update(
                progress=percent, progress_note=note[:200]
            )
            return
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ExportJob._meta.db_table} SET progress = %s, progress_note = %s "
                "WHERE id = %s",
                [percent, note[:200], self.job_id],
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


# ---- jobs -------------------------------------------------------------------------------


def export_root() -> Path:
    """Where the worker builds an export: its own disk, not seen by the web instances."""
    return Path(settings.EXPORT_ROOT)


def export_storage() -> Storage:
    """Where finished archives live for every web instance: STORAGES["exports"], a shared
    folder or an object store (S3 through django-storages)."""
    return storages["exports"]


def job_folder(job: ExportJob) -> Path:
    stamp = job.created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return export_root() / job.study.code / f"{job.pk:06d}-{stamp}"


def archive_storage_name(job: ExportJob) -> str | None:
    """The archive's name in the exports storage."""
    if not job.archive_name:
        return None
    return f"{job.study.code}/{job.archive_name}"


def store_archive(local: Path, name: str) -> str:
    """Put the packed archive into the exports storage under `name` (a re-run after a crash
    replaces what an earlier run stored) and return the name it was stored under."""
    storage = export_storage()
    if storage.exists(name):
        storage.delete(name)
    with open(local, "rb") as handle:
        stored = storage.save(name, File(handle, name=Path(name).name))
    # With the default folder storage both paths may be one file; never delete the stored one.
    if local.exists() and not _same_file(local, storage, stored):
        local.unlink()
    return stored


def _same_file(local: Path, storage: Storage, name: str) -> bool:
    try:
        return Path(storage.path(name)).resolve() == local.resolve()
    except NotImplementedError:  # object stores have no local path
        return False


def archive_name(job: ExportJob) -> str:
    label = job.snapshot_id if job.locked else "UNLOCKED"
    return f"{job.study.code}-export-{job.pk:06d}-{label}.zip"


@transaction.atomic
def start_export(
    ctx: ChangeContext,
    scope: Scope,
    study: Study,
    *,
    formats: Iterable[str],
    site_codes: list[str] | None = None,
) -> ExportJob:
    """Queue an export (data managers and statisticians only; site-limited ones get their
    sites). Audited; the Celery task starts once this transaction commits."""
    export = selectors.export_scope(scope, study, site_codes)
    chosen = parse_formats(formats)
    if not export.sites:
        raise DomainError("no_sites", "sites", gettext("this study has no site to export yet"))
    job = ExportJob.objects.create(
        study=study,
        requested_by=ctx.actor,
        requested_by_name=ctx.username,
        channel=ctx.channel,
        all_sites=export.all_sites,
        site_codes=export.site_codes,
        formats=chosen,
    )
    snapshot = selectors.snapshot_for(export, job.created_at)
    job.locked = snapshot.locked
    job.snapshot_id = snapshot.snapshot_id
    job.data_cut = snapshot.data_cut
    job.save(update_fields=["locked", "snapshot_id", "data_cut"])
    record(
        ctx,
        "export",
        object_type="exports.ExportJob",
        object_id=job.pk,
        new={
            "formats": chosen,
            "sites": "all" if export.all_sites else export.site_codes,
            "snapshot_id": snapshot.snapshot_id,
            "data_cut": snapshot.data_cut.isoformat(),
        },
        study=study,
        site=export.sites[0] if len(export.sites) == 1 else None,
    )
    from edc.exports.tasks import run_export

    transaction.on_commit(lambda: run_export.delay(job.pk))
    return job


def run_job(job_id: int) -> ExportJob:
    """Run a queued export (the Celery task). Re-running after a crash starts it over."""
    job = ExportJob.objects.select_related("study").get(pk=job_id)
    if job.status == ExportStatus.DONE:
        return job
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, started_at=timezone.now(), progress=0, error=""
    )
    folder = job_folder(job)
    shutil.rmtree(folder, ignore_errors=True)
    export = _scope_of_job(job)
    progress = None
    try:
        snapshot = _snapshot_of_job(job, export)
        with consistent_read() as separate:
            progress = JobProgress(job.pk, separate_connection=separate)
            if not snapshot.locked:
                snapshot = Snapshot(False, snapshot.snapshot_id, _read_time(job.study))
            manifest = write_export(
                export,
                snapshot,
                list(job.formats),
                folder,
                requested_by=job.requested_by_name,
                progress=progress,
            )
        name = f"{job.study.code}/{archive_name(job)}"
        local = pack(
            folder,
            export_root() / job.study.code / f"{archive_name(job)}.packed",
            snapshot.data_cut,
        )
        archive_bytes = local.stat().st_size
        stored = store_archive(local, name)
    except Exception as exc:
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    finally:
        if progress is not None:
            progress.close()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        progress=100,
        progress_note="Done",
        out_dir=str(folder),
        archive_name=Path(stored).name,
        archive_bytes=archive_bytes,
        manifest=manifest,
        data_cut=snapshot.data_cut,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _read_time(study: Study) -> dt.datetime:
    """The cut of an unlocked export: taken after the read transaction's first query, so the
    audit rows up to it are exactly those of the changes the snapshot sees."""
    Study.objects.filter(pk=study.pk).exists()
    return timezone.now()


def _scope_of_job(job: ExportJob) -> ExportScope:
    sites = selectors.whole_study(job.study).sites
    if not job.all_sites:
        sites = tuple(s for s in sites if s.code in set(job.site_codes))
    return ExportScope(job.study, sites, job.all_sites)


def _snapshot_of_job(job: ExportJob, export: ExportScope) -> Snapshot:
    """The snapshot the job was asked for; a lock released since then fails the job rather
    than label changed data as locked."""
    if not job.locked:
        return Snapshot(False, job.snapshot_id, job.data_cut)
    # the lock time and audit cut come from the lock itself, as when the job was requested
    current = selectors.snapshot_for(export, job.data_cut)
    if current.snapshot_id != job.snapshot_id:
        raise DomainError(
            "lock_released",
            "snapshot_id",
            gettext(
                "the lock %(snapshot)s was released after the export was requested; request a "
                "new export"
            )
            % {"snapshot": job.snapshot_id},
            status=409,
        )
    return current


def pack(folder: Path, target: Path, dated: dt.datetime) -> Path:
    """A zip of the export folder: entries in name order, each dated with the data cut."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    stamp = dated.astimezone(dt.UTC).timetuple()[:6]
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as source, zf.open(info, "w") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    partial.replace(target)
    return target


def record_download(ctx: ChangeContext, job: ExportJob) -> None:
    record(
        ctx,
        "export_download",
        object_type="exports.ExportJob",
        object_id=job.pk,
        new={"archive": job.archive_name},
        study=job.study,
    )


def export_for_command(
    study: Study,
    formats: list[str],
    out_dir: Path,
    *,
    ctx: ChangeContext,
    scope: Scope | None = None,
    site_codes: list[str] | None = None,
) -> dict:
    """The command line: write directly into out_dir, audited like every export. With a
    scope (a named user) the user's permission and sites apply; without, every site."""
    if scope is not None:
        export = selectors.export_scope(scope, study, site_codes)
    else:
        export = selectors.whole_study(study)
        if site_codes:
            wanted = set(site_codes)
            unknown = sorted(wanted - set(export.site_codes))
            if unknown:
                raise DomainError(
                    "unknown_site",
                    "sites",
                    gettext("no site %(site)s in %(study)s")
                    % {"site": repr(unknown[0]), "study": study},
                )
            sites = tuple(s for s in export.sites if s.code in wanted)
            export = ExportScope(study, sites, len(sites) == len(export.sites))
    chosen = parse_formats(formats)
    now = timezone.now()
    snapshot = selectors.snapshot_for(export, now)
    with transaction.atomic():
        record(
            ctx,
            "export",
            object_type="exports.command",
            object_id=str(out_dir)[:64],
            new={
                "formats": chosen,
                "sites": "all" if export.all_sites else export.site_codes,
                "snapshot_id": snapshot.snapshot_id,
                "data_cut": snapshot.data_cut.isoformat(),
                "out": str(out_dir),
            },
            study=study,
        )
    with consistent_read():
        if not snapshot.locked:
            snapshot = Snapshot(False, snapshot.snapshot_id, _read_time(study))
        return write_export(export, snapshot, chosen, out_dir, requested_by=ctx.username)
