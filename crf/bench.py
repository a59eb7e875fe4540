"""Benchmark of CRF saves: `python -m crf.bench` (make bench-crf), against DATABASE_URL.

Builds a throwaway database, loads the T-REIRR study, screens 100 subjects and saves 1,000
forms through the real page (an HTTP POST handled by Django, as a browser sends it: session,
authentication, scoping, validation with the study's edit checks, derivations, audit, data
management checks). Per save it records the server-side time and the number of SQL queries.
The mix per subject: consent, demographics, vital signs, laboratory tests (37 items with
cross-form edit checks), ECG, an adverse event, then four corrections with a reason.
Queries count SQL statements of the whole request (session, user, scope, subject, the save,
audit, data management, the schedule update, session update), without BEGIN/COMMIT. The last line is
`RESULT p50_ms=… p95_ms=… queries_per_save=…`.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time

SUBJECTS = 100
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def _flat(values: dict) -> dict:
    """The form fields a browser posts: groups as group.N.ITEM, multichoice as lists."""
    flat: dict = {}
    for key, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for index, row in enumerate(value):
                for code, item in row.items():
                    flat[f"{key}.{index}.{code}"] = item
        else:
            flat[key] = value
    return flat


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
    os.environ.setdefault("EDC_TEST_DATABASE_NAME", "test_edc_bench_crf")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("crf.bench measures PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        timings, queries = run()
    finally:
        teardown_databases(old, verbosity=0)
        teardown_test_environment()
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(0.95 * len(timings)) - 1]
    print(
        f"saves: {len(timings)}  mean {statistics.fmean(timings):.1f} ms  max {timings[-1]:.1f} ms"
    )
    print(f"queries per save: mean {statistics.fmean(queries):.2f}  max {max(queries)}")
    print(
        f"RESULT p50_ms={p50:.1f} p95_ms={p95:.1f} queries_per_save={statistics.fmean(queries):.1f}"
    )


def run() -> tuple[list[float], list[int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crf.definitions import study_forms
    from crf.demo import _overrides
    from crf.sample_values import sample_form
    from edc.accounts.models import Membership
    from edc.audit.context import ChangeContext
    from edc.studies.protocol import check_file
    from edc.studies.services import create_site, load_study_definition
    from edc.subjects.services import screen_subject

    data, problems = check_file(settings_dir() / "t-reirr.yaml")
    if problems:
        sys.exit(f"t-reirr.yaml: {problems[0]}")
    system = ChangeContext.system("bench")
    study = load_study_definition(system, data, source_name="t-reirr.yaml").study
    site = create_site(system, study, code="01", name="Bench site")
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(user=user, study=study, site=site, role="site_staff")
    client = Client()
    client.force_login(user)
    today = dt.date.today()
    consent = today - dt.timedelta(days=30)
    forms = study_forms(study.current_version_id)
    timings: list[float] = []
    queries: list[int] = []
    by_form: dict[str, list[tuple[float, int]]] = {}
    control: list[int] = []

    def post(subject, event, form_code, values, row_version, reason=""):
        url = f"/studies/{study.code}/subjects/{subject.subject_id}/forms/{event}/1/{form_code}/1/"
        body = {
            **_flat(values),
            "row_version": str(row_version),
            "action": "save",
            "confirm_warnings": "1",
            "reason": reason,
        }
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(url, body)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 302:
            sys.exit(
                f"{form_code}: save refused ({response.status_code}): {response.content[:400]!r}"
            )
        statements = [q["sql"] for q in captured.captured_queries]
        sql = [q for q in statements if q.split(" ", 1)[0] not in TRANSACTION_CONTROL]
        timings.append(elapsed)
        queries.append(len(sql))
        control.append(len(statements) - len(sql))
        by_form.setdefault(f"{form_code}{' update' if row_version else ''}", []).append(
            (elapsed, len(sql))
        )

    def values(code: str, day: dt.date, **extra) -> dict:
        form = forms.forms[code]
        known = {i["code"] for i in form["items"]}
        overrides = {
            k: v
            for k, v in {**_overrides(code, study.code, forms, day, consent), **extra}.items()
            if k in known
        }
        return sample_form(form, forms.codelists, day, overrides)

    ae = {
        "AETERM": "Hypothyroidism",
        "AECTCD": "10021114",
        "AEOTHSP": "N",
        "AETOXGR": "2",
        "AESTDAT": (today - dt.timedelta(days=3)).isoformat(),
        "AEONGO": "Y",
        "AESER": "N",
        "AERELPD1": "POSSIBLE",
        "AEIMMUNE": "Y",
        "AEOUT": "NOT_RECOVERED",
        "AETRT": ["HORMONE"],
    }
    for _ in range(SUBJECTS):
        subject = screen_subject(system, site, consent_date=consent, icf_version="1.0")
        day = consent + dt.timedelta(days=1)
        post(subject, "SCREENING", "consent", values("consent", day), 0)
        post(subject, "SCREENING", "dm", values("dm", day), 0)
        post(subject, "SCREENING", "vs", values("vs", day), 0)
        post(subject, "SCREENING", "lb", values("lb", day), 0)
        post(subject, "SCREENING", "eg", values("eg", day), 0)
        post(subject, "INDUCTION", "ae", ae, 0)
        post(subject, "SCREENING", "lb", values("lb", day, HGB="128"), 1, "re-measured")
        post(subject, "SCREENING", "vs", values("vs", day, WEIGHT="61.0"), 1, "scale checked")
        post(subject, "INDUCTION", "ae", {**ae, "AETOXGR": "1"}, 1, "grade reviewed")
        post(subject, "SCREENING", "dm", values("dm", day, ETHNIC="Zhuang"), 1, "corrected")
    print(
        f"per request also {statistics.fmean(control):.0f} transaction statements "
        "(BEGIN/COMMIT/SAVEPOINT: the save, the schedule update, the session update)"
    )
    for name, runs in by_form.items():
        times = sorted(t for t, _ in runs)
        print(
            f"  {name:<12} p50 {statistics.median(times):6.1f} ms  "
            f"p95 {times[int(0.95 * len(times)) - 1]:6.1f} ms  queries {runs[-1][1]}"
        )
    return timings, queries


def settings_dir():
    from django.conf import settings

    return settings.STUDIES_DIR


if __name__ == "__main__":
    main()
