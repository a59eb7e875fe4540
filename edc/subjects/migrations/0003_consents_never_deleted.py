"""The database refuses DELETE on consents, on PostgreSQL and SQLite: clinical data is
corrected by new versions, never removed. The eligibility check at randomization relies on it
(a consent's row version only ever rises, and no row disappears, so the sum of row versions
changes whenever any of them does)."""

from django.db import migrations

from edc.audit.triggers import append_only_sql, drop_append_only_sql

TABLES = {"subjects_consent": "subjects_consent"}
FUNCTION = "subjects_refuse_delete"
DELETE_ONLY = ("DELETE",)


def install(apps, schema_editor):
    for sql in append_only_sql(
        schema_editor.connection.vendor,
        TABLES,
        function=FUNCTION,
        message="clinical records are never deleted",
        operations=DELETE_ONLY,
    ):
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):
    for sql in drop_append_only_sql(
        schema_editor.connection.vendor, TABLES, function=FUNCTION, operations=DELETE_ONLY
    ):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("subjects", "0002_status_labels")]
    operations = [migrations.RunPython(install, remove)]
