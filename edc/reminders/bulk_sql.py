"""Set-based writes of the reminder scan: one statement each on PostgreSQL, whatever the number
of rows, so the scan's query count does not grow with the number of subjects.

INSERT … ON CONFLICT DO NOTHING RETURNING id reports only the rows this transaction inserted:
a concurrent scan that inserted the same (visit, transition) first makes ours return nothing
for it, which is how each message is sent exactly once. The embedded SQLite database takes the
same statements in chunks (it limits bound variables).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection

from edc.reminders.models import DigestMessage, PlannedVisit, ReminderMessage

_SQLITE_CHUNK = 200


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def update_statuses(
    rows: Sequence[tuple[int, str, dt.date | None, dt.date | None]], now: dt.datetime
) -> None:
    """rows: (visit id, status, status_changed_on, next_check_on)."""
    if not rows:
        return
    table = PlannedVisit._meta.db_table
    with connection.cursor() as cursor:
        if _postgres():
            ids, statuses, changed, checks = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"""
                UPDATE {table} AS v
                   SET status = d.status, status_changed_on = d.changed,
                       next_check_on = d.next_check, updated_at = %s
                  FROM unnest(%s::bigint[], %s::varchar[], %s::date[], %s::date[])
                       AS d(id, status, changed, next_check)
                 WHERE v.id = d.id
                """,
                [now, ids, statuses, changed, checks],
            )
            return
        for start in range(0, len(rows), _SQLITE_CHUNK):
            chunk = rows[start : start + _SQLITE_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            params = [value for row in chunk for value in row]
            cursor.execute(
                f"""
                WITH d(id, status, changed, next_check) AS (VALUES {values})
                UPDATE {table}
                   SET status = (SELECT status FROM d WHERE d.id = {table}.id),
                       status_changed_on = (SELECT changed FROM d WHERE d.id = {table}.id),
                       next_check_on = (SELECT next_check FROM d WHERE d.id = {table}.id),
                       updated_at = %s
                 WHERE id IN (SELECT id FROM d)
                """,
                [*params, now],
            )


def insert_messages(
    rows: Sequence[tuple[int, str, int]], day: dt.date, now: dt.datetime
) -> list[int]:
    """rows: (visit id, transition, site id). Returns the ids of the rows inserted here."""
    if not rows:
        return []
    table = ReminderMessage._meta.db_table
    columns = "visit_id, transition, site_id, day, state, created_at, recipients, note"
    with connection.cursor() as cursor:
        if _postgres():
            visits, transitions, sites = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"""
                INSERT INTO {table} ({columns})
                SELECT d.visit, d.transition, d.site, %s, 'pending', %s, '[]'::jsonb, ''
                  FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[]) AS d(visit, transition, site)
                ON CONFLICT (visit_id, transition) DO NOTHING
                RETURNING id
                """,
                [day, now, visits, transitions, sites],
            )
            return [row[0] for row in cursor.fetchall()]
        inserted: list[int] = []
        for start in range(0, len(rows), _SQLITE_CHUNK):
            chunk = rows[start : start + _SQLITE_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, 'pending', %s, '[]', '')"] * len(chunk))
            params = [
                v for visit, transition, site in chunk for v in (visit, transition, site, day, now)
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "
                "ON CONFLICT (visit_id, transition) DO NOTHING RETURNING id",
                params,
            )
            inserted += [row[0] for row in cursor.fetchall()]
        return inserted


def insert_digests(rows: Sequence[tuple[int, int]], day: dt.date, now: dt.datetime) -> list[int]:
    """rows: (site id, overdue count). Returns the ids of the digests inserted here."""
    if not rows:
        return []
    table = DigestMessage._meta.db_table
    values = ", ".join(["(%s, %s, 'pending', %s, '[]', %s, '')"] * len(rows))
    params = [v for site, items in rows for v in (site, day, now, items)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (site_id, day, state, created_at, recipients, items, note) "
            f"VALUES {values} ON CONFLICT (site_id, day) DO NOTHING RETURNING id",
            params,
        )
        return [row[0] for row in cursor.fetchall()]
