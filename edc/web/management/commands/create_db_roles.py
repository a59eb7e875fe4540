"""Create the owner (migrator) and application roles on PostgreSQL and set their privileges.

    # once, as a superuser (DATABASE_URL names a superuser): roles, ownership, privileges
    EDC_DB_OWNER_PASSWORD=... EDC_DB_APP_PASSWORD=... manage.py create_db_roles
    # after every migrate, as the owner (no superuser needed): privileges of new tables
    DATABASE_URL=$DATABASE_MIGRATE_URL manage.py create_db_roles --grants-only

See edc/dbroles.py for what each role may do and why.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

from edc import dbroles

OBJECTS_QUERY = """
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                      WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
       quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  -- a sequence behind an identity or serial column follows its table
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT 'FUNCTION', quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %s
ORDER BY 1, 2
"""


class Command(BaseCommand):
    # A bootstrap step run as a superuser on purpose: the superuser warning would only be noise.
    requires_system_checks: list = []
    help = (
        "Create the PostgreSQL owner (migrator) and application roles and grant the "
        "application role what it needs and nothing that could change the audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="Django database alias")
        parser.add_argument("--owner", default=os.environ.get("EDC_DB_OWNER", "edc_owner"))
        parser.add_argument("--app", default=os.environ.get("EDC_DB_APP", "edc_app"))
        parser.add_argument("--schema", default="public")
        parser.add_argument(
            "--grants-only",
            action="store_true",
            help="only (re)apply privileges; run as the owner after migrate",
        )
        parser.add_argument(
            "--roles-only",
            action="store_true",
            help="only create the roles (cluster-wide), e.g. before the database exists",
        )
        parser.add_argument(
            "--owner-createdb",
            action="store_true",
            help="let the owner create databases (test runs build their own database)",
        )

    def handle(self, *args, database, owner, app, schema, grants_only, roles_only, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("create_db_roles: the database is not PostgreSQL")
        if owner == app:
            raise CommandError("--owner and --app must be two different roles")
        db_name = connection.settings_dict["NAME"]
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            me, superuser = cursor.fetchone()
            if not grants_only and not superuser:
                if me != owner:
                    raise CommandError(
                        f"{me} is neither a superuser nor the owner {owner}: run as a superuser, "
                        "or as the owner with --grants-only"
                    )
                # The owner itself (a test run, a restore by the owner): the roles exist
                # already, so only the privileges are left to set.
                cursor.execute(
                    "SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", [owner, app]
                )
                if cursor.fetchone()[0] != 2:
                    raise CommandError(
                        f"the roles {owner} and {app} do not exist: run as a superuser"
                    )
                grants_only = True
            if not grants_only:
                for statement in (
                    dbroles.create_role_sql(
                        owner,
                        os.environ.get("EDC_DB_OWNER_PASSWORD"),
                        createdb=options["owner_createdb"],
                    )
                    + dbroles.create_role_sql(app, os.environ.get("EDC_DB_APP_PASSWORD"))
                    # The application role must never act as the owner.
                    + [f"REVOKE {dbroles.quote_ident(owner)} FROM {dbroles.quote_ident(app)}"]
                ):
                    cursor.execute(statement)
            if roles_only:
                self.stdout.write(
                    self.style.SUCCESS(f"roles ready: owner {owner}, application {app}")
                )
                return
            if not grants_only and me != owner:
                cursor.execute(OBJECTS_QUERY, [schema, schema])
                for statement in dbroles.take_ownership_sql(
                    owner, db_name, schema, cursor.fetchall()
                ):
                    cursor.execute(statement)
            cursor.execute(dbroles.APPEND_ONLY_QUERY, [schema])
            found = {name for (name,) in cursor.fetchall()}
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
                [schema, list(dbroles.APPEND_ONLY_TABLES)],
            )
            append_only = found | {name for (name,) in cursor.fetchall()}
            for statement in dbroles.grants_sql(owner, app, db_name, schema, append_only):
                cursor.execute(statement)
            self.stdout.write(
                f"append-only for {app}: {', '.join(sorted(append_only)) or 'none yet'}"
            )
        self.stdout.write(self.style.SUCCESS(f"roles ready: owner {owner}, application {app}"))
