"""Locks at form, subject, site and study level, enforced in the service layer."""

import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied

from edc.audit.models import AuditEvent
from edc.datamanagement import selectors, services
from edc.datamanagement.models import Lock
from edc.errors import DomainError
from edc.studies.models import Study
from tests.datamanagement.conftest import ctx_for, edit_form, make_form
from tests.factories import UserFactory, member, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def forms(site_a, site_b, subject_a, subject_b):
    """Two forms of subject A, one of another subject at site A, one at site B."""
    first = make_form(subject_a)
    second = make_form(subject_a, form_code="eligibility", data={"IELIFE": "Y"})
    neighbour = make_form(screen(site_a))
    elsewhere = make_form(subject_b)
    return {"first": first, "second": second, "neighbour": neighbour, "elsewhere": elsewhere}


def _blocked(forms):
    blocked = set()
    for name, form in forms.items():
        try:
            services.assert_form_writable(form)
        except DomainError as exc:
            assert exc.status == 423 and exc.code == "locked"
            blocked.add(name)
    return blocked


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("form", {"first"}),
        ("subject", {"first", "second"}),
        ("site", {"first", "second", "neighbour"}),
        ("study", {"first", "second", "neighbour", "elsewhere"}),
    ],
)
def test_each_level_blocks_exactly_what_it_covers(level, expected, forms, data_manager):
    first = forms["first"]
    target = {
        "form": first,
        "subject": first.subject,
        "site": first.site,
        "study": first.study,
    }[level]
    assert _blocked(forms) == set()
    lock = services.lock(ctx_for(data_manager), level, target, reason="cleaning done")
    assert _blocked(forms) == expected
    # A form still to be created is covered by every level above the form.
    if level != "form":
        with pytest.raises(DomainError) as caught:
            services.assert_form_writable(first.subject)
        assert caught.value.status == 423
    services.unlock(ctx_for(data_manager), lock, reason="late lab values")
    assert _blocked(forms) == set()


def test_lock_check_is_one_query(forms, data_manager, django_assert_num_queries):
    services.lock(ctx_for(data_manager), "site", forms["first"].site, reason="site closed")
    with django_assert_num_queries(1), pytest.raises(DomainError):
        services.assert_form_writable(forms["second"])
    with django_assert_num_queries(1):
        services.assert_form_writable(forms["elsewhere"])
    with django_assert_num_queries(1), pytest.raises(DomainError):
        services.assert_form_writable(forms["first"].subject)


def test_locked_data_refuses_the_edit_and_keeps_the_value(form_a, data_manager, monitor):
    services.lock(ctx_for(data_manager), "form", form_a, reason="")
    with pytest.raises(DomainError) as caught:
        edit_form(ctx_for(monitor, "typo"), form_a, WEIGHT="99")
    assert caught.value.status == 423
    form_a.refresh_from_db()
    assert form_a.data["WEIGHT"] == "61.5"


def test_a_study_marked_locked_blocks_even_without_a_lock_row(form_a):
    Study.objects.filter(pk=form_a.study_id).update(status="locked")
    with pytest.raises(DomainError) as caught:
        services.assert_form_writable(form_a)
    assert caught.value.status == 423
    assert selectors.form_flags(form_a.subject)[form_a.pk].locked == "study"


def test_only_data_managers_lock_and_unlock(form_a, data_manager, monitor, investigator_a):
    for user in (monitor, investigator_a):
        with pytest.raises(PermissionDenied):
            services.lock(ctx_for(user), "form", form_a, reason="x")
    lock = services.lock(ctx_for(data_manager), "form", form_a, reason="x")
    for user in (monitor, investigator_a):
        with pytest.raises(PermissionDenied):
            services.unlock(ctx_for(user), lock, reason="please")
    assert Lock.objects.get(pk=lock.pk).is_active


def test_a_site_data_manager_cannot_lock_the_whole_study(study, site_a, form_a):
    site_dm = UserFactory(username="site_dm")
    member(site_dm, site_a, "data_manager")
    services.lock(ctx_for(site_dm), "site", site_a, reason="site done")
    with pytest.raises(PermissionDenied):
        services.lock(ctx_for(site_dm), "study", study, reason="all done")


