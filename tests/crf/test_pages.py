"""Data entry pages through the Django test client: render from the definition, save, refuse."""

import datetime as dt
import re

import pytest
from django.test import Client

from crf.models import FormInstance
from edc.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def days_ago(n):
    return (TODAY - dt.timedelta(days=n)).isoformat()


def url(subject, event="SCREENING", er=1, form="dm", fr=1, suffix=""):
    return f"/studies/{subject.study.code}/subjects/{subject.subject_id}/forms/{event}/{er}/{form}/{fr}/{suffix}"


@pytest.fixture
def client(staff):
    c = Client()
    c.force_login(staff)
    return c


def post(client, address, data, row_version=0, action="save", **extra):
    return client.post(
        address, {"row_version": str(row_version), "action": action, **data, **extra}
    )


DM = {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"}


def test_casebook_lists_visits_and_puts_to_do_first(client, subject):
    page = client.get(
        f"/studies/{subject.study.code}/subjects/{subject.subject_id}/"
    ).content.decode()
    todo = page[page.index('id="todo"') : page.index('id="visit-SCREENING-1"')]
    assert "Demographics" in todo and "Not started" in todo
    assert 'id="visit-INDUCTION-1"' in page and 'id="eligibility-link"' in page
    post(client, url(subject), DM)
    page = client.get(
        f"/studies/{subject.study.code}/subjects/{subject.subject_id}/"
    ).content.decode()
    todo = page[page.index('id="todo"') : page.index('id="visit-SCREENING-1"')]
    assert "Demographics" not in todo and "Laboratory tests" in todo
    screening = page[page.index('id="visit-SCREENING-1"') :]
    assert re.search(
        r"Demographics</a></td><td><span class=\"status status-complete\">Complete", screening
    )


def test_form_renders_every_item_of_its_definition_with_labels(client, subject):
    page = client.get(url(subject, form="ae", event="UNSCHEDULED")).content.decode()
    assert page.count('<label for="f-') >= 10
    for label in (
        "Onset date",
        "CTCAE grade (worst)",
        "Serious",
        "Relationship to the PD-1 inhibitor",
    ):
        assert label in page
    assert 'class="ctcae-term"' in page and "Pharyngeal necrosis (10065706)" in page
    assert 'data-grades="3,4,5"' in page
    assert "<summary>Necrosis</summary>" in page


def test_save_redirects_and_shows_the_saved_values(client, subject):
    response = post(client, url(subject), DM)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'value="61.5"' in page and "Complete" in page
    assert "Demographics saved (version 1)" in page


@pytest.mark.parametrize(
    ("changes", "path", "text"),
    [
        ({"WEIGHT": "sixty"}, "WEIGHT", "is not a number"),
        ({"WEIGHT": "300"}, "WEIGHT", "300 kg is above 250 kg"),
        ({"BRTHDAT": "1970-02-30"}, "BRTHDAT", "is not a real calendar date"),
        ({"BRTHDAT": ""}, "BRTHDAT", "Date of birth (BRTHDAT) is required"),
        ({"ECOG": "1.5"}, "ECOG", "is not a whole number"),
    ],
)
def test_bad_input_is_shown_at_its_field_and_nothing_is_saved(client, subject, changes, path, text):
    response = post(client, url(subject), {**DM, **changes})
    assert response.status_code == 400
    page = response.content.decode()
    field = page[page.index(f'data-path="{path}"') :]
    field = field[: field.index("</div>\n</div>") if "</div>\n</div>" in field else 2000]
    assert text in field
    assert 'role="alert"' in page and "Nothing was saved" in page
    assert not FormInstance.objects.exists()


def test_tampered_hidden_fields_and_injected_items_are_refused(client, subject):
    assert post(client, url(subject), DM, row_version="abc").status_code == 400
    assert post(client, url(subject), {**DM, "STAGE": "IVB"}).status_code == 400
    assert post(client, url(subject), {**DM, "HACKED": "1"}).status_code == 400
    assert not FormInstance.objects.exists()
    post(client, url(subject), DM)
    stale = post(client, url(subject), {**DM, "ECOG": "0"}, row_version=7, reason="x")
    assert stale.status_code == 409
    assert "Reload the form" in stale.content.decode()
    assert FormInstance.objects.get().data["ECOG"] == "1"


def test_soft_warning_asks_for_confirmation_then_saves_with_a_query(client, subject):
    first = post(client, url(subject), {**DM, "WEIGHT": "160"})
    assert first.status_code == 200
    page = first.content.decode()
    assert 'id="confirm-box"' in page and "expected 35–150 kg" in page
    assert not FormInstance.objects.exists()
    confirmed = post(client, url(subject), {**DM, "WEIGHT": "160"}, confirm_warnings="1")
    assert confirmed.status_code == 302
    assert FormInstance.objects.get().queries.count() == 1


def test_change_after_save_needs_a_reason_from_the_page(client, subject):
    post(client, url(subject), DM)
    refused = post(client, url(subject), {**DM, "ECOG": "0"}, row_version=1)
    assert (
        refused.status_code == 400 and "reason for change is required" in refused.content.decode()
    )
    done = post(client, url(subject), {**DM, "ECOG": "0"}, row_version=1, reason="re-assessed")
    assert done.status_code == 302
    row = AuditEvent.objects.get(item="ECOG", action="update")
    assert (row.old_value, row.new_value, row.reason) == ("1", "0", "re-assessed")


def test_another_sites_subject_is_not_found_and_not_saved(client, other_subject):
    assert client.get(url(other_subject)).status_code == 404
    assert post(client, url(other_subject), DM).status_code == 404
    assert client.post(url(other_subject, suffix="check/"), DM).status_code == 404
    assert not FormInstance.objects.exists()


def test_group_rows_are_added_without_javascript_and_saved(client, subject):
    address = url(subject, form="lb")
    data = {"LBHEMDT": days_ago(3), "results.0.LBTEST": "Albumin", "results.0.LBORRES": "38"}
    added = post(client, address, data, action="add_row:results")
    page = added.content.decode()
    assert 'name="results.1.LBTEST"' in page and 'value="Albumin"' in page
    assert not FormInstance.objects.exists()
    saved = post(
        client, address, {**data, "results.1.LBTEST": "Sodium", "results.1.LBORRES": "139"}
    )
    assert saved.status_code == 302
    assert FormInstance.objects.get().data["results"] == [
        {"LBTEST": "Albumin", "LBORRES": "38"},
        {"LBTEST": "Sodium", "LBORRES": "139"},
    ]


def test_inline_check_returns_issues_without_saving(client, subject):
    response = client.post(url(subject, suffix="check/"), {**DM, "WEIGHT": "x"})
    body = response.json()
    assert [(e["path"], e["code"]) for e in body["errors"]] == [("WEIGHT", "type")]
    assert not FormInstance.objects.exists()


def test_monitor_sees_the_form_read_only_and_cannot_post(crf_site, subject):
    from tests.factories import UserFactory, member

    monitor = UserFactory(username="monitor_pages")
    member(monitor, crf_site, "monitor")
    c = Client()
    c.force_login(monitor)
    page = c.get(url(subject)).content.decode()
    assert "readonly" in page and 'id="save"' not in page
    assert c.post(url(subject), {**DM, "row_version": "0"}).status_code == 403


def test_a_thirty_item_save_over_http_adds_only_the_requests_own_queries(
    client, subject, django_assert_max_num_queries
):
    """The whole request: the save path (within 12, see test_save_form) plus the session read,
    the user, the subject and the session write. Savepoint statements (BEGIN/COMMIT outside
    tests) are not queries."""
    from tests.crf.test_save_form import wide_values

    values = wide_values()
    address = url(subject, form="wide")
    assert post(client, address, values).status_code == 302
    counts = []
    for version, changed in (
        (1, {"W01": "changed"}),
        (2, {"W01": "again", "W30": "more", "W06": "7"}),
    ):
        with django_assert_max_num_queries(22) as captured:
            response = post(
                client, address, {**values, **changed}, row_version=version, reason="fix"
            )
        assert response.status_code == 302
        sql = [
            q["sql"]
            for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        ]
        assert len(sql) <= 12 + 4, sql
        counts.append(len(sql))
        # The form is read once, under a lock of its own row only (a join would lock the
        # subject and study rows as well and serialise every save of the study).
        reads = [q for q in sql if q.startswith("SELECT") and '"crf_forminstance"."id"' in q]
        assert len(reads) == 1 and reads[0].endswith('FOR UPDATE OF "crf_forminstance"')
        assert "JOIN" not in reads[0]
    assert counts[0] == counts[1]


def test_save_and_go_to_the_next_form_of_the_visit(client, subject):
    from crf.selectors import form_slot

    slot = form_slot(subject, "SCREENING", 1, "dm", 1, with_instance=False)
    codes = slot.event["forms"]
    following = slot.forms.forms[codes[codes.index("dm") + 1]]
    page = client.get(url(subject)).content.decode()
    assert f"Save and go to {following['name']}" in page
    response = post(client, url(subject), DM, action="save_next")
    assert response.status_code == 302
    assert response.url == url(subject, form=following["code"])
    assert FormInstance.objects.get(form_code="dm").status == "complete"
    # The visit's last form offers no next form.
    last = codes[-1]
    assert 'value="save_next"' not in client.get(url(subject, form=last)).content.decode()
