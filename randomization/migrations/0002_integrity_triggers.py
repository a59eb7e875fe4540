"""The database, not the application, keeps randomization records honest, on PostgreSQL and
SQLite alike (mirrors edc/audit/migrations/0002):

* commitments, seeds, allocations and corrections refuse UPDATE and DELETE;
* a live scheme refuses UPDATE and DELETE, so its parameters cannot change after go-live;
* a slot refuses DELETE and any UPDATE except withdrawing it (available true -> false).

TRUNCATE stays possible for the test runner; production roles lack it (manage.py create_db_roles, edc/dbroles.py).
"""

from django.db import migrations

APPEND_ONLY = [
    "randomization_commitment",
    "randomization_seed",
    "randomization_allocation",
    "randomization_allocationcorrection",
]
SCHEME = "randomization_randomizationscheme"
SLOT = "randomization_slot"

POSTGRES_FUNCTIONS = """
CREATE OR REPLACE FUNCTION randomization_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'randomization record is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION randomization_refuse_live_scheme_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'live' THEN
        RAISE EXCEPTION 'randomization scheme is live: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION randomization_guard_slot() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       OR NEW.stratum_id <> OLD.stratum_id OR NEW.sequence <> OLD.sequence
       OR NEW.block_number <> OLD.block_number OR NEW.block_size <> OLD.block_size
       OR NEW.position_in_block <> OLD.position_in_block OR NEW.arm <> OLD.arm
       OR (NEW.available AND NOT OLD.available) THEN
        RAISE EXCEPTION 'randomization slot is fixed: only withdrawal is allowed (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def postgres_up() -> list[str]:
    statements = [POSTGRES_FUNCTIONS]
    for table in APPEND_ONLY:
        statements.append(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION randomization_refuse_change();"
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION randomization_refuse_change();"
        )
    statements.append(
        f"CREATE TRIGGER {SCHEME}_frozen BEFORE UPDATE OR DELETE ON {SCHEME} "
        "FOR EACH ROW EXECUTE FUNCTION randomization_refuse_live_scheme_change();"
    )
    statements.append(
        f"CREATE TRIGGER {SLOT}_fixed BEFORE UPDATE OR DELETE ON {SLOT} "
        "FOR EACH ROW EXECUTE FUNCTION randomization_guard_slot();"
    )
    return statements


def postgres_down() -> list[str]:
    statements = []
    for table in APPEND_ONLY:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_no_update ON {table};")
        statements.append(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table};")
    statements.append(f"DROP TRIGGER IF EXISTS {SCHEME}_frozen ON {SCHEME};")
    statements.append(f"DROP TRIGGER IF EXISTS {SLOT}_fixed ON {SLOT};")
    statements.append("DROP FUNCTION IF EXISTS randomization_refuse_change();")
    statements.append("DROP FUNCTION IF EXISTS randomization_refuse_live_scheme_change();")
    statements.append("DROP FUNCTION IF EXISTS randomization_guard_slot();")
    return statements


def sqlite_up() -> list[str]:
    statements = []
    for table in APPEND_ONLY:
        for op in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'randomization record is append-only: {op} refused'); END;"
            )
    for op in ("UPDATE", "DELETE"):
        statements.append(
            f"CREATE TRIGGER {SCHEME}_frozen_{op.lower()} BEFORE {op} ON {SCHEME} "
            f"WHEN OLD.status = 'live' BEGIN "
            f"SELECT RAISE(ABORT, 'randomization scheme is live: {op} refused'); END;"
        )
    statements.append(
        f"CREATE TRIGGER {SLOT}_no_delete BEFORE DELETE ON {SLOT} BEGIN "
        "SELECT RAISE(ABORT, 'randomization slot is fixed: DELETE refused'); END;"
    )
    statements.append(
        f"CREATE TRIGGER {SLOT}_fixed BEFORE UPDATE ON {SLOT} WHEN "
        "NEW.stratum_id IS NOT OLD.stratum_id OR NEW.sequence IS NOT OLD.sequence "
        "OR NEW.block_number IS NOT OLD.block_number OR NEW.block_size IS NOT OLD.block_size "
        "OR NEW.position_in_block IS NOT OLD.position_in_block OR NEW.arm IS NOT OLD.arm "
        "OR (NEW.available AND NOT OLD.available) BEGIN "
        "SELECT RAISE(ABORT, 'randomization slot is fixed: only withdrawal is allowed'); END;"
    )
    return statements


def sqlite_down() -> list[str]:
    names = [f"{t}_no_{op}" for t in APPEND_ONLY for op in ("update", "delete")]
    names += [f"{SCHEME}_frozen_update", f"{SCHEME}_frozen_delete", f"{SLOT}_no_delete"]
    names += [f"{SLOT}_fixed"]
    return [f"DROP TRIGGER IF EXISTS {name};" for name in names]


def install(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for sql in postgres_up() if postgres else sqlite_up():
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for sql in postgres_down() if postgres else sqlite_down():
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("randomization", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
