"""SQL that makes tables append-only in the database itself, on PostgreSQL and SQLite. Pure Python.

Migrations run these statements one by one (schema_editor.execute), so whatever reaches the
database, through the application or not, cannot UPDATE or DELETE a row. TRUNCATE is left to
privileges (manage.py create_db_roles, edc/dbroles.py): the test runner empties tables with it between tests.

`tables` maps each table to the prefix of its trigger names (`<prefix>_no_update`,
`<prefix>_no_delete`); on PostgreSQL the tables share one trigger function, `function`.
`operations` narrows what is refused: clinical records change (UPDATE) but are never deleted,
so their tables refuse DELETE only.
"""

from __future__ import annotations

from collections.abc import Mapping

OPERATIONS = ("UPDATE", "DELETE")


def _refuse_function(function: str, message: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{message}: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_sql(
    vendor: str,
    tables: Mapping[str, str],
    *,
    function: str,
    message: str,
    operations: tuple[str, ...] = OPERATIONS,
) -> list[str]:
    """Statements that refuse `operations` (UPDATE and DELETE) on `tables`, naming `message`
    in the error."""
    if vendor == "postgresql":
        return [_refuse_function(function, message)] + [
            f"CREATE TRIGGER {prefix}_no_{op.lower()} BEFORE {op} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}();"
            for table, prefix in tables.items()
            for op in operations
        ]
    return [
        f"CREATE TRIGGER {prefix}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{message}: {op} refused'); END;"
        for table, prefix in tables.items()
        for op in operations
    ]


def drop_append_only_sql(
    vendor: str,
    tables: Mapping[str, str],
    *,
    function: str,
    operations: tuple[str, ...] = OPERATIONS,
) -> list[str]:
    """The statements that undo `append_only_sql`."""
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {prefix}_no_{op.lower()} ON {table};"
            for table, prefix in tables.items()
            for op in operations
        ] + [f"DROP FUNCTION IF EXISTS {function}();"]
    return [
        f"DROP TRIGGER IF EXISTS {prefix}_no_{op.lower()};"
        for prefix in tables.values()
        for op in operations
    ]


def delete_refusal(tables: Mapping[str, str], *, function: str, message: str):
    """(install, remove) for a migration's RunPython: the database refuses DELETE on `tables`
    (clinical records change by new versions, never by removal), naming `message`."""
    only_delete = ("DELETE",)

    def install(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        for sql in append_only_sql(
            vendor, tables, function=function, message=message, operations=only_delete
        ):
            schema_editor.execute(sql, params=None)

    def remove(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        for sql in drop_append_only_sql(vendor, tables, function=function, operations=only_delete):
            schema_editor.execute(sql, params=None)

    return install, remove
