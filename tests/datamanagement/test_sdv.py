"""Source data verification: monitors verify forms and items; edits clear it, audited."""

from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied

from edc.audit.models import AuditEvent
from edc.datamanagement import selectors, services
from edc.datamanagement.models import SourceVerification
from edc.errors import DomainError
from tests.datamanagement.conftest import ctx_for, edit_form, make_form

pytestmark = pytest.mark.django_db


def test_monitor_verifies_form_and_items_once(form_a, monitor):
    made = services.verify_source(ctx_for(monitor), form_a)
    assert [(v.item_code, v.verified_by) for v in made] == [("", monitor)]
    made = services.verify_source(ctx_for(monitor), form_a, ["WEIGHT", "SEX", "WEIGHT"])
    assert sorted(v.item_code for v in made) == ["SEX", "WEIGHT"]
    assert services.verify_source(ctx_for(monitor), form_a, ["SEX"]) == []
    assert SourceVerification.objects.count() == 3
    audited = AuditEvent.objects.filter(action="sdv")
    assert sorted(r.item for r in audited) == ["SEX", "WEIGHT", "form"]
    assert {r.actor_username for r in audited} == {"monitor"}
    flags = selectors.form_flags(form_a.subject)[form_a.pk]
    assert (flags.sdv, flags.sdv_items) == (True, 2)
    detail = selectors.item_flags(form_a)
    assert detail.form_sdv is not None
    assert detail.item("WEIGHT").sdv and not detail.item("BRTHDAT").sdv


def test_only_monitors_verify(form_a, coordinator_a, investigator_a, data_manager):
    for user in (coordinator_a, investigator_a, data_manager):
        with pytest.raises(PermissionDenied):
            services.verify_source(ctx_for(user), form_a)
    assert not SourceVerification.objects.exists()


def test_unknown_items_and_incomplete_forms_are_refused(subject_a, monitor):
    draft = make_form(subject_a, status="in_progress")
    with pytest.raises(DomainError) as caught:
        services.verify_source(ctx_for(monitor), draft)
    assert (caught.value.code, caught.value.status) == ("not_complete", 409)
    complete = make_form(subject_a, form_code="eligibility", data={"IELIFE": "Y"})
    with pytest.raises(DomainError) as caught:
        services.verify_source(ctx_for(monitor), complete, ["WEIGHT"])
    assert caught.value.code == "unknown_item"


def test_editing_verified_data_clears_the_flags_it_touches(form_a, monitor, coordinator_a):
    services.verify_source(ctx_for(monitor), form_a)
    services.verify_source(ctx_for(monitor), form_a, ["WEIGHT", "SEX"])
    edit_form(ctx_for(coordinator_a, "scale recalibrated"), form_a, WEIGHT="60.9")
    current = SourceVerification.objects.filter(cleared_at__isnull=True)
    assert list(current.values_list("item_code", flat=True)) == ["SEX"]
    cleared = SourceVerification.objects.filter(cleared_at__isnull=False)
    assert sorted(cleared.values_list("item_code", flat=True)) == ["", "WEIGHT"]
    rows = AuditEvent.objects.filter(action="sdv_cleared")
    assert sorted((r.item, r.reason, r.actor_username) for r in rows) == [
        ("WEIGHT", "scale recalibrated", "coord_a"),
        ("form", "scale recalibrated", "coord_a"),
    ]
    # The monitor can verify again; the history keeps the cleared rows.
    services.verify_source(ctx_for(monitor), form_a, ["WEIGHT"])
    assert SourceVerification.objects.filter(item_code="WEIGHT").count() == 2


@dataclass(frozen=True)
class ItemChange:
    """Shaped like the CRF's change rows: the save path may pass them as they are."""

    item: str
    old: object
    new: object


def test_group_row_paths_and_change_rows_clear_the_item_verification(subject_a, monitor):
    form = make_form(subject_a)
    services.verify_source(ctx_for(monitor), form, ["WEIGHT", "SEX"])
    services.after_form_change(ctx_for(monitor, "x"), form, ["lesions[2].WEIGHT"])
    current = SourceVerification.objects.filter(cleared_at__isnull=True)
    assert list(current.values_list("item_code", flat=True)) == ["SEX"]
    services.after_form_change(ctx_for(monitor, "x"), form, [ItemChange("SEX", "F", "M")])
    assert not current.exists()


def test_form_flags_is_one_query_for_a_whole_casebook(
    subject_a, monitor, django_assert_num_queries
):
    forms = [make_form(subject_a, event_code=f"V{n}") for n in range(6)]
    services.verify_source(ctx_for(monitor), forms[0])
    with django_assert_num_queries(1):
        flags = selectors.form_flags(subject_a)
    assert set(flags) == {f.pk for f in forms}
    assert [flags[f.pk].sdv for f in forms] == [True, False, False, False, False, False]
    with django_assert_num_queries(2):
        selectors.item_flags(forms[0])


def test_verifying_locked_data_is_refused(form_a, monitor, data_manager):
    services.lock(ctx_for(data_manager), "form", form_a)
    with pytest.raises(DomainError) as caught:
        services.verify_source(ctx_for(monitor), form_a)
    assert caught.value.status == 423
    assert not SourceVerification.objects.exists()
