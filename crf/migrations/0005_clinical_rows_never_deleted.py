"""The database refuses DELETE on forms, eligibility waivers and eligibility signatures, on
PostgreSQL and SQLite: clinical data is corrected by new versions, never removed. The
eligibility check at randomization relies on it (a form's row version only ever rises, and no
row disappears, so the sum of row versions changes whenever any of them does)."""

from django.db import migrations

from edc.audit.triggers import delete_refusal

install, remove = delete_refusal(
    {
        "crf_forminstance": "crf_form",
        "crf_eligibilitywaiver": "crf_waiver",
        "crf_eligibilityconfirmation": "crf_confirmation",
    },
    function="crf_refuse_delete",
    message="clinical records are never deleted",
)


class Migration(migrations.Migration):
    dependencies = [("crf", "0004_lab_normal_ranges")]
    operations = [migrations.RunPython(install, remove)]
