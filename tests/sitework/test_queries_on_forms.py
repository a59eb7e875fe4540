"""Queries where the data is: the flag and thread on the form page, answers given there (with
the corrected value's audit row linked to the query), the query page's value and history, the
inbox and its count in the header."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crf.models import FormInstance
from edc.accounts.scoping import scope_of
from edc.audit.models import AuditEvent
from edc.datamanagement import selectors, services
from edc.datamanagement.models import Query, QueryChange
from edc.errors import DomainError
from tests.factories import UserFactory, member, screen
from tests.sitework.conftest import DM, ctx, logged_in, save_dm

pytestmark = pytest.mark.django_db

FORM_URL = "/studies/T-CRF/subjects/{}/forms/SCREENING/1/dm/1/"


@pytest.fixture
def queried(subject, coordinator, data_manager):
    form = save_dm(coordinator, subject)
    return services.raise_query(
        ctx(data_manager), form, item_code="WEIGHT", text="Chart says 65.1 kg: typo?"
    )


def test_the_queried_item_is_flagged_on_the_form_with_its_thread(subject, coordinator, queried):
    page = logged_in(coordinator).get(FORM_URL.format(subject.subject_id)).content.decode()
    weight = page[page.index('data-path="WEIGHT"') :]
    weight = weight[: weight.index('data-path="ECOG"')]
    assert (
        "has-query"
        in page[page.index('data-path="WEIGHT"') - 80 : page.index('data-path="WEIGHT"')]
    )
    assert f"Query Q{queried.pk}: Open" in weight
    assert "Chart says 65.1 kg: typo?" in weight and "Dana Manager" in weight
    assert f'name="query_answer_{queried.pk}"' in weight
    assert "Send answer only" in weight
    sex = page[page.index('data-path="SEX"') : page.index('data-path="WEIGHT"')]
    assert "query-flag" not in sex


def test_a_monitor_sees_the_flag_but_no_answer_box(subject, monitor, queried):
    page = logged_in(monitor).get(FORM_URL.format(subject.subject_id)).content.decode()
    assert f"Query Q{queried.pk}: Open" in page
    assert f'name="query_answer_{queried.pk}"' not in page


def test_a_value_corrected_in_answer_links_its_audit_row_to_the_query(
    subject, coordinator, queried
):
    form = FormInstance.objects.get(pk=queried.form_instance_id)
    response = logged_in(coordinator).post(
        FORM_URL.format(subject.subject_id),
        {
            **DM,
            "WEIGHT": "65.1",
            "row_version": str(form.row_version),
            "action": "save",
            f"query_answer_{queried.pk}": "Typo, corrected from the chart",
        },
    )
    assert response.status_code == 302
    queried.refresh_from_db()
    assert queried.status == "answered"
    change = AuditEvent.objects.get(object_type="crf.FormInstance", item="WEIGHT", new_value="65.1")
    # No reason typed: the answer is the reason for change.
    assert change.reason == f"Q{queried.pk}: Typo, corrected from the chart"
    assert list(QueryChange.objects.values_list("query_id", "audit_event_id")) == [
        (queried.pk, change.pk)
    ]
    history = selectors.item_history(queried)
    assert [(h.event.new_value, h.answers_this_query) for h in history] == [
        ("61.5", False),
        ("65.1", True),
    ]


def test_the_query_page_shows_the_value_now_and_its_history(
    subject, coordinator, data_manager, queried
):
    save_dm(
        coordinator,
        subject,
        {"WEIGHT": "65.1"},
        reason="chart",
        query_answers={queried.pk: "fixed"},
    )
    page = logged_in(data_manager).get(f"/studies/T-CRF/dm/queries/{queried.pk}/").content.decode()
    assert '<dd id="queried-value">65.1</dd>' in page
    history = page[page.index('id="item-history"') :]
    assert "61.5" in history and "65.1" in history
    assert "changed in answer to this query" in history
    assert FORM_URL.format(subject.subject_id) + f"#query-{queried.pk}" in page


def test_answer_only_changes_no_data(subject, coordinator, queried):
    form = FormInstance.objects.get(pk=queried.form_instance_id)
    response = logged_in(coordinator).post(
        f"/studies/T-CRF/dm/queries/{queried.pk}/answer/",
        {
            **DM,
            "WEIGHT": "99",
            f"query_answer_{queried.pk}": "61.5 is right, the chart is wrong",
            "next": FORM_URL.format(subject.subject_id),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == FORM_URL.format(subject.subject_id) + f"#query-{queried.pk}"
    queried.refresh_from_db()
    form.refresh_from_db()
    assert queried.status == "answered" and form.data["WEIGHT"] == "61.5"
    assert not QueryChange.objects.exists()


def test_answering_a_query_of_another_form_saves_nothing(subject, coordinator, queried, site):
    other = save_dm(coordinator, screen(site))
    with pytest.raises(DomainError) as refused:
        save_dm(
            coordinator,
            other.subject,
            {"WEIGHT": "70"},
            reason="x",
            query_answers={queried.pk: "?"},
        )
    assert refused.value.code == "unknown_query"
    other.refresh_from_db()
    assert other.data["WEIGHT"] == "61.5"


def test_a_group_row_query_links_the_row_item(subject, coordinator, data_manager):
    from crf import services as crf_services

    values = {
        "LBHEMDT": "2020-01-01",
        "results": [{"LBTEST": "CRP", "LBORRES": "5"}, {"LBTEST": "ESR", "LBORRES": "9"}],
    }
    form = crf_services.save_form(
        ctx(coordinator),
        subject,
        "SCREENING",
        1,
        "lb",
        1,
        values,
        row_version=0,
        confirm_warnings=True,
    )
    query = services.raise_query(
        ctx(data_manager), form, item_code="LBORRES", group_row=2, text="?"
    )
    changed = {**values, "results": [values["results"][0], {"LBTEST": "ESR", "LBORRES": "19"}]}
    crf_services.save_form(
        ctx(coordinator, "typo"),
        subject,
        "SCREENING",
        1,
        "lb",
        1,
        changed,
        row_version=form.row_version,
        confirm_warnings=True,
        query_answers={query.pk: "19"},
    )
    linked = AuditEvent.objects.get(pk=QueryChange.objects.get(query=query).audit_event_id)
    assert (linked.item, linked.new_value) == ("results[2].LBORRES", "19")
    assert selectors.queried_value(Query.objects.get(pk=query.pk)) == "19"


def test_the_inbox_lists_what_waits_for_each_person(
    subject, site, coordinator, data_manager, monitor, queried
):
    other_staff = UserFactory(username="other_staff")
    member(other_staff, site, "site_staff")
    form = FormInstance.objects.get(pk=queried.form_instance_id)
    for_other = services.raise_query(
        ctx(monitor), form, item_code="SEX", text="?", assignee=other_staff
    )
    answered = services.raise_query(ctx(monitor), form, item_code="ECOG", text="?")
    services.act_on_query(ctx(coordinator), answered, "answer", "ECOG 1 confirmed")

    def waiting(user):
        return [q.pk for q in selectors.inbox(scope_of(user), user)]

    assert waiting(coordinator) == [queried.pk]
    assert waiting(other_staff) == [queried.pk, for_other.pk]
    assert waiting(data_manager) == [answered.pk] == waiting(monitor)
    page = logged_in(coordinator).get("/queries/").content.decode()
    assert f"Q{queried.pk}" in page and f"Q{for_other.pk}" not in page
    assert FORM_URL.format(subject.subject_id) + f"#query-{queried.pk}" in page


def test_the_header_count_costs_one_query(coordinator, queried, django_assert_num_queries):
    scope = scope_of(coordinator)
    with django_assert_num_queries(1):
        assert selectors.inbox_count(scope, coordinator) == 1
    page = logged_in(coordinator).get("/").content.decode()
    assert '<span class="count waiting" id="inbox-count">1</span>' in page
    Query.objects.filter(pk=queried.pk).update(status="closed")
    page = logged_in(coordinator).get("/").content.decode()
    assert '<span class="count" id="inbox-count">0</span>' in page


def test_the_header_count_is_one_query_on_a_page(coordinator, queried):
    client = logged_in(coordinator)
    client.get("/queries/")

    def counts(path):
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        return [q["sql"] for q in captured if '"datamanagement_query"' in q["sql"]]

    # The inbox page counts its queries for the pager and lists one page of them; the header
    # adds exactly one COUNT.
    assert len(counts("/queries/")) == 3
