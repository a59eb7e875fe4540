"""Queries through the service: the thread, roles, edit-check queries and counts."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from edc.accounts.scoping import scope_of
from edc.audit.models import AuditEvent
from edc.datamanagement import selectors, services
from edc.datamanagement.models import Query
from edc.errors import DomainError
from tests.datamanagement.conftest import ctx_for, make_form
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def test_a_query_lives_through_its_thread(form_a, monitor, coordinator_a, data_manager):
    query = services.raise_query(
        ctx_for(monitor), form_a, item_code="WEIGHT", text="Weight differs from the chart (64 kg)?"
    )
    assert (query.status, query.source, query.raised_by) == ("open", "manual", monitor)
    steps = [
        (coordinator_a, "answer", "Chart says 61.5; 64 was another visit", "answered"),
        (monitor, "requery", "Please attach the page number", "open"),
        (coordinator_a, "answer", "Page 12", "answered"),
        (data_manager, "close", "", "closed"),
    ]
    for user, action, text, expected in steps:
        query = services.act_on_query(ctx_for(user), query, action, text)
        assert query.status == expected
    assert query.closed_at is not None
    thread = selectors.query_thread(query)
    assert [(m.action, m.author) for m in thread] == [
        ("raise", monitor),
        ("answer", coordinator_a),
        ("requery", monitor),
        ("answer", coordinator_a),
        ("close", data_manager),
    ]
    assert thread[1].text.startswith("Chart says")
    audited = AuditEvent.objects.filter(object_type="datamanagement.Query", object_id=str(query.pk))
    assert [(r.action, r.old_value, r.new_value) for r in audited] == [
        ("query_opened", None, "open"),
        ("query_answer", "open", "answered"),
        ("query_requery", "answered", "open"),
        ("query_answer", "open", "answered"),
        ("query_close", "answered", "closed"),
    ]


def test_roles_decide_who_raises_and_who_answers(form_a, monitor, coordinator_a, investigator_a):
    with pytest.raises(PermissionDenied):
        services.raise_query(ctx_for(coordinator_a), form_a, item_code="WEIGHT", text="?")
    query = services.raise_query(ctx_for(monitor), form_a, item_code="SEX", text="Check sex")
    with pytest.raises(PermissionDenied):
        services.act_on_query(ctx_for(monitor), query, "answer", "I answer myself")
    with pytest.raises(PermissionDenied):
        services.act_on_query(ctx_for(coordinator_a), query, "cancel", "go away")
    services.act_on_query(ctx_for(investigator_a), query, "answer", "Confirmed F")
    with pytest.raises(PermissionDenied):
        services.act_on_query(ctx_for(coordinator_a), query, "close")


def test_illegal_steps_and_missing_text_are_refused(form_a, monitor, coordinator_a):
    query = services.raise_query(ctx_for(monitor), form_a, item_code="SEX", text="Check")
    with pytest.raises(DomainError) as caught:
        services.act_on_query(ctx_for(monitor), query, "close")
    assert (caught.value.code, caught.value.status) == ("illegal_transition", 409)
    with pytest.raises(DomainError) as caught:
        services.act_on_query(ctx_for(coordinator_a), query, "answer", " ")
    assert caught.value.field == "text"
    with pytest.raises(DomainError):
        services.act_on_query(ctx_for(monitor), query, "cancel", "")
    services.act_on_query(ctx_for(monitor), query, "cancel", "duplicate of another query")
    with pytest.raises(DomainError) as caught:
        services.act_on_query(ctx_for(coordinator_a), query, "answer", "late")
    assert caught.value.code == "illegal_transition"
    with pytest.raises(DomainError):
        services.act_on_query(ctx_for(monitor), query, "reopen", "x")
    assert Query.objects.get(pk=query.pk).status == "cancelled"


def test_raise_checks_item_row_and_assignee(subject_a, site_b, monitor, coordinator_a):
    form = make_form(subject_a)
    with pytest.raises(DomainError) as caught:
        services.raise_query(ctx_for(monitor), form, item_code="NOPE", text="?")
    assert caught.value.code == "unknown_item"
    with pytest.raises(DomainError) as caught:
        services.raise_query(ctx_for(monitor), form, item_code="WEIGHT", text="?", group_row=2)
    assert caught.value.code == "not_in_group"
    with pytest.raises(DomainError) as caught:
        services.raise_query(ctx_for(monitor), form, item_code="WEIGHT", text="?", assignee=monitor)
    assert caught.value.code == "invalid_assignee"
    other_site_staff = UserFactory(username="coord_b")
    member(other_site_staff, site_b, "site_staff")
    with pytest.raises(DomainError) as caught:
        services.raise_query(
            ctx_for(monitor), form, item_code="WEIGHT", text="?", assignee=other_site_staff
        )
    assert caught.value.code == "invalid_assignee"
    query = services.raise_query(
        ctx_for(monitor), form, item_code="WEIGHT", text="?", assignee=coordinator_a
    )
    assert query.assignee == coordinator_a
    assert list(selectors.users_who_answer(form.study_id, form.site_id)) == [coordinator_a]


def test_edit_check_queries_open_once_per_item_and_row(
    form_a, coordinator_a, django_assert_num_queries
):
    ctx = ctx_for(coordinator_a)
    warnings = [
        ("WEIGHT", "Weight 160 kg is outside the expected 35-150 kg"),
        ("lesions[2].LDIAM", "Diameter grew by more than 50%"),
        ("WEIGHT", "duplicate warning for the same item"),
    ]
    with django_assert_num_queries(4):
        made = services.open_automatic_queries(ctx, form_a, warnings)
    assert sorted((q.item_code, q.group_row, q.source, q.raised_by) for q in made) == [
        ("LDIAM", 2, "edit_check", None),
        ("WEIGHT", None, "edit_check", None),
    ]
    weight = next(q for q in made if q.item_code == "WEIGHT")
    assert selectors.query_thread(weight)[0].text.startswith("Weight 160 kg")
    with django_assert_num_queries(1):
        assert services.open_automatic_queries(ctx, form_a, warnings[:2]) == []
    with django_assert_num_queries(0):
        assert services.open_automatic_queries(ctx, form_a, []) == []
    assert AuditEvent.objects.filter(action="query_opened").count() == 2


@dataclass(frozen=True)
class Issue:
    """Shaped like the CRF's validation issues: the save path may pass its warnings as they are."""

    path: str
    message: str


