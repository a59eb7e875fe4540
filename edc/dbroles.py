"""The PostgreSQL roles production runs with, as SQL statements. Pure Python: no Django import.

Two roles:

* the owner (migrator) owns the schema and every table; `manage.py migrate` runs as it;
* the application role is what gunicorn and Celery connect as. It reads and writes the tables
  but never owns one, so it can neither ALTER/DISABLE a trigger nor TRUNCATE; it is no
  superuser, so it cannot set `session_replication_role` (which would silence the triggers);
  and on the append-only tables (the audit trail, the randomization commitments, seeds and
  allocations) it lacks UPDATE and DELETE as well, on top of the triggers that refuse them
  for every role.

Default privileges (ALTER DEFAULT PRIVILEGES FOR ROLE owner) give the application role the
same reach on every table a later migration creates, without TRUNCATE. A later append-only
table gets its refusing triggers from its own migration (edc.audit.triggers); re-running
`create_db_roles --grants-only` after `migrate` also revokes UPDATE and DELETE on it.
"""

from __future__ import annotations

from collections.abc import Iterable

# The append-only tables named by the issue; any other table carrying a `*_no_update` trigger
# (edc.audit.triggers, randomization/migrations/0002) is found in the database and added.
APPEND_ONLY_TABLES = (
    "audit_auditevent",
    "randomization_commitment",
    "randomization_seed",
    "randomization_allocation",
    "randomization_allocationcorrection",
)

# Tables whose triggers are named `<something>_no_update`: the append-only ones.
APPEND_ONLY_QUERY = r"""
SELECT DISTINCT c.relname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgname LIKE '%%\_no\_update' AND n.nspname = %s
ORDER BY 1
"""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def create_role_sql(name: str, password: str | None, *, createdb: bool = False) -> list[str]:
    """Create a login role that is no superuser and cannot create roles; idempotent, and safe
    when two runs race (a role created meanwhile is kept). CREATEDB is only ever added (for
    test runs, which build their own database), never taken from an existing role: another
    run on the same server may be relying on it."""
    attributes = "LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    create = attributes + (" CREATEDB" if createdb else " NOCREATEDB")
    statements = [
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(name)}) THEN
    CREATE ROLE {quote_ident(name)} {create};
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;""",
        f"ALTER ROLE {quote_ident(name)} {attributes}" + (" CREATEDB" if createdb else ""),
    ]
    if password:
        statements.append(f"ALTER ROLE {quote_ident(name)} PASSWORD {quote_literal(password)}")
    return statements


def take_ownership_sql(owner: str, database: str, schema: str, objects: Iterable[tuple]) -> list:
    """Hand the database, the schema and every (kind, name) object in it to the owner role.
    Run by a superuser on a database that migrations built as someone else."""
    statements = [
        f"ALTER DATABASE {quote_ident(database)} OWNER TO {quote_ident(owner)}",
        f"ALTER SCHEMA {quote_ident(schema)} OWNER TO {quote_ident(owner)}",
    ]
    for kind, name in objects:
        statements.append(
            f"ALTER {kind} {quote_ident(schema)}.{name} OWNER TO {quote_ident(owner)}"
        )
    return statements


def grants_sql(
    owner: str, app: str, database: str, schema: str, append_only: Iterable[str]
) -> list[str]:
    """The application role's privileges, now and for tables the owner creates later."""
    o, a, s = quote_ident(owner), quote_ident(app), quote_ident(schema)
    tables = ", ".join(f"{s}.{quote_ident(t)}" for t in sorted(set(append_only)))
    statements = [
        f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {quote_ident(database)} TO {a}",
        f"GRANT USAGE ON SCHEMA {s} TO {a}",
        f"REVOKE CREATE ON SCHEMA {s} FROM {a}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {a}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {s} FROM {a}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {a}",
    ]
    if tables:
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM {a}")
    return statements
