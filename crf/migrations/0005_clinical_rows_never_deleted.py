"""The database refuses DELETE on forms, eligibility waivers and eligibility signatures, on
PostgreSQL and SQLite: clinical data is corrected by new versions, never removed. The
eligibility check at randomization relies on it (a form's row version only ever rises, and no
row disappears, so the sum of row versions changes whenever any of them does)."""

from django.db import migrations

from edc.audit.triggers import append_only_sql, drop_append_only_sql

TABLES = {
    "crf_forminstance": "crf_form",
    "crf_eligibilitywaiver": "crf_waiver",
    "crf_eligibilityconfirmation": "crf_confirmation",
}
FUNCTION = "crf_refuse_delete"
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
    dependencies = [("crf", "0004_lab_normal_ranges")]
    operations = [migrations.RunPython(install, remove)]
