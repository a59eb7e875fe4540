"""Randomization throughput: the HTTP API under gunicorn against the raw database limit.

    DATABASE_URL=postgres://... python -m randomization.bench [--clients 32] [--subjects 2000]

One run, on a scratch database it creates and drops (``<database>_bench_randomization``, named
after DATABASE_URL's database, so runs against one server for different databases do not drop
each other's):

1. API: ``--clients`` threads, each with a keep-alive connection, randomize ``--subjects``
   eligible subjects through ``POST /api/v1/.../randomization/`` served by gunicorn.
2. Raw SQL: the same number of persistent psycopg connections run the allocation's core
   transaction on a second live study's tables (SELECT ... FOR UPDATE on the stratum, SELECT
   the slot, INSERT the allocation, UPDATE the cursor, COMMIT): the database's own limit.
3. Anomalies, for both: a subject twice, a sequence twice or skipped, an arm not its slot's,
   an unbalanced complete block, a failed request, an API allocation not pending its follow-up
   (derived items, calendar, e-mails: the Celery worker's periodic job, not run here).
4. CPU per allocation (Linux /proc) of the load generator, the gunicorn processes and the
   database backends, for both phases: where the two cores went.

Last line: ``RESULT ratio=... api_per_s=... raw_per_s=... p99_ms=... raw_p99_ms=... anomalies=...``.
All subjects go into one stratum by default (``--strata 2`` alternates two), the hardest case
for the row lock.

The API phase goes through the ORM like the rest of the code; the raw phase is the
database's limit for reference, not a target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH_SUFFIX = "_bench_randomization"

BENCH_STUDY = {
    "format": 1,
    "code": "BENCH-API",
    "version": "1.0",
    "title": "Randomization benchmark study",
    "identifiers": {"nct": "NCT00000000", "sponsor_protocol": "BENCH"},
    "phase": "3",
    "target_enrollment": 1000,
    "contacts": {"safety_email": "safety@example.org", "admin_email": "admin@example.org"},
    "enrolment_model": "enrol_after_induction",
    "codelists": {"NY": [{"code": "Y", "label": "Yes"}, {"code": "N", "label": "No"}]},
    "arms": [
        {"code": "A", "name": "Arm A", "ratio": 1},
        {"code": "B", "name": "Arm B", "ratio": 1},
    ],
    "randomization": {
        "method": "stratified_permuted_block",
        "block_sizes": [2, 4],
        "factors": [
            {
                "code": "response",
                "name": "Response",
                "source": {"form": "randomization", "item": "STRESP"},
                "levels": [{"code": "CR", "label": "CR"}, {"code": "PR", "label": "PR"}],
            }
        ],
    },
    "schedule": {
        "events": [
            {
                "code": "SCREEN",
                "name": "Screening",
                "kind": "visit",
                "anchor": "consent",
                "window": {"before": 0, "after": 28},
                "forms": ["eligibility"],
            },
            {
                "code": "RAND",
                "name": "Randomization",
                "kind": "visit",
                "anchor": "registration",
                "window": {"before": 0, "after": 28},
                "forms": ["randomization"],
            },
        ]
    },
    "forms": [
        {
            "code": "eligibility",
            "name": "Eligibility",
            "domain": "IE",
            "kind": "eligibility",
            "items": [
                {
                    "code": "IELIFE",
                    "label": "Life expectancy",
                    "type": "choice",
                    "codelist": "NY",
                    "required": True,
                }
            ],
        },
        {
            "code": "randomization",
            "name": "Randomization",
            "domain": "DS",
            "kind": "randomization",
            "items": [
                {
                    "code": "STRESP",
                    "label": "Response",
                    "type": "choice",
                    "choices": [
                        {"code": "CR", "label": "Complete"},
                        {"code": "PR", "label": "Partial"},
                    ],
                }
            ],
        },
    ],
    "eligibility": [
        {
            "id": "B-IN1",
            "kind": "inclusion",
            "text": "Life expectancy of at least 3 months",
            "evaluated_at": ["registration"],
            "type": "attestation",
            "attestation": {"form": "eligibility", "item": "IELIFE"},
        }
    ],
}


def database_url(base: str, name: str) -> str:
    parsed = urlparse(base)
    return urlunparse(parsed._replace(path=f"/{name}"))


def bench_database(base_url: str) -> str:
    """The scratch database's name: DATABASE_URL's database with a suffix."""
    return (urlparse(base_url).path.lstrip("/") or "edc") + BENCH_SUFFIX


def recreate_database(base_url: str) -> None:
    import psycopg

    admin = database_url(base_url, "postgres").split("?")[0]
    name = bench_database(base_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(base_url: str) -> None:
    import psycopg

    admin = database_url(base_url, "postgres").split("?")[0]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_database(base_url)}" WITH (FORCE)')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# ---- set-up (Django, in this process) --------------------------------------------------


def set_up(subjects: int, strata: int, clients: int):
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings

    from crf.models import FormInstance, FormStatus
    from crf.services import confirm_eligibility
    from edc.accounts.models import Membership
    from edc.accounts.services import issue_token
    from edc.audit.context import ChangeContext
    from edc.studies.services import create_site, load_study_definition
    from edc.subjects.models import Consent, Subject
    from randomization.services import go_live

    ctx = ChangeContext.system(reason="benchmark")
    User = get_user_model()
    levels = ["CR", "PR"][:strata]
    made = {}
    for code in ("BENCH-API", "BENCH-RAW"):
        definition = dict(BENCH_STUDY, code=code)
        study = load_study_definition(ctx, definition, source_name="bench").study
        site = create_site(ctx, study, code="01", name="Bench hospital", staff_email="")
        # Subjects are inserted in bulk: their creation is not what is measured.
        today = dt.date.today()
        rows = [
            Subject(
                study=study,
                site=site,
                subject_id=f"{code}-01-{n:05d}",
                status="registered",
                protocol_version_id=study.current_version_id,
                screening_date=today - dt.timedelta(days=5),
                registration_date=today - dt.timedelta(days=1),
            )
            for n in range(1, subjects + 1)
        ]
        Subject.objects.bulk_create(rows, batch_size=1000)
        pool = list(Subject.objects.filter(study=study).order_by("subject_id"))
        Consent.objects.bulk_create(
            [
                Consent(subject=s, consent_date=today - dt.timedelta(days=6), icf_version="1.0")
                for s in pool
            ],
            batch_size=1000,
        )
        FormInstance.objects.bulk_create(
            [
                FormInstance(
                    subject=s,
                    study=study,
                    site=site,
                    protocol_version_id=study.current_version_id,
                    event_code="RAND",
                    form_code="randomization",
                    status=FormStatus.COMPLETE,
                    data={"STRESP": levels[i % len(levels)]},
                )
                for i, s in enumerate(pool)
            ]
            + [
                FormInstance(
                    subject=s,
                    study=study,
                    site=site,
                    protocol_version_id=study.current_version_id,
                    event_code="SCREEN",
                    form_code="eligibility",
                    status=FormStatus.COMPLETE,
                    data={"IELIFE": "Y"},
                )
                for s in pool
            ],
            batch_size=1000,
        )
        go_live(ctx, study, min_slots_per_stratum=subjects + 8)
        made[code] = (study, site, pool)
    api_study, api_site, api_pool = made["BENCH-API"]
    investigator = User.objects.create(username="bench-investigator", email="")
    Membership.objects.create(
        user=investigator, study=api_study, site=api_site, role="investigator"
    )
    # Every API subject is eligible by the investigator's real e-signature. A fast hasher for
    # this set-up only: signing is not what is measured.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        investigator.set_password("bench-signature")
        investigator.save()
        signer = ChangeContext(investigator, "web")
        for subject in api_pool:
            confirm_eligibility(signer, subject, "randomization", password="bench-signature")
    tokens = []
    for n in range(clients):
        user = User.objects.create(username=f"bench-site-{n}", email="")
        Membership.objects.create(user=user, study=api_study, site=api_site, role="site_staff")
        tokens.append(issue_token(ChangeContext.system(), user, name="bench")[1])
    return made, tokens


# ---- CPU accounting (Linux /proc): who spends the two cores -----------------------------

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_tree(root: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except OSError:
                continue
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


class CpuMeter:
    """CPU used during a phase by this process (the load generator), a server process tree and
    the database's backends serving the bench database."""

    def __init__(self, conninfo: str, server_pid: int | None = None):
        import psycopg

        self.server_pid = server_pid
        self.conn = psycopg.connect(conninfo, autocommit=True)

    def _backends(self) -> dict[int, float]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
        return {pid: process_cpu(pid) for (pid,) in rows}

    def _server(self) -> dict[int, float]:
        if self.server_pid is None:
            return {}
        return {pid: process_cpu(pid) for pid in process_tree(self.server_pid)}

    def start(self) -> None:
        self.client0 = time.process_time()
        self.server0, self.db0 = self._server(), self._backends()

    def stop(self) -> dict[str, float]:
        client = time.process_time() - self.client0
        server = sum(v - self.server0.get(p, 0.0) for p, v in self._server().items())
        database = sum(v - self.db0.get(p, 0.0) for p, v in self._backends().items())
        self.conn.close()
        return {"client": client, "server": server, "database": database}