def test_unlock_needs_a_reason_and_is_audited(form_a, data_manager):
    lock = services.lock(ctx_for(data_manager), "form", form_a, reason="reviewed")
    for blank in ("", "   "):
        with pytest.raises(DomainError) as caught:
            services.unlock(ctx_for(data_manager), lock, reason=blank)
        assert caught.value.code == "reason_required"
    assert Lock.objects.get(pk=lock.pk).is_active
    services.unlock(ctx_for(data_manager), lock, reason="site found a transcription error")
    lock.refresh_from_db()
    assert lock.unlocked_by == data_manager and lock.unlock_reason.startswith("site found")
    rows = AuditEvent.objects.filter(object_type="datamanagement.Lock", object_id=str(lock.pk))
    assert [(r.action, r.actor_username, r.reason) for r in rows] == [
        ("lock", "dm", "reviewed"),
        ("unlock", "dm", "site found a transcription error"),
    ]
    with pytest.raises(DomainError) as caught:
        services.unlock(ctx_for(data_manager), lock, reason="again")
    assert caught.value.code == "not_locked"


def test_the_same_target_cannot_be_locked_twice(form_a, data_manager):
    services.lock(ctx_for(data_manager), "subject", form_a.subject)
    with pytest.raises(DomainError) as caught:
        services.lock(ctx_for(data_manager), "subject", form_a.subject)
    assert (caught.value.code, caught.value.status) == ("already_locked", 409)
    # A narrower lock inside it is allowed: it outlives an unlock of the subject.
    services.lock(ctx_for(data_manager), "form", form_a)


def test_unresolved_queries_prevent_locking(form_a, data_manager, monitor):
    query = services.raise_query(ctx_for(monitor), form_a, item_code="WEIGHT", text="Source?")
    with pytest.raises(DomainError) as caught:
        services.lock(ctx_for(data_manager), "site", form_a.site)
    assert (caught.value.code, caught.value.status) == ("open_queries", 409)
    services.act_on_query(ctx_for(monitor), query, "cancel", "raised in error")
    services.lock(ctx_for(data_manager), "site", form_a.site)


def _independent_snapshot_hash(study) -> str:
    forms = []
    for form in study_forms(study):
        forms.append(
            {
                "subject": form.subject.subject_id,
                "event": form.event_code,
                "event_repeat": form.event_repeat,
                "form": form.form_code,
                "form_repeat": form.form_repeat,
                "status": form.status,
                "data": form.data,
            }
        )
    forms.sort(
        key=lambda f: (f["subject"], f["event"], f["event_repeat"], f["form"], f["form_repeat"])
    )
    text = json.dumps(
        {"study": study.code, "forms": forms},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def study_forms(study):
    from crf.models import FormInstance

    return FormInstance.objects.filter(study=study).select_related("subject")


def test_study_lock_records_a_snapshot_and_locks_the_study(study, forms, data_manager):
    assert selectors.study_lock(study) is None
    lock = services.lock(ctx_for(data_manager), "study", study, reason="final analysis")
    study.refresh_from_db()
    assert study.status == "locked"
    found = selectors.study_lock(study)
    assert found.pk == lock.pk and found.snapshot_id is not None and found.locked_at is not None
    assert found.snapshot_form_count == 4
    assert found.snapshot_sha256 == _independent_snapshot_hash(study)
    audited = AuditEvent.objects.filter(object_type="datamanagement.Lock", object_id=str(lock.pk))
    assert {r.item: r.new_value for r in audited}["snapshot_id"] == str(found.snapshot_id)
    status_row = AuditEvent.objects.get(object_type="studies.Study", item="status")
    assert (status_row.old_value, status_row.new_value) == ("open", "locked")

    services.unlock(ctx_for(data_manager), lock, reason="query from the statistician")
    study.refresh_from_db()
    assert study.status == "open" and selectors.study_lock(study) is None
    edit_form(ctx_for(data_manager, "correction"), forms["elsewhere"], WEIGHT="70")
    again = services.lock(ctx_for(data_manager), "study", study, reason="final analysis 2")
    assert again.snapshot_id != lock.snapshot_id
    assert again.snapshot_sha256 != lock.snapshot_sha256
    assert again.snapshot_sha256 == _independent_snapshot_hash(study)
