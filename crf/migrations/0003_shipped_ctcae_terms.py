"""The CTCAE v5.0 terms the seed trials need, so AE forms work before the official sheet is
imported (manage.py import_ctcae replaces them with the official content)."""

from django.db import migrations

from crf.ctcae_table import SHIPPED_TERMS, read_csv


def load_terms(apps, schema_editor):
    CtcaeTerm = apps.get_model("crf", "CtcaeTerm")
    known = set(CtcaeTerm.objects.values_list("meddra_code", flat=True))
    CtcaeTerm.objects.bulk_create(
        CtcaeTerm(
            version="5.0",
            meddra_code=row.meddra_code,
            soc=row.soc,
            term=row.term,
            grades=list(row.grades),
            is_other_specify=row.is_other_specify,
            source=SHIPPED_TERMS.name,
        )
        for row in read_csv(SHIPPED_TERMS)
        if row.meddra_code not in known
    )


class Migration(migrations.Migration):
    dependencies = [("crf", "0002_forms_eligibility_ctcae")]

    operations = [migrations.RunPython(load_terms, migrations.RunPython.noop)]
