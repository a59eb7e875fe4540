"""Benchmark of the daily reminder scan: `python -m edc.reminders.bench` (make bench-reminders).

Builds, in a throw-away PostgreSQL database, 100,000 subjects across the seed studies, each with
the visits its schedule has planned to date (histories replayed through the schedule engine:
induction, randomization, doses with small delays, and some progressions, treatment stops,
withdrawals and deaths), stored as the previous day's scan left them. Then it times one scan of
the next day and prints the scan time, the messages it would send and the query count. The
last line is `RESULT seconds=… queries=… subjects=… transitions=…`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import os
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import django

BENCH_DATABASE = "bench_edc_reminders"
SCAN_DAY = dt.date(2030, 6, 3)
TEMPLATE_STEP_DAYS = 5  # histories differ every 5 days of follow-up; subjects lag 0-4 days
MAX_FOLLOW_UP_DAYS = 1100


@dataclass(frozen=True)
class Template:
    """One replayed history, randomized on REFERENCE, followed for `days` days."""

    study_code: str
    days: int
    status: str
    dead: bool
    visits: tuple  # edc.schedule.planning.PlannedVisit with past calendar visits mostly done


REFERENCE = dt.date(2000, 1, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
    os.environ["EDC_TEST_DATABASE_NAME"] = BENCH_DATABASE
    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("the benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    original = connection.settings_dict["NAME"]
    print(f"creating database {BENCH_DATABASE} …", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args.subjects, random.Random(args.seed))
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


def run(total: int, rng: random.Random) -> None:
    subjects = build(total, rng)
    measure(subjects)


def build(total: int, rng: random.Random) -> int:
    from django.conf import settings
    from django.db import connection

    from edc.audit.context import ChangeContext
    from edc.studies.models import Site
    from edc.studies.protocol import study_files
    from edc.studies.services import create_site, load_study_file

    ctx = ChangeContext.system(reason="reminder benchmark")
    studies = []
    for path in study_files(settings.STUDIES_DIR):
        study = load_study_file(ctx, Path(path)).study
        for number in range(1, 11):
            create_site(
                ctx,
                study,
                code=f"{number:02d}",
                name=f"Site {number}",
                staff_email=f"s{number}@example.org",
            )
        studies.append(study)
    print(f"studies: {', '.join(s.code for s in studies)}; 10 sites each", flush=True)

    started = time.perf_counter()
    templates = {s.code: build_templates(s.current_version.definition, rng) for s in studies}
    print(f"templates: {sum(len(t) for t in templates.values())} histories replayed in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

    started = time.perf_counter()
    sites = {s.pk: list(Site.objects.filter(study=s).order_by("code")) for s in studies}
    subjects, visits = insert_cohort(total, studies, sites, templates, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"cohort: {subjects} subjects, {visits} planned visits stored in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return subjects


def measure(subjects: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from edc.reminders import services

    due = _count(SUBJECTS_WITH_A_BOUNDARY)
    print(f"subjects with a visit due for a status change on {SCAN_DAY}: {due} "
          f"({100 * due / subjects:.1f} %)", flush=True)  # fmt: skip

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = services.scan(SCAN_DAY)
        seconds = time.perf_counter() - started
    print(f"scan of {SCAN_DAY}: {seconds:.3f} s, {len(queries)} queries, {result.evaluated} visits "
          f"evaluated, {result.transitions} transitions, {result.messages} messages to send, "
          f"{result.withheld} withheld (subject not to be contacted)", flush=True)  # fmt: skip
    for query in queries.captured_queries:
        print(f"  {query['time']} s  {' '.join(query['sql'].split())[:110]}")
    started = time.perf_counter()
    again = services.scan(SCAN_DAY)
    print(f"re-run the same day: {time.perf_counter() - started:.3f} s, {again.transitions} "
          f"transitions, {again.messages} messages", flush=True)  # fmt: skip
    print(f"RESULT seconds={seconds:.3f} queries={len(queries)} subjects={subjects} "
          f"transitions={result.transitions} messages={result.messages}")  # fmt: skip


SUBJECTS_WITH_A_BOUNDARY = """
SELECT count(DISTINCT subject_id) FROM reminders_plannedvisit
 WHERE performed_on IS NULL AND cancelled_reason = '' AND not_done_reason = ''
   AND NOT reminders_paused
   AND %(day)s IN (reminder_from, window_start, target_date, window_end + 1, missed_after + 1)
