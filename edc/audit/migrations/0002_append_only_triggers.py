"""The database itself refuses UPDATE and DELETE on the audit table, on PostgreSQL and SQLite."""

from django.db import migrations

from edc.audit.triggers import append_only_sql, drop_append_only_sql

TABLES = {"audit_auditevent": "audit"}
FUNCTION = "audit_refuse_change"


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    message = "audit trail is append-only"
    for sql in append_only_sql(vendor, TABLES, function=FUNCTION, message=message):
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):
    for sql in drop_append_only_sql(schema_editor.connection.vendor, TABLES, function=FUNCTION):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
