"""`make bench-site`: the capacity of one machine on a site's working day.

For each size (1,000 and 10,000 demo subjects by default) it prepares the database
(edc.sitebench.prepare, kept between runs), serves it with gunicorn and one Celery worker
connected as the application role, and runs the Locust workload (edc.sitebench.locustfile)
headless on loopback at a rising number of users, each step for a fixed time. The highest step
whose p95 stayed at or under 500 ms with no failed request is the one that held; each size
prints `RESULT subjects=… users=… rps=… p95_ms=… errors=…`, and the last line compares them.
Loops are bounded: at most the listed steps, each --step-seconds long, and --max-minutes.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from randomization.http_load import ROOT, Server, start_gunicorn

P95_LIMIT_MS = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", default="1000,10000", help="comma-separated sizes")
    parser.add_argument(
        "--users",
        default="2,4,8,16,32,64",
        help="the steps, rising (one user is always the data manager)",
    )
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--max-minutes", type=float, default=25)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "sitebench")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "")
    if urlparse(admin_url).scheme not in {"postgres", "postgresql"}:
        sys.exit("make bench-site needs PostgreSQL: DATABASE_URL=postgres://<superuser>@…/anything")
    deadline = time.monotonic() + args.max_minutes * 60
    steps = [int(n) for n in args.users.split(",")]
    results = {}
    for size in [int(n) for n in args.subjects.split(",")]:
        results[size] = bench_size(size, steps, args, admin_url, deadline)
    summary = " ".join(
        f"{key}_at_{size}={value}" for size, held in results.items() for key, value in held.items()
    )
    last = results[max(results)]
    print(f"RESULT {' '.join(f'{k}={v}' for k, v in last.items())} {summary}", flush=True)


def bench_size(size: int, steps: list[int], args, admin_url: str, deadline: float) -> dict:
    database = f"edc_bench_site_{size}"
    parsed = urlparse(admin_url)
    server_url = f"{parsed.scheme}://{parsed.netloc}"
    work = args.work_dir / str(size)
    work.mkdir(parents=True, exist_ok=True)
    _ensure_database(server_url, database)
    env = _clean_env()
    plan = work / "plan.json"
    print(f"== {size:,} subjects: preparing {database} …", flush=True)

    def prepare() -> None:
        """Build the database once; each call tops the open queries up again and rewrites
        the plan, so a step never answers a query an earlier step already answered."""
        subprocess.run(
            [
                sys.executable,
                "-m",
                "edc.sitebench.prepare",
                "--subjects",
                str(size),
                "--plan",
                str(plan),
            ],
            cwd=ROOT,
            env={
                **env,
                "DATABASE_URL": f"{server_url}/{database}",
                "EDC_VAR_DIR": str(work / "var"),
            },
            check=True,
        )

    prepare()
    app_url = f"{parsed.scheme}://edc_app@{parsed.hostname}:{parsed.port or 5432}/{database}"
    extra = {"EDC_VAR_DIR": str(work / "var"), "CELERY_BROKER_URL": _broker()}
    server = start_gunicorn(
        app_url + "?conn_max_age=60",
        work / "gunicorn.log",
        workers=args.web_workers,
        threads=4,
        extra_env=extra,
    )
    worker = _start_worker(app_url, extra, work / "worker.log")
    _wait_until_serving(server)
    held = {"subjects": size, "users": 0, "rps": 0.0, "p95_ms": 0, "errors": 0}
    try:
        for users in steps:
            if time.monotonic() + args.step_seconds + 15 > deadline:
                print(f"   time budget spent: stopping before {users} users", flush=True)
                break
            if users != steps[0]:
                prepare()
            step = _run_locust(server, users, args.step_seconds, plan, work / f"step-{users}")
            print(
                f"   users={users:<4} requests={step['requests']:<6} rps={step['rps']:<7} "
                f"p50_ms={step['p50_ms']:<5} p95_ms={step['p95_ms']:<5} errors={step['errors']}",
                flush=True,
            )
            if step["p95_ms"] > P95_LIMIT_MS or step["errors"] or step["requests"] == 0:
                if not held["users"]:  # nothing held: say what the lowest load gave
                    held.update(
                        first_users=users, first_p95_ms=step["p95_ms"], first_rps=step["rps"]
                    )
                break
            held = {
                "subjects": size,
                "users": users,
                "rps": step["rps"],
                "p95_ms": step["p95_ms"],
                "errors": 0,
            }
    finally:
        worker.stop()
        server.stop()
    print(f"RESULT {' '.join(f'{k}={v}' for k, v in held.items())}", flush=True)
    return {k: v for k, v in held.items() if k != "subjects"}


def _wait_until_serving(server: Server, timeout: float = 180) -> None:
    """The socket is open before gunicorn's workers have loaded the app: wait until several
    requests in a row are answered quickly, so the first step measures the site, not start-up."""
    import urllib.request

    deadline = time.monotonic() + timeout
    quick = 0
    while quick < 8:
        if time.monotonic() > deadline:
            sys.exit(f"gunicorn did not serve within {timeout:.0f} s:\n{server.log()[-2000:]}")
        started = time.monotonic()
        try:
            url = f"http://{server.host}:{server.port}/accounts/login/"
            with urllib.request.urlopen(url, timeout=30) as response:
                ok = response.status == 200
        except OSError:
            ok = False
        quick = quick + 1 if ok and time.monotonic() - started < 0.5 else 0
        if not ok:
            time.sleep(0.5)


def _number(value: str) -> float:
    return 0.0 if value in ("", "N/A") else float(value)


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith(("EDC_TEST_", "DATABASE_"))}


def _broker() -> str:
    return os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/14"


def _ensure_database(server_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as db:
        found = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not found:
            db.execute(f'CREATE DATABASE "{database}"')


def _start_worker(app_url: str, extra: dict, log_path: Path) -> Server:
    env = {**_clean_env(), **extra, "DATABASE_URL": app_url, "PYTHONUNBUFFERED": "1"}
    command = [
        str(Path(sys.executable).with_name("celery")), "-A", "edc", "worker", "--concurrency", "1",
        "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    return Server(process, "127.0.0.1", 0, log_path)


def _run_locust(server: Server, users: int, seconds: int, plan: Path, prefix: Path) -> dict:
    """One step: `users` users (spawned within 5 s), `seconds` long; the aggregated figures."""
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f", str(Path(__file__).with_name("locustfile.py")),
        "--headless", "--only-summary", "--host", f"http://{server.host}:{server.port}",
        "--users", str(users), "--spawn-rate", str(max(1, users // 5)),
        "--run-time", f"{seconds}s", "--stop-timeout", "10", "--csv", str(prefix),
        "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**_clean_env(), "SITEBENCH_PLAN": str(plan)}
    subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=prefix.with_suffix(".log").open("w"),
        timeout=seconds + 120,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", newline="") as handle:
        total = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    return {
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "rps": round(_number(total["Requests/s"]), 1),
        "p50_ms": int(_number(total["50%"])),
        "p95_ms": int(_number(total["95%"])),
    }


if __name__ == "__main__":
    main()
