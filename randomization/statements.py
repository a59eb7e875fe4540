"""The allocation's reads and writes as plain SQL (PostgreSQL and SQLite).

An allocation is one short transaction, and the API is CPU-bound: compiling its ORM querysets
cost more than the database spent running them (``make bench-randomize``). So the statements
of the hot path are written out here once; ``edc.rows`` runs them and turns their rows into the
same model instances a queryset would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import connection

from edc.rows import columns, execute, fetchone, instance, table, width
from edc.studies.models import Site, Study
from edc.subjects.models import Subject
from randomization.models import Allocation, RandomizationScheme, Slot, Stratum


@dataclass(frozen=True)
class Candidate:
    """A subject about to be randomized, with its study, site and the study's scheme (None
    before go-live), and the id of its allocation if it already has one."""

    subject: Subject
    scheme: RandomizationScheme | None
    allocation_id: int | None


# What an allocation never reads (a timestamp costs a Python loader per value, JSON a parse);
# loaded from the database if something does.
_SUBJECT_DEFER = ("created_at",)
_SCHEME_DEFER = ("created_at", "went_live_at")
_STRATUM_DEFER = ("values",)


@lru_cache(maxsize=2)
def _candidate_sql(by_code: bool) -> str:
    where = 'st."code" = %s AND s."subject_id" = %s' if by_code else 's."id" = %s'
    return (
        f"SELECT {columns(Subject, 's', _SUBJECT_DEFER)}, {columns(Study, 'st')}, "
        f'{columns(Site, "si")}, {columns(RandomizationScheme, "sc", _SCHEME_DEFER)}, a."id" '
        f"FROM {table(Subject)} s "
        f'JOIN {table(Study)} st ON st."id" = s."study_id" '
        f'JOIN {table(Site)} si ON si."id" = s."site_id" '
        f'LEFT JOIN {table(RandomizationScheme)} sc ON sc."study_id" = st."id" '
        f'LEFT JOIN {table(Allocation)} a ON a."subject_id" = s."id" '
        f"WHERE {where}"
    )


def candidate(
    *, pk: int | None = None, study_code: str = "", subject_id: str = ""
) -> Candidate | None:
    """One statement: by primary key, or by study code and study-scoped subject ID."""
    by_code = pk is None
    row = fetchone(_candidate_sql(by_code), [study_code, subject_id] if by_code else [pk])
    if row is None:
        return None
    subject = instance(Subject, row, defer=_SUBJECT_DEFER)
    at = width(Subject, _SUBJECT_DEFER)
    subject.study = instance(Study, row, at)
    at += width(Study)
    subject.site = instance(Site, row, at)
    at += width(Site)
    scheme = None
    if row[at] is not None:
        scheme = instance(RandomizationScheme, row, at, defer=_SCHEME_DEFER)
        scheme.study = subject.study
    return Candidate(subject, scheme, row[-1])


@lru_cache(maxsize=2)
def _lock_stratum_sql(for_update: bool) -> str:
    sql = f'SELECT "id", "slots_total" FROM {table(Stratum)} WHERE "scheme_id" = %s AND "key" = %s'
    # SQLite has no row locks: its write transactions are serialized as a whole.
    return sql + " FOR UPDATE" if for_update else sql


def lock_stratum(scheme_id: int, key: str) -> tuple[int, int] | None:
    """The stratum's id and list length, its row locked until the transaction ends:
    allocations into one stratum take turns from here to their commit. None when there is no
    such stratum."""
    return fetchone(_lock_stratum_sql(connection.features.has_select_for_update), [scheme_id, key])


# The UPDATE's table is named, not aliased: SQLite's RETURNING does not see an alias, and
# PostgreSQL no longer sees the name once it is aliased.
_STRATUM = table(Stratum)
_USABLE = (
    f'FROM {table(Slot)} s WHERE s."stratum_id" = {_STRATUM}."id" '
    f'AND s."sequence" >= {_STRATUM}."next_sequence" AND s."available"'
)
_TAKEN = (
    f'FROM {table(Slot)} s WHERE s."stratum_id" = {_STRATUM}."id" '
    f'AND s."sequence" = {_STRATUM}."next_sequence" - 1'
)
# The usual case in one statement: the UPDATE locks the stratum's row itself. When it has waited
# for another allocation's lock, PostgreSQL re-checks the row it then updates with the other's
# cursor; the slot subqueries are scalar (a join would be re-checked against the slot it found
# before waiting, not searched again), so they run again from the new cursor. Their slots are
# read as of the statement's start, and a withdrawal that committed while it waited is not
# seen: the allocation's INSERT checks its slot again (``slot_still_available``).
_NEXT_USABLE = f'(SELECT MIN(s."sequence") {_USABLE})'
_TAKE_NEXT_SLOT = (
    f'UPDATE {_STRATUM} SET "next_sequence" = {_NEXT_USABLE} + 1 '
    f'WHERE "scheme_id" = %s AND "key" = %s AND {_NEXT_USABLE} IS NOT NULL '
    f"RETURNING {columns(Stratum, _STRATUM, _STRATUM_DEFER)}, "
    f'(SELECT s."id" {_TAKEN}), (SELECT s."arm" {_TAKEN})'
)


def take_next_slot(scheme_id: int, key: str) -> tuple[Stratum, int, str] | None:
    """Lock the stratum's row and move its cursor past its first usable slot, in one statement;
    return (stratum, slot id, arm), the slot's sequence being ``stratum.next_sequence - 1``.
    None when there is no such stratum or its list looks used up: ``lock_stratum`` then tells
    which, and a second call, with the row already locked, reads the slots afresh."""
    row = fetchone(_TAKE_NEXT_SLOT, [scheme_id, key])
    if row is None:
        return None
    return instance(Stratum, row, defer=_STRATUM_DEFER), row[-2], row[-1]


def slot_still_available(slot_id: int) -> tuple[str, list]:
    """The condition, for ``edc.rows.insert(only_if=...)``, that a slot has not been withdrawn
    (read when the statement runs, with the stratum locked)."""
    return f'EXISTS (SELECT 1 FROM {table(Slot)} s WHERE s."id" = %s AND s."available")', [slot_id]


_TAKE_SEQUENCE = (
    f'UPDATE {_STRATUM} SET "next_sequence" = "next_sequence" + 1 '
    f'WHERE "scheme_id" = %s AND "key" = %s RETURNING {columns(Stratum, _STRATUM, _STRATUM_DEFER)}'
)


def take_sequence(scheme_id: int, key: str) -> Stratum | None:
    """For minimization, which has no list: the stratum with its cursor moved on by one (the
    allocation's sequence is ``next_sequence - 1``), its row locked until the transaction
    ends. A plain counter: a waiting UPDATE increments the row its predecessor committed."""
    row = fetchone(_TAKE_SEQUENCE, [scheme_id, key])
    return None if row is None else instance(Stratum, row, defer=_STRATUM_DEFER)


_SAVE_ALERTS = f'UPDATE {table(Stratum)} SET "alerted_80" = %s, "alerted_100" = %s WHERE "id" = %s'


def save_alerts(stratum: Stratum) -> None:
    execute(_SAVE_ALERTS, [stratum.alerted_80, stratum.alerted_100, stratum.pk])
