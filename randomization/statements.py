"""The one allocation statement written in SQL: lock the stratum and take its next usable slot.

Why SQL: the ORM's ``update()`` returns a row count, not the row, and cannot set a column from
a subquery over another table while returning what it set. The same work through querysets
would be a ``select_for_update`` read, a slot read and an update, three statements where the
database does it in one, and it would wait on a SELECT, which the withdrawal-race test
(``tests/randomization/test_concurrency.py``) watches for as an UPDATE on the stratum. Every
other read and write of an allocation goes through the ORM.
"""

from __future__ import annotations

from django.db import connection

from randomization.models import Slot, Stratum

_STRATUM = Stratum._meta.db_table
_SLOT = Slot._meta.db_table
# What the allocation reads of the stratum; ``values`` (JSON) is left deferred.
_RETURNED = (
    "id",
    "scheme_id",
    "key",
    "site_id",
    "next_sequence",
    "slots_total",
    "alerted_80",
    "alerted_100",
)
_USABLE = (
    f'FROM "{_SLOT}" s WHERE s."stratum_id" = "{_STRATUM}"."id" '
    f'AND s."sequence" >= "{_STRATUM}"."next_sequence" AND s."available"'
)
_TAKEN = (
    f'FROM "{_SLOT}" s WHERE s."stratum_id" = "{_STRATUM}"."id" '
    f'AND s."sequence" = "{_STRATUM}"."next_sequence" - 1'
)
# The UPDATE locks the stratum's row itself. When it has waited for another allocation's lock,
# PostgreSQL re-checks the row it then updates with the other's cursor; the slot subqueries are
# scalar (a join would be re-checked against the slot it found before waiting, not searched
# again), so they run again from the new cursor. Their slots are read as of the statement's
# start, so a withdrawal that committed while it waited is not seen here: the caller reads its
# slot again afterwards (``slot_still_available``). The table is named, not aliased: SQLite's
# RETURNING does not see an alias.
_NEXT_USABLE = f'(SELECT MIN(s."sequence") {_USABLE})'
_RETURNED_COLUMNS = ", ".join(f'"{_STRATUM}"."{name}"' for name in _RETURNED)
_TAKE_NEXT_SLOT = (
    f'UPDATE "{_STRATUM}" SET "next_sequence" = {_NEXT_USABLE} + 1 '
    f'WHERE "scheme_id" = %s AND "key" = %s AND {_NEXT_USABLE} IS NOT NULL '
    f"RETURNING {_RETURNED_COLUMNS}, "
    f'(SELECT s."id" {_TAKEN}), (SELECT s."arm" {_TAKEN})'
)


def take_next_slot(scheme_id: int, key: str) -> tuple[Stratum, int, str] | None:
    """Lock the stratum's row and move its cursor past its first usable slot, in one statement;
    return (stratum, slot id, arm), the slot's sequence being ``stratum.next_sequence - 1``.
    None when there is no such stratum or its list looks used up: the caller then locks the
    stratum to tell which, and a second call, with the row already locked, reads the slots
    afresh."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_NEXT_SLOT, [scheme_id, key])
        row = cursor.fetchone()
    if row is None:
        return None
    stratum = Stratum.from_db(connection.alias, _RETURNED, row[: len(_RETURNED)])
    return stratum, row[-2], row[-1]


def slot_still_available(slot_id: int) -> bool:
    """The slot has not been withdrawn, read in a statement of its own: with the stratum locked
    by now, it sees any withdrawal committed while ``take_next_slot`` waited for the lock."""
    return Slot.objects.filter(pk=slot_id, available=True).exists()
