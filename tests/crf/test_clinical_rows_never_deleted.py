"""The database itself refuses to delete forms, consents, eligibility waivers and signatures:
clinical data is corrected by new versions, never removed (and the eligibility check at
randomization sums row versions on that ground, crf.selectors._still_signed)."""

import pytest
from django.db import DatabaseError, transaction

from crf.models import EligibilityConfirmation, FormInstance
from edc.subjects.models import Consent
from tests.randomization.helpers import registered_subject


@pytest.mark.parametrize(
    "rows",
    [
        lambda subject: FormInstance.objects.filter(subject=subject),
        lambda subject: Consent.objects.filter(subject=subject),
        lambda subject: EligibilityConfirmation.objects.filter(subject=subject),
    ],
    ids=["form", "consent", "eligibility signature"],
)
def test_the_database_refuses_to_delete_a_clinical_row(site_a, rows):
    subject = registered_subject(site_a)
    before = rows(subject).count()
    assert before > 0
    with (
        pytest.raises(DatabaseError, match="clinical records are never deleted"),
        transaction.atomic(),
    ):
        rows(subject).delete()
    assert rows(subject).count() == before


def test_a_form_still_changes_in_place(site_a):
    subject = registered_subject(site_a)
    form = FormInstance.objects.filter(subject=subject, form_code="eligibility").get()
    FormInstance.objects.filter(pk=form.pk).update(row_version=form.row_version + 1)
    form.refresh_from_db()
    assert form.row_version == 2
