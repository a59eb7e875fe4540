"""The manifest of an export: every file with its row count, size and SHA-256. Pure Python.

The manifest is the one file that carries the time the export ran; everything else depends
only on the data and the data cut, so two exports of the same locked data differ only here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class FileEntry:
    path: str
    format: str
    table: str
    rows: int
    bytes: int
    sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def entry_for(root: Path, path: Path, *, format: str, table: str, rows: int) -> FileEntry:
    return FileEntry(
        path=path.relative_to(root).as_posix(),
        format=format,
        table=table,
        rows=rows,
        bytes=path.stat().st_size,
        sha256=file_sha256(path),
    )


def build_manifest(
    *,
    study: str,
    locked: bool,
    snapshot_id: str,
    data_cut: dt.datetime,
    created: dt.datetime,
    sites: list[str],
    all_sites: bool,
    formats: list[str],
    files: list[FileEntry],
    requested_by: str,
    extra: dict | None = None,
) -> dict:
    return {
        "study": study,
        "status": "locked" if locked else "UNLOCKED",
        "snapshot_id": snapshot_id,
        "data_cut": data_cut.astimezone(dt.UTC).isoformat(),
        "created_at": created.astimezone(dt.UTC).isoformat(),
        "scope": {"all_sites": all_sites, "sites": sites},
        "formats": formats,
        "requested_by": requested_by,
        "files": [asdict(f) for f in sorted(files, key=lambda f: f.path)],
        **(extra or {}),
    }


def write_manifest(root: Path, manifest: dict) -> Path:
    path = root / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def verify(root: Path, manifest: dict) -> list[str]:
    """Files whose size or checksum no longer match the manifest."""
    problems = []
    for entry in manifest["files"]:
        path = root / entry["path"]
        if not path.exists():
            problems.append(f"{entry['path']}: missing")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: checksum differs")
    return problems
