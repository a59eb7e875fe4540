"""The backup drill: deploy/backup.sh, run as the application role as the app would be, backs
up the demo (database and file store); deploy/restore.sh brings it back into a new database
with the roles. The audit trail, allocations, commitments and export files come back identical
by hash, and verify_randomization passes on the restored copy."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from edc.audit.context import ChangeContext
from edc.demo.services import seed_demo
from edc.studies.models import Study
from randomization.services import reveal_seed
from randomization.verification import seed_file_text
from tests.deploy.conftest import APP_ROLE, database_url
from tests.exports.conftest import use_export_folder
from tests.factories import load_study

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
COMPARED = (
    "audit_auditevent",
    "randomization_allocation",
    "randomization_commitment",
    "randomization_seed",
)


def url_of(database: str, user: str | None = None) -> str:
    return database_url(user).rsplit("/", 1)[0] + f"/{database}"


def table_hashes(url: str) -> dict[str, tuple[int, str]]:
    """Row count and MD5 of every row's text, in id order, per compared table."""
    with psycopg.connect(url) as db:
        return {
            table: db.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) "
                f"FROM {table} t"
            ).fetchone()
            for table in COMPARED
        }


def file_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(command: list[str], env: dict) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def drop_database(name: str) -> None:
    with psycopg.connect(url_of("postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_of_the_demo_restores_identically(app_role_url, tmp_path, settings):
    var_dir = tmp_path / "var"
    use_export_folder(settings, var_dir / "exports")
    load_study("t-reirr.yaml")
    seed_demo()
    study = Study.objects.get(code="T-REIRR")
    seed, salt = reveal_seed(ChangeContext.system(reason="backup drill escrow"), study)
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(seed_file_text(study.code, seed, salt))
    exported = file_hashes(var_dir / "exports")
    assert any(name.endswith(".zip") for name in exported), exported

    restored = f"{connection.settings_dict['NAME']}_restored"
    drop_database(restored)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDC_", "DATABASE_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHON"] = sys.executable
    try:
        backup_dir = run(
            ["bash", "deploy/backup.sh", str(tmp_path / "backups")],
            {**env, "DATABASE_URL": app_role_url + "?conn_max_age=60", "EDC_VAR_DIR": str(var_dir)},
        ).strip()
        assert sorted(p.name for p in Path(backup_dir).iterdir()) == [
            "SHA256SUMS",
            "database.dump",
            "files.tar.gz",
        ]
        restored_var = tmp_path / "restored-var"
        run(
            ["bash", "deploy/restore.sh", backup_dir, restored, str(restored_var)],
            {**env, "DATABASE_ADMIN_URL": url_of("postgres")},
        )

        original = table_hashes(app_role_url)
        copy = table_hashes(url_of(restored, APP_ROLE))
        assert all(count > 0 for count, _ in original.values()), original
        assert copy == original
        assert file_hashes(restored_var / "exports") == exported

        # The restored copy, used as the app would use it, verifies against the escrowed seed.
        verified = run(
            [
                sys.executable,
                "manage.py",
                "verify_randomization",
                study.code,
                "--seed-file",
                str(seed_file),
            ],
            {**env, "DATABASE_URL": url_of(restored, APP_ROLE)},
        )
        assert f"{study.code}: VERIFIED" in verified
        # ... and came back with the roles: the application role still cannot touch the trail.
        with psycopg.connect(url_of(restored, APP_ROLE), autocommit=True) as db:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute("TRUNCATE audit_auditevent")
            owner = db.execute(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_auditevent'"
            ).fetchone()
            assert owner == ("edc_owner",)
        # A second restore into the same database is refused, never overwritten.
        refused = subprocess.run(
            ["bash", "deploy/restore.sh", backup_dir, restored],
            cwd=ROOT,
            env={**env, "DATABASE_ADMIN_URL": url_of("postgres")},
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0 and "exists" in refused.stderr
    finally:
        drop_database(restored)
