"""The append-only trigger SQL, run on an in-memory SQLite database (PostgreSQL is covered by
tests/foundation/test_audit_trail.py through the audit migration)."""

import sqlite3

import pytest

from edc.audit.triggers import append_only_sql, drop_append_only_sql

TABLES = {"ledger": "ledger", "journal": "book"}


def _database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for table in TABLES:
        db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, amount INTEGER)")
        db.execute(f"INSERT INTO {table} (amount) VALUES (1)")
    return db


def test_rows_can_be_added_but_not_changed_or_deleted():
    db = _database()
    for sql in append_only_sql("sqlite", TABLES, function="unused", message="ledger is sealed"):
        db.execute(sql)
    for table in TABLES:
        db.execute(f"INSERT INTO {table} (amount) VALUES (2)")
        with pytest.raises(sqlite3.DatabaseError, match="ledger is sealed: UPDATE refused"):
            db.execute(f"UPDATE {table} SET amount = 5")
        with pytest.raises(sqlite3.DatabaseError, match="ledger is sealed: DELETE refused"):
            db.execute(f"DELETE FROM {table}")
        assert db.execute(f"SELECT amount FROM {table} ORDER BY id").fetchall() == [(1,), (2,)]


def test_triggers_are_named_by_prefix_and_dropped_again():
    db = _database()
    for sql in append_only_sql("sqlite", TABLES, function="unused", message="sealed"):
        db.execute(sql)
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert names == {"ledger_no_update", "ledger_no_delete", "book_no_update", "book_no_delete"}
    for sql in drop_append_only_sql("sqlite", TABLES, function="unused"):
        db.execute(sql)
    db.execute("UPDATE journal SET amount = 7")
    db.execute("DELETE FROM ledger")
    assert db.execute("SELECT amount FROM journal").fetchall() == [(7,)]
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type='trigger'").fetchone() == (0,)


def test_postgres_tables_share_one_function_created_first_and_dropped_last():
    up = append_only_sql("postgresql", TABLES, function="refuse", message="sealed")
    down = drop_append_only_sql("postgresql", TABLES, function="refuse")
    assert "CREATE OR REPLACE FUNCTION refuse()" in up[0] and "'sealed: % refused on %'" in up[0]
    assert sum("EXECUTE FUNCTION refuse();" in sql for sql in up) == 2 * len(TABLES)
    assert "BEFORE DELETE ON journal" in " ".join(up) and "book_no_delete" in " ".join(up)
    assert down[-1] == "DROP FUNCTION IF EXISTS refuse();"
    assert "DROP TRIGGER IF EXISTS book_no_update ON journal;" in down