# ---- the two measured phases -----------------------------------------------------------


def run_api(server, tokens, pool, clients, meter) -> tuple[float, list[float], Counter, dict]:
    from randomization.http_load import JsonClient

    work: queue.Queue = queue.Queue()
    for subject in pool:
        work.put(subject.subject_id)
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client_loop(token):
        client = JsonClient(server.host, server.port, token)
        mine, codes = [], Counter()
        try:
            client.request("GET", "/api/v1/studies/BENCH-API/randomization/commitments/")
        except Exception:
            barrier.abort()
            raise
        barrier.wait()
        while True:
            try:
                subject_id = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            status, _ = client.request(
                "POST",
                f"/api/v1/studies/BENCH-API/subjects/{subject_id}/randomization/",
                {},
                {"Idempotency-Key": f"bench-{subject_id}"},
            )
            mine.append(time.perf_counter() - started)
            codes[status] += 1
        client.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    threads = [threading.Thread(target=client_loop, args=(tokens[i],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    meter.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return seconds, latencies, statuses, meter.stop()


RAW_LOCK = "SELECT next_sequence FROM randomization_stratum WHERE id = %s FOR UPDATE"
RAW_SLOT = (
    "SELECT id, sequence, arm FROM randomization_slot WHERE stratum_id = %s "
    "AND sequence >= %s AND available ORDER BY sequence LIMIT 1"
)
RAW_INSERT = (
    "INSERT INTO randomization_allocation (subject_id, study_id, site_id, scheme_id, stratum_id, "
    "slot_id, sequence, arm, stratum_values, idempotency_key, randomized_by_username, "
    "randomized_at, channel, eligibility, ratio_unit) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', now(), 'system', '{}', 1)"
)
RAW_ADVANCE = "UPDATE randomization_stratum SET next_sequence = %s WHERE id = %s"


def run_raw(url: str, study, site, pool, clients, meter) -> tuple[float, list[float], int, dict]:
    import psycopg
    from psycopg.types.json import Jsonb

    from crf.models import FormInstance
    from randomization.models import Stratum

    scheme_id = study.randomization_scheme.pk
    strata = {s.values["response"]: s.pk for s in Stratum.objects.filter(scheme_id=scheme_id)}
    levels = {
        subject_id: data["STRESP"]
        for subject_id, data in FormInstance.objects.filter(
            study=study, form_code="randomization"
        ).values_list("subject_id", "data")
    }
    work: queue.Queue = queue.Queue()
    for subject in pool:
        work.put(subject.pk)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    conninfo = url.split("?")[0]
    # Closed only after the CPU meter has read their backends.
    connections: list = []

    def client_loop():
        mine = []
        try:
            conn = psycopg.connect(conninfo)
        except psycopg.Error:
            barrier.abort()
            raise
        with lock:
            connections.append(conn)
        barrier.wait()
        while True:
            try:
                subject_pk = work.get_nowait()
            except queue.Empty:
                break
            level = levels[subject_pk]
            stratum_id = strata[level]
            started = time.perf_counter()
            try:
                with conn.transaction():
                    (cursor_at,) = conn.execute(RAW_LOCK, (stratum_id,)).fetchone()
                    slot_id, sequence, arm = conn.execute(
                        RAW_SLOT, (stratum_id, cursor_at)
                    ).fetchone()
                    conn.execute(
                        RAW_INSERT,
                        (
                            subject_pk,
                            study.pk,
                            site.pk,
                            scheme_id,
                            stratum_id,
                            slot_id,
                            sequence,
                            arm,
                            Jsonb({"response": level, "site": "01"}),
                            f"raw-{subject_pk}",
                        ),
                    )
                    conn.execute(RAW_ADVANCE, (sequence + 1, stratum_id))
            except psycopg.Error:
                with lock:
                    failures[0] += 1
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    meter.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    for conn in connections:
        conn.close()
    return seconds, latencies, failures[0], cpu


def anomalies(study, expected: int) -> list[str]:
    """Every way an allocation run can go wrong, counted from what the database holds."""
    from randomization.models import Allocation, Slot

    problems = []
    rows = list(
        Allocation.objects.filter(study=study).values_list(
            "subject_id", "stratum_id", "sequence", "arm", "slot__arm", "slot__sequence"
        )
    )
    if len(rows) != expected:
        problems.append(f"{study.code}: {len(rows)} allocations, expected {expected}")
    if len({r[0] for r in rows}) != len(rows):
        problems.append(f"{study.code}: a subject randomized twice")
    by_stratum = defaultdict(list)
    for _, stratum_id, sequence, arm, slot_arm, slot_sequence in rows:
        by_stratum[stratum_id].append(sequence)
        if arm != slot_arm or sequence != slot_sequence:
            problems.append(f"{study.code}: allocation {sequence} differs from its slot")
    for stratum_id, sequences in by_stratum.items():
        if sorted(sequences) != list(range(1, len(sequences) + 1)):
            problems.append(f"{study.code}: stratum {stratum_id} sequences not 1..{len(sequences)}")
        used = defaultdict(Counter)
        sizes = {}
        for block, size, arm in Slot.objects.filter(
            stratum_id=stratum_id, sequence__lte=len(sequences)
        ).values_list("block_number", "block_size", "arm"):
            used[block][arm] += 1
            sizes[block] = size
        for block, counts in used.items():
            full = sum(counts.values()) == sizes[block]
            if (full and len(set(counts.values())) != 1) or max(counts.values()) > sizes[
                block
            ] // 2:
                problems.append(f"{study.code}: stratum {stratum_id} block {block} unbalanced")
    return problems


def server_env(var_dir: Path) -> dict[str, str]:
    """The served app's own var folder and broker (an allocation queues nothing, but nothing of
    a real installation should meet this scratch database), and the same keys as this process."""
    from django.conf import settings

    return {
        "EDC_VAR_DIR": str(var_dir),
        "SECRET_KEY": settings.SECRET_KEY,
        "RANDOMIZATION_SEED_KEY": settings.RANDOMIZATION_SEED_KEY or settings.SECRET_KEY,
        "CELERY_BROKER_URL": "filesystem://",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--strata", type=int, choices=[1, 2], default=1)
    parser.add_argument(
        "--workers",
        type=int,
        # gunicorn's documented starting point for sync workers, (2 x cores) + 1: each worker
        # waits on the database for most of a request, so a worker per core leaves cores idle.
        # Production runs more (deploy/: 4 per instance, two instances by default).
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn worker processes (default: 2 x cores + 1)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--wsgi", default="edc.wsgi", help="WSGI module gunicorn serves")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)

    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL must point at PostgreSQL", file=sys.stderr)
        return 2
    recreate_database(base)
    bench_db = bench_database(base.split("?")[0])
    url = database_url(base.split("?")[0], bench_db)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "edc.settings"
    os.environ.pop("EDC_TEST_DATABASE_NAME", None)
    import django

    django.setup()
    from django.core.management import call_command

    from randomization.http_load import start_gunicorn
    from randomization.selectors import awaiting_follow_up

    try:
        print(f"migrating {bench_db} ...", flush=True)
        call_command("migrate", verbosity=0)
        made, tokens = set_up(args.subjects, args.strata, args.clients)
        api_study, _, api_pool = made["BENCH-API"]
        raw_study, raw_site, raw_pool = made["BENCH-RAW"]
        log = Path(tempfile.mkstemp(prefix="randomization-bench-", suffix=".log")[1])
        var_dir = Path(tempfile.mkdtemp(prefix="randomization-bench-var-"))
        server = start_gunicorn(
            url + "?conn_max_age=600",
            log,
            workers=args.workers,
            threads=args.threads,
            wsgi=args.wsgi,
            extra_env=server_env(var_dir),
        )
        try:
            print(
                f"API: {args.clients} clients, {args.subjects} subjects, {args.strata} stratum(s), "
                f"gunicorn {args.workers} workers x {args.threads} threads",
                flush=True,
            )
            api_seconds, api_latencies, statuses, api_cpu = run_api(
                server, tokens, api_pool, args.clients, CpuMeter(url, server.process.pid)
            )
        finally:
            server.stop()
        print(f"raw SQL: {args.clients} persistent psycopg connections", flush=True)
        raw_seconds, raw_latencies, raw_failures, raw_cpu = run_raw(
            url, raw_study, raw_site, raw_pool, args.clients, CpuMeter(url)
        )
        shutil.rmtree(var_dir, ignore_errors=True)
        pending = awaiting_follow_up().filter(study=api_study).count()
        print(f"API allocations pending their follow-up by the worker: {pending}", flush=True)
        problems = anomalies(api_study, args.subjects) + anomalies(raw_study, args.subjects)
        if pending != args.subjects:
            problems.append(f"{pending} allocations pending follow-up, expected {args.subjects}")
        failed_requests = sum(n for status, n in statuses.items() if status != 201)
        anomaly_count = len(problems) + failed_requests + raw_failures
        api_per_s = len(api_latencies) / api_seconds
        raw_per_s = len(raw_latencies) / raw_seconds
        p99 = percentile(api_latencies, 0.99) * 1000
        raw_p99 = percentile(raw_latencies, 0.99) * 1000
        print(f"API statuses: {dict(statuses)}")
        print(
            f"API: {api_per_s:.1f}/s, p50 {statistics.median(api_latencies) * 1000:.1f} ms, "
            f"p99 {p99:.1f} ms"
        )
        print(
            f"raw: {raw_per_s:.1f}/s, p50 {statistics.median(raw_latencies) * 1000:.1f} ms, "
            f"p99 {raw_p99:.1f} ms, failures {raw_failures}"
        )
        for name, cpu, count in (
            ("API", api_cpu, len(api_latencies)),
            ("raw", raw_cpu, len(raw_latencies)),
        ):
            spent = ", ".join(f"{k} {v * 1000 / max(count, 1):.2f}" for k, v in cpu.items())
            print(f"{name} CPU ms per allocation: {spent}")
        for problem in problems[:20]:
            print("ANOMALY", problem)
        if anomaly_count:
            print(f"gunicorn log: {log}")
        else:
            log.unlink(missing_ok=True)
        print(f"API p99 is {p99 / raw_p99:.2f} x the raw p99")
        print(
            f"RESULT ratio={api_per_s / raw_per_s:.3f} api_per_s={api_per_s:.1f} "
            f"raw_per_s={raw_per_s:.1f} p99_ms={p99:.1f} raw_p99_ms={raw_p99:.1f} "
            f"anomalies={anomaly_count}"
        )
        return 0 if anomaly_count == 0 else 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(base)


if __name__ == "__main__":
    sys.exit(main())