def test_edit_check_queries_accept_issue_objects(form_a, coordinator_a):
    made = services.open_automatic_queries(
        ctx_for(coordinator_a),
        form_a,
        [Issue("WEIGHT", "Weight outside 35-150 kg"), Issue("lesions[3].LDIAM", "Grew")],
    )
    assert sorted((q.item_code, q.group_row) for q in made) == [("LDIAM", 3), ("WEIGHT", None)]


def test_site_staff_see_only_their_sites_queries(form_a, subject_b, monitor, coordinator_a, study):
    other = make_form(subject_b)
    own_query = services.raise_query(ctx_for(monitor), form_a, item_code="SEX", text="?")
    other_query = services.raise_query(ctx_for(monitor), other, item_code="SEX", text="?")
    scope = scope_of(coordinator_a)
    assert list(selectors.visible_queries(scope, study)) == [own_query]
    assert selectors.get_query(scope, study, own_query.pk) == own_query
    with pytest.raises(Http404):
        selectors.get_query(scope, study, other_query.pk)
    assert len(selectors.visible_queries(scope_of(monitor), study)) == 2


def test_counts_per_site_and_status(form_a, subject_b, monitor, coordinator_a, study):
    other = make_form(subject_b)
    first = services.raise_query(ctx_for(monitor), form_a, item_code="SEX", text="?")
    services.raise_query(ctx_for(monitor), form_a, item_code="WEIGHT", text="?")
    services.raise_query(ctx_for(monitor), other, item_code="SEX", text="?")
    services.act_on_query(ctx_for(coordinator_a), first, "answer", "ok")
    counts = {c.site_code: c for c in selectors.query_counts(scope_of(monitor), study)}
    assert counts["01"].counts == {"open": 1, "answered": 1, "closed": 0, "cancelled": 0}
    assert counts["02"].counts == {"open": 1, "answered": 0, "closed": 0, "cancelled": 0}
    assert (counts["01"].unresolved, counts["02"].total) == (2, 1)
    assert [c.site_code for c in selectors.query_counts(scope_of(coordinator_a), study)] == ["01"]
    assert selectors.form_flags(form_a.subject)[form_a.pk].open_queries == 2


def test_age_counts_days_until_closed(form_a, monitor):
    query = services.raise_query(ctx_for(monitor), form_a, item_code="SEX", text="?")
    query.created_at -= dt.timedelta(days=9, hours=1)
    assert selectors.age_days(query) == 9
    query.closed_at = query.created_at + dt.timedelta(days=3)
    assert selectors.age_days(query) == 3


def test_answering_locked_data_is_refused(form_a, monitor, coordinator_a, data_manager):
    query = services.raise_query(ctx_for(monitor), form_a, item_code="SEX", text="?")
    # An edit-check query can predate a lock set through the study status.
    form_a.study.status = "locked"
    form_a.study.save()
    with pytest.raises(DomainError) as caught:
        services.act_on_query(ctx_for(coordinator_a), query, "answer", "ok")
    assert caught.value.status == 423
    with pytest.raises(DomainError) as caught:
        services.raise_query(ctx_for(monitor), form_a, item_code="WEIGHT", text="?")
    assert caught.value.status == 423
    services.act_on_query(ctx_for(data_manager), query, "cancel", "study closed")