"""


def _count(sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, {"day": SCAN_DAY})
        return cursor.fetchone()[0]


# --- histories ---------------------------------------------------------------------------------


def schedule_of(definition: dict):
    """The study's schedule for the engine. A seed file the engine refuses is repaired in memory
    with the smallest change that makes it schedulable, and the repair is printed."""
    from edc.schedule.definition import DefinitionError, from_definition

    repaired = copy.deepcopy(definition)
    notes = []
    for _ in range(20):
        try:
            schedule = from_definition(repaired)
            break
        except DefinitionError as exc:
            notes.append(_repair(repaired, exc))
    else:
        raise SystemExit(f"{definition['code']}: schedule cannot be repaired")
    for event in repaired["schedule"]["events"]:
        # A series anchored on its own first dose never gets a first target: start it at randomization.
        if event["kind"] == "dosing" and event["anchor"] == "first_maintenance_dose":
            event["anchor"] = "randomization"
            notes.append(f"{event['code']}: anchor first_maintenance_dose → randomization")
            schedule = from_definition(repaired)
    for note in notes:
        print(f"  {definition['code']} schedule repaired for the benchmark only: {note}")
    return schedule


def _repair(definition: dict, exc) -> str:
    import re

    match = re.match(r"schedule\.events\[(\d+)\]\.(.*)", exc.path)
    if not match:
        raise SystemExit(f"{definition['code']}: {exc}")
    event = definition["schedule"]["events"][int(match.group(1))]
    repeat = event["repeat"]
    if match.group(2) == "repeat.rolling":
        repeat["rolling"] = False
        repeat.setdefault("max_duration", {"years": 2})
        return f"{event['code']}: fixed calendar instead of rolling, 2 years"
    if match.group(2) == "repeat":
        repeat["max_duration"] = {"years": 5}
        return f"{event['code']}: calendar limited to 5 years"
    raise SystemExit(f"{definition['code']}: {exc}")


KINDS = [  # (kind, share)
    ("on_treatment", 0.62),
    ("progressed", 0.15),
    ("discontinued", 0.12),
    ("induction", 0.04),
    ("withdrawn", 0.03),
    ("dead", 0.04),
]


def build_templates(definition: dict, rng: random.Random) -> dict[tuple[str, int], list[Template]]:
    """{(kind, follow-up days): [templates, one per arm]}."""
    schedule = schedule_of(definition)
    arms = [arm.code for arm in schedule.arms]
    before_induction = definition["enrolment_model"] == "register_before_induction"
    templates: dict[tuple[str, int], list[Template]] = {}
    for kind, _ in KINDS:
        if kind == "induction" and not before_induction:
            continue
        longest = 90 if kind == "induction" else MAX_FOLLOW_UP_DAYS
        for days in range(0, longest, TEMPLATE_STEP_DAYS):
            templates[(kind, days)] = [
                _template(definition["code"], schedule, arm, kind, days, before_induction, rng)
                for arm in arms
            ]
    return templates


def _template(code, schedule, arm, kind, days, before_induction, rng) -> Template:
    from edc.schedule import events as ev
    from edc.schedule.planning import plan
    from edc.schedule.stop_rules import ScheduleEventError, apply_event, replay

    day0 = REFERENCE
    end = day0 + dt.timedelta(days=days)  # the last day of history (the day before the scan)
    history: list = []
    if kind == "induction":
        registration = end - dt.timedelta(days=min(days, 80))
        history += [ev.Consented(registration - dt.timedelta(days=10)), ev.Registered(registration)]
        state = _dose(replay(schedule, history), schedule, end, rng, induction=True)
        return _finish(code, state, plan, days, rng)
    if before_induction:
        registration = day0 - dt.timedelta(days=100)
        history += [ev.Consented(registration - dt.timedelta(days=10)), ev.Registered(registration)]
    else:
        history += [
            ev.Consented(day0 - dt.timedelta(days=20)),
            ev.Registered(day0 - dt.timedelta(days=10)),
        ]
    state = replay(schedule, history)
    if before_induction:
        state = _dose(state, schedule, day0, rng, induction=True)
        state = apply_event(
            state, ev.InductionResponseAssessed(day0 - dt.timedelta(days=14), "PR", 4)
        )
    state = apply_event(state, ev.Randomized(day0, arm))
    stop_day = day0 + dt.timedelta(days=rng.randint(min(days, 40), max(days, 40)))
    if kind == "on_treatment" or stop_day > end:
        state = _dose(state, schedule, end, rng)
        return _finish(code, state, plan, days, rng)
    state = _dose(state, schedule, stop_day - dt.timedelta(days=1), rng)
    stop = {
        "progressed": ev.Progression(stop_day, ev.ProgressionSite.DISTANT_ONLY),
        "discontinued": ev.TreatmentDiscontinued(
            stop_day, ev.DiscontinuationReason.UNACCEPTABLE_TOXICITY
        ),
        "withdrawn": ev.ConsentWithdrawn(stop_day, ev.WithdrawalScope.ALL_FOLLOW_UP),
        "dead": ev.Death(stop_day),
    }[kind]
    with contextlib.suppress(ScheduleEventError):  # e.g. a progression after the last imaging
        state = apply_event(state, stop)
    return _finish(code, state, plan, days, rng)


def _dose(state, schedule, until, rng, *, induction=False):
    """Give every dose due up to `until`, on target or up to 2 days late (sometimes 1 early)."""
    from edc.schedule.dosing import SeriesState, outlook
    from edc.schedule.events import DoseGiven
    from edc.schedule.stop_rules import ScheduleEventError, apply_event

    series = [
        e for e in schedule.events
        if e.applies_to(state.arm) and (e.is_induction_dosing if induction else e.is_treatment_dosing)
    ]  # fmt: skip
    if induction:
        series = series[:1]
    given = 0
    while True:
        pending = []
        for event in series:
            view = outlook(state, event)
            if view.state == SeriesState.OPEN and view.pending_target is not None:
                pending.append((view.pending_target, event.code))
        if not pending or (induction and given == 4):
            return state
        target, code = min(pending)
        day = target + dt.timedelta(days=rng.choice((0, 0, 0, 1, 2, -1)))
        if day > until:
            return state
        try:
            state = apply_event(state, DoseGiven(max(day, state.last_event_on or day), code))
        except ScheduleEventError:
            return state
        given += 1


def _finish(code, state, plan, days, rng) -> Template:
    from edc.schedule.state import StopReason

    last_day = REFERENCE + dt.timedelta(days=days)
    return Template(
        study_code=code,
        days=days,
        status=state.status.value,
        dead=state.study_stop is not None and state.study_stop.reason == StopReason.DEATH,
        visits=tuple(replace(v, performed_on=_performed(v, last_day, rng)) for v in plan(state)),
    )


def _performed(visit, last_day, rng):
    """Past calendar visits were mostly done in their window; dose dates come from the history."""
    if (
        visit.performed_on is not None
        or visit.kind.value == "dosing"
        or visit.cancelled_by is not None
    ):
        return visit.performed_on
    window = rng.randint(-min(visit.window_before, 2), min(visit.window_after, 2))
    done_on = visit.target + dt.timedelta(days=window)
    if done_on <= last_day and rng.random() < 0.95:
        return done_on
    return None


# --- storage ---------------------------------------------------------------------------------

LAG_DAYS = (0, 1, 2, 3, 4)  # days between a history's last recorded event and the scan's eve


def insert_cohort(
    total, studies, sites, templates, rng, *, scan_day: dt.date = SCAN_DAY
) -> tuple[int, int]:
    """Subjects are copied in; their visits are a template's visits shifted to the subject's
    calendar, expanded in SQL from staged template rows (stored as yesterday's scan left them).
    `scan_day`: the day the cohort is followed up to (the site-day benchmark uses today)."""
    from django.db import connection
    from django.utils import timezone

    from edc.reminders.models import ScanProgress

    yesterday = scan_day - dt.timedelta(days=1)
    now = timezone.now()
    weights = [share for _, share in KINDS]
    ids: dict[int, int] = {}  # id(template) -> template number
    staged: set[int] = set()
    subjects, mapping, stage_rows = [], [], []
    subject_pk = _next_id("subjects_subject")
    per_study = total // len(studies)
    for index, study in enumerate(studies):
        count = per_study + (total - per_study * len(studies) if index == len(studies) - 1 else 0)
        study_templates = templates[study.code]
        kinds = [k for k, _ in KINDS if (k, 0) in study_templates]
        kind_weights = [w for (k, _), w in zip(KINDS, weights, strict=True) if k in kinds]
        for number in range(count):
            site = sites[study.pk][number % len(sites[study.pk])]
            kind = rng.choices(kinds, kind_weights)[0]
            bases = [days for (k, days) in study_templates if k == kind]
            template = rng.choice(study_templates[(kind, rng.choice(bases))])
            lag = rng.choice(LAG_DAYS)
            number_of = ids.setdefault(id(template), len(ids))
            if number_of not in staged:
                staged.add(number_of)
                stage_rows += _stage(number_of, template)
            # Template day `days + lag` is the subject's yesterday.
            shift = (yesterday - REFERENCE).days - template.days - lag
            randomized_on = REFERENCE + dt.timedelta(days=shift)
            subjects.append((
                subject_pk, study.pk, site.pk, f"{study.code}-{site.code}-{number + 1:05d}", template.status,
                study.current_version_id, randomized_on - dt.timedelta(days=120), randomized_on,
                yesterday if template.dead else None, now, 1, "", False,
            ))  # fmt: skip
            mapping.append((subject_pk, study.pk, site.pk, number_of, shift))
            subject_pk += 1
    with connection.cursor() as cursor:
        cursor.execute(STAGING_DDL)
    _copy("subjects_subject", SUBJECT_COLUMNS, subjects)
    _copy("bench_template_visit", STAGE_COLUMNS, stage_rows)
    _copy("bench_subject_template", "subject_id, study_id, site_id, template, shift", mapping)
    with connection.cursor() as cursor:
        cursor.execute(EXPAND_SQL, {"ref": REFERENCE, "now": now})
        visits = cursor.rowcount
        cursor.execute("DROP TABLE bench_template_visit; DROP TABLE bench_subject_template")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('subjects_subject', 'id'), (SELECT max(id) FROM subjects_subject))"
        )
    # Yesterday's scan ran: every site's zone is covered up to yesterday.
    for zone in {site.timezone for site_list in sites.values() for site in site_list}:
        ScanProgress.objects.update_or_create(timezone=zone, defaults={"last_day": yesterday})
    return total, visits


def _stage(number: int, template: Template) -> list[tuple]:
    """The template's visits, dates as day numbers from REFERENCE."""
    from edc.reminders.timeline import window_dates

    def rel(day):
        return None if day is None else (day - REFERENCE).days

    rows = []
    for visit in template.visits:
        dates = window_dates(
            visit.target, visit.window_before, visit.window_after, visit.lead_days, visit.grace_days
        )
        rows.append((
            number, visit.event_code, visit.sequence, visit.name[:200], visit.kind.value, visit.cycle,
            rel(visit.target), visit.window_before, visit.window_after, visit.lead_days, visit.grace_days,
            rel(dates.window_start), rel(dates.window_end), rel(dates.reminder_from), rel(dates.missed_after),
            rel(visit.performed_on), visit.not_done_reason or "",
            visit.cancelled_by.value if visit.cancelled_by else "", visit.reminders_paused,
        ))  # fmt: skip
    return rows


STAGE_COLUMNS = (
    "template, event_code, sequence, name, kind, cycle, target, window_before, window_after, "
    "lead_days, grace_days, window_start, window_end, reminder_from, missed_after, performed_on, "
    "not_done_reason, cancelled_reason, reminders_paused"
)
STAGING_DDL = """
CREATE UNLOGGED TABLE bench_template_visit (
    template int, event_code varchar(20), sequence int, name varchar(200), kind varchar(12),
    cycle int, target int, window_before int, window_after int, lead_days int, grace_days int,
    window_start int, window_end int, reminder_from int, missed_after int, performed_on int,
    not_done_reason varchar(200), cancelled_reason varchar(60), reminders_paused boolean);
CREATE UNLOGGED TABLE bench_subject_template (
    subject_id bigint, study_id bigint, site_id bigint, template int, shift int);
"""
EXPAND_SQL = """
INSERT INTO reminders_plannedvisit (
    subject_id, study_id, site_id, event_code, sequence, name, kind, cycle, target_date,
    window_before, window_after, lead_days, grace_days, window_start, window_end, reminder_from,
    missed_after, performed_on, not_done_reason, cancelled_reason, reminders_paused,
    row_version, created_at, updated_at)
SELECT m.subject_id, m.study_id, m.site_id, t.event_code, t.sequence, t.name, t.kind, t.cycle,
       %(ref)s::date + (t.target + m.shift), t.window_before, t.window_after, t.lead_days,
       t.grace_days, %(ref)s::date + (t.window_start + m.shift),
       %(ref)s::date + (t.window_end + m.shift), %(ref)s::date + (t.reminder_from + m.shift),
       %(ref)s::date + (t.missed_after + m.shift), %(ref)s::date + (t.performed_on + m.shift),
       t.not_done_reason, t.cancelled_reason, t.reminders_paused, 1, %(now)s, %(now)s
  FROM bench_subject_template m JOIN bench_template_visit t ON t.template = m.template
 ORDER BY m.subject_id, t.target, t.event_code, t.sequence
"""


def _next_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
        return cursor.fetchone()[0]


SUBJECT_COLUMNS = (
    "id, study_id, site_id, subject_id, status, protocol_version_id, screening_date, "
    "randomization_date, death_date, created_at, row_version, off_study_reason, "
    "treatment_consent_withdrawn"
)


def _copy(table: str, columns: str, rows) -> None:
    from django.db import connection

    if not rows:
        return
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


if __name__ == "__main__":
    main()
