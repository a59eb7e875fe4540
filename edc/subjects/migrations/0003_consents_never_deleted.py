"""The database refuses DELETE on consents, on PostgreSQL and SQLite: clinical data is
corrected by new versions, never removed. The eligibility check at randomization relies on it
(a consent's row version only ever rises, and no row disappears, so the sum of row versions
changes whenever any of them does)."""

from django.db import migrations

from edc.audit.triggers import delete_refusal

install, remove = delete_refusal(
    {"subjects_consent": "subjects_consent"},
    function="subjects_refuse_delete",
    message="clinical records are never deleted",
)


class Migration(migrations.Migration):
    dependencies = [("subjects", "0002_status_labels")]
    operations = [migrations.RunPython(install, remove)]
