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

from edc.audit.models import AuditEvent
from edc.reminders.models import DigestMessage, PlannedVisit, ReminderMessage

_SQLITE_CHUNK = 200


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def clear_rechecks(rows: Sequence[tuple[int, int]]) -> None:
    """rows: (visit id, row_version read). A visit changed since it was read keeps its mark."""
    if not rows:
        return
    table = PlannedVisit._meta.db_table
    with connection.cursor() as cursor:
        if _postgres():
            ids, versions = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"""
                UPDATE {table} AS v SET recheck_on = NULL
                  FROM unnest(%s::bigint[], %s::integer[]) AS d(id, version)
                 WHERE v.id = d.id AND v.row_version = d.version
                """,
                [ids, versions],
            )
            return
        for start in range(0, len(rows), _SQLITE_CHUNK):
            chunk = rows[start : start + _SQLITE_CHUNK]
            condition = " OR ".join(["(id = %s AND row_version = %s)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET recheck_on = NULL WHERE {condition}",
                [value for row in chunk for value in row],
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


def insert_status_audits(
    rows: Sequence[tuple[int, str, str | None, str, int, int, int]], now: dt.datetime
) -> None:
    """One audit row per visit status transition made by the scan (a system change).
    rows: (visit id, item, old status, new status, study id, site id, subject id)."""
    if not rows:
        return
    if not _postgres():
        AuditEvent.objects.bulk_create(
            AuditEvent(
                at=now, channel="system", action="visit_status",
                object_type="reminders.PlannedVisit", object_id=str(visit), item=item,
                old_value=old, new_value=new, study_id=study, site_id=site, subject_id=subject,
            )
            for visit, item, old, new, study, site, subject in rows
        )  # fmt: skip
        return
    visits, items, olds, news, studies, sites, subjects = (list(c) for c in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {AuditEvent._meta.db_table}
                   (at, actor_id, actor_username, channel, action, study_id, site_id, subject_id,
                    object_type, object_id, item, old_value, new_value, reason)
            SELECT %s, NULL, '', 'system', 'visit_status', d.study, d.site, d.subject,
                   'reminders.PlannedVisit', d.visit::text, d.item, to_jsonb(d.old), to_jsonb(d.new), ''
              FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[],
                          %s::bigint[], %s::bigint[], %s::bigint[])
                   AS d(visit, item, old, new, study, site, subject)
            """,
            [now, visits, items, olds, news, studies, sites, subjects],
        )
