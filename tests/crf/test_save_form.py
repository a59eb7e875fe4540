"""save_form: one transaction, validation from the definition, reasons, audit, concurrency."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crf.models import FormInstance, FormStatus
from crf.services import FormInvalid, WarningsNeedConfirmation, save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.datamanagement.models import Query
from edc.errors import DomainError
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def ctx(user, reason=""):
    return ChangeContext(user=user, channel="web", reason=reason)


def days_ago(n):
    return (TODAY - dt.timedelta(days=n)).isoformat()


def dm_values(**extra):
    return {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1", **extra}


def save_dm(user, subject, values, row_version=0, **kwargs):
    return save_form(
        ctx(user, kwargs.pop("reason", "")),
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        values,
        row_version=row_version,
        **kwargs,
    )


def audit_rows(instance):
    return list(
        AuditEvent.objects.filter(object_type="crf.FormInstance", object_id=str(instance.pk))
    )


def test_first_save_stores_clean_values_and_audits_each_item(staff, subject):
    instance = save_dm(staff, subject, dm_values(WEIGHT=" 61.5 "))
    instance.refresh_from_db()
    assert instance.status == FormStatus.COMPLETE and instance.row_version == 1
    assert instance.data == {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"}
    assert instance.study_id == subject.study_id and instance.site_id == subject.site_id
    rows = audit_rows(instance)
    assert {(r.action, r.item, r.old_value, r.new_value) for r in rows} == {
        ("create", "BRTHDAT", None, "1970-03-01"),
        ("create", "SEX", None, "F"),
        ("create", "WEIGHT", None, "61.5"),
        ("create", "ECOG", None, "1"),
        ("create", "status", None, "complete"),
    }
    assert {r.actor_id for r in rows} == {staff.pk}
    assert {r.subject_id for r in rows} == {subject.pk}


def test_hard_errors_save_nothing_and_list_every_problem(staff, subject):
    with pytest.raises(FormInvalid) as caught:
        save_dm(staff, subject, {"BRTHDAT": "1970-02-30", "SEX": "X", "WEIGHT": "abc", "ECOG": "9"})
    error = caught.value
    assert error.code == "invalid" and error.status == 400
    assert {(d["path"], d["code"]) for d in error.details} == {
        ("BRTHDAT", "date"),
        ("SEX", "choice"),
        ("WEIGHT", "type"),
        ("ECOG", "range"),
    }
    assert not FormInstance.objects.exists()
    assert not AuditEvent.objects.filter(object_type="crf.FormInstance").exists()


def test_missing_required_items_block_a_complete_form_but_not_a_draft(staff, subject):
    with pytest.raises(FormInvalid) as caught:
        save_dm(staff, subject, {"WEIGHT": "60"})
    assert {d["path"] for d in caught.value.details} == {"BRTHDAT", "SEX"}
    draft = save_dm(staff, subject, {"WEIGHT": "60"}, complete=False)
    assert draft.status == FormStatus.IN_PROGRESS
    # Filling blanks of a draft is first entry, not a change: no reason needed.
    done = save_dm(staff, subject, dm_values(WEIGHT="60"), row_version=1)
    assert done.status == FormStatus.COMPLETE and done.row_version == 2


def test_soft_warning_needs_confirmation_then_is_recorded(staff, subject):
    with pytest.raises(WarningsNeedConfirmation) as caught:
        save_dm(staff, subject, dm_values(WEIGHT="160"))
    assert caught.value.details[0]["path"] == "WEIGHT"
    assert "expected 35–150 kg" in caught.value.details[0]["message"]
    assert not FormInstance.objects.exists()
    instance = save_dm(staff, subject, dm_values(WEIGHT="160"), confirm_warnings=True)
    assert [w.path for w in instance.confirmed_warnings] == ["WEIGHT"]
    [query] = Query.objects.filter(form_instance=instance)
    assert (query.item_code, query.group_row, query.source, query.status) == (
        "WEIGHT",
        None,
        "edit_check",
        "open",
    )
    assert query.messages.get().text == instance.confirmed_warnings[0].message


def test_changing_saved_data_needs_a_reason_and_audits_old_and_new(staff, subject):
    first = save_dm(staff, subject, dm_values())
    with pytest.raises(DomainError) as caught:
        save_dm(staff, subject, dm_values(WEIGHT="62.0"), row_version=1)
    assert caught.value.code == "reason_required"
    assert FormInstance.objects.get().data["WEIGHT"] == "61.5"
    second = save_dm(
        staff, subject, dm_values(WEIGHT="62.0"), row_version=1, reason="transcription error"
    )
    assert second.pk == first.pk and second.row_version == 2
    update = [r for r in audit_rows(second) if r.action == "update"]
    assert [(r.item, r.old_value, r.new_value, r.reason) for r in update] == [
        ("WEIGHT", "61.5", "62.0", "transcription error")
    ]


def test_an_unchanged_resave_writes_nothing(staff, subject):
    save_dm(staff, subject, dm_values())
    again = save_dm(staff, subject, dm_values(), row_version=1)
    assert again.row_version == 1
    assert len(audit_rows(again)) == 5


def test_second_of_two_concurrent_editors_is_refused_with_the_form_named(staff, subject):
    save_dm(staff, subject, dm_values())
    save_dm(staff, subject, dm_values(ECOG="0"), row_version=1, reason="re-assessed")
    with pytest.raises(DomainError) as caught:
        save_dm(staff, subject, dm_values(ECOG="2"), row_version=1, reason="mine")
    error = caught.value
    assert error.code == "stale_write" and error.status == 409
    assert "Demographics at Screening" in error.message and "version 2" in error.message
    assert FormInstance.objects.get().data["ECOG"] == "0"


def test_a_first_save_racing_another_first_save_is_refused(staff, subject):
    save_dm(staff, subject, dm_values())
    with pytest.raises(DomainError) as caught:
        save_dm(staff, subject, dm_values(SEX="M"), row_version=0)
    assert caught.value.code == "stale_write"
    assert FormInstance.objects.get().data["SEX"] == "F"


@pytest.mark.parametrize(
    ("event", "event_repeat", "form", "form_repeat", "code"),
    [
        ("NOPE", 1, "dm", 1, "unknown_event"),
        ("SCREENING", 1, "ae", 1, "unknown_form"),
        ("SCREENING", 2, "dm", 1, "invalid_repeat"),
        ("SCREENING", 1, "dm", 2, "invalid_repeat"),
    ],
)
def test_slots_outside_the_schedule_are_not_found(
    staff, subject, event, event_repeat, form, form_repeat, code
):
    with pytest.raises(DomainError) as caught:
        save_form(ctx(staff), subject, event, event_repeat, form, form_repeat, {}, row_version=0)
    assert caught.value.code == code and caught.value.status == 404


def test_roles_without_data_entry_cannot_save(crf_site, subject):
    monitor = UserFactory(username="mon")
    member(monitor, crf_site, "monitor")
    with pytest.raises(PermissionDenied):
        save_dm(monitor, subject, dm_values())
    assert not FormInstance.objects.exists()


def test_edit_check_with_a_subject_date_fires(staff, subject):
    consent = subject.consents.get().consent_date
    with pytest.raises(FormInvalid) as caught:
        save_dm(staff, subject, dm_values(BRTHDAT=consent.isoformat()))
    [detail] = caught.value.details
    assert detail["code"] == "DM01"
    assert "Date of birth must be before the consent date." in detail["message"]
    assert consent.isoformat() in detail["message"]


def test_cross_form_context_edit_check_uses_the_first_dose(staff, subject):
    save_form(
        ctx(staff),
        subject,
        "INDUCTION",
        1,
        "ind",
        1,
        {"INDDAT": days_ago(5), "PD1GIVEN": "Y"},
        row_version=0,
    )
    inside = {"LBHEMDT": days_ago(10), "HGB": "120", "HGBLLN": "115"}
    lab = save_form(ctx(staff), subject, "SCREENING", 1, "lb", 1, inside, row_version=0)
    assert lab.confirmed_warnings == []
    outside = {"LBHEMDT": days_ago(25), "HGB": "120", "HGBLLN": "115"}
    with pytest.raises(WarningsNeedConfirmation) as caught:
        save_form(ctx(staff), subject, "UNSCHEDULED", 1, "lb", 1, outside, row_version=0)
    assert caught.value.details[0]["code"] == "LB01"
    assert (
        "20 days" in caught.value.details[0]["message"]
        or "LB01" in caught.value.details[0]["message"]
    )


TRANSACTION = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _sql(captured):
    """Statements that are queries: savepoints (BEGIN/COMMIT outside tests) are counted apart."""
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION)]


def _save_wide(staff, subject, event, event_repeat, values, row_version, limit, *, fresh=True):
    # A fresh user object has no cached scope, so its query counts; a request computes the
    # scope once in the view, before the save.
    user = type(staff).objects.get(pk=staff.pk) if fresh else staff
    with django_assert_max(limit) as captured:
        save_form(
            ctx(user, "correction"),
            subject,
            event,
            event_repeat,
            "wide",
            1,
            values,
            row_version=row_version,
        )
    return _sql(captured)


def test_saving_a_thirty_item_form_stays_within_twelve_queries_on_the_whole_save_path(
    staff, subject
):
    """At a scheduled visit the whole path runs: the locked form (and subject, for a new form),
    data management's lock check and signature/SDV clearing, the write, the audit insert and
    the schedule's update. The scope is read once per request, by the view. One changed item or
    six: the same count."""
    from edc.accounts.scoping import scope_of

    scope_of(staff)
    values = wide_values()
    assert len(values) == 30
    counts = []
    for row_version, changed in (
        (0, values),
        (1, {**values, "W01": "new"}),
        (2, {**values, **{f"W0{i}": f"changed {i}" for i in range(1, 6)}, "W30": "other"}),
    ):
        sql = _save_wide(staff, subject, "SCREENING", 1, changed, row_version, 16, fresh=False)
        assert len(sql) <= 12, sql
        counts.append(len(sql))
    assert counts[1] == counts[2]


def test_the_crfs_own_part_of_a_save_stays_within_seven_queries(staff, subject):
    """Without data management's and the schedule's statements (an unscheduled visit, which the
    schedule does not track), the CRF's own save path keeps to 7 queries."""
    values = wide_values()
    for row_version, changed in ((0, values), (1, {**values, "W01": "new"})):
        sql = _save_wide(staff, subject, "UNSCHEDULED", 1, changed, row_version, 12)
        own = [q for q in sql if "datamanagement_" not in q and "reminders_" not in q]
        assert len(own) <= 7, own


class django_assert_max(CaptureQueriesContext):  # noqa: N801 - reads like the fixture it mirrors
    def __init__(self, limit):
        super().__init__(connection)
        self.limit = limit

    def __exit__(self, *exc):
        super().__exit__(*exc)
        assert len(self.captured_queries) <= self.limit, [q["sql"] for q in self.captured_queries]


def wide_values():
    values = {f"W0{i}": f"text {i}" for i in range(1, 6)}
    values |= {f"W{i:02d}": str(i) for i in range(6, 11)}
    values |= {f"W{i:02d}": f"{i}.25" for i in range(11, 16)}
    values |= {"W16": days_ago(3), "W17": days_ago(2), "W18": days_ago(1)}
    values |= {"W19": days_ago(40)[:7], "W20": days_ago(400)[:4]}
    values |= {f"W{i}": "Y" for i in range(21, 26)}
    values |= {"W26": "yes", "W27": "no", "W28": ["LUNG", "LIVER"], "W29": "10:30", "W30": "end"}
    return values


def test_derived_items_are_written_only_through_set_derived_items(staff, subject):
    from crf.services import set_derived_items

    with pytest.raises(FormInvalid):
        save_form(
            ctx(staff),
            subject,
            "RANDOMIZATION",
            1,
            "rand",
            1,
            {"RNDRESP": "PR", "RNDARM": "A"},
            row_version=0,
        )
    rand = save_form(
        ctx(staff), subject, "RANDOMIZATION", 1, "rand", 1, {"RNDRESP": "PR"}, row_version=0
    )
    system = ChangeContext.system(reason="randomized")
    with pytest.raises(FormInvalid) as caught:
        set_derived_items(system, subject, "RANDOMIZATION", 1, "rand", 1, {"RNDRESP": "CR"})
    assert caught.value.details[0]["code"] == "not_derived"
    updated = set_derived_items(system, subject, "RANDOMIZATION", 1, "rand", 1, {"RNDARM": "A"})
    assert updated.pk == rand.pk and updated.row_version == 2
    assert updated.data == {"RNDRESP": "PR", "RNDARM": "A"}
    row = AuditEvent.objects.get(action="derived_update", item="RNDARM")
    assert (row.new_value, row.reason, row.channel) == ("A", "randomized", "system")
    # The user's next save keeps the derived value and needs the new version.
    again = save_form(
        ctx(staff, "stratum corrected"),
        subject,
        "RANDOMIZATION",
        1,
        "rand",
        1,
        {"RNDRESP": "CR"},
        row_version=2,
    )
    assert again.data == {"RNDRESP": "CR", "RNDARM": "A"}


@pytest.mark.parametrize(
    "zone, accepted",
    [("Asia/Shanghai", True), ("America/Los_Angeles", False), ("Not/AZone", False)],
)
def test_an_entered_date_is_checked_against_the_sites_day_not_the_servers(
    staff, subject, monkeypatch, zone, accepted
):
    # 20:00 UTC is 04:00 the next day in Shanghai and noon the same day in Los Angeles; a zone
    # the system does not know counts on the server's (UTC) day.
    evening = dt.datetime.combine(TODAY, dt.time(20, 0), tzinfo=dt.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: evening)
    subject.site.timezone = zone
    subject.site.save(update_fields=["timezone"])
    assert subject.site.today() == TODAY + dt.timedelta(days=1 if accepted else 0)
    tomorrow_in_utc = {"LBHEMDT": (TODAY + dt.timedelta(days=1)).isoformat()}

    def save_lab():
        return save_form(
            ctx(staff),
            subject,
            "SCREENING",
            1,
            "lb",
            1,
            tomorrow_in_utc,
            row_version=0,
            confirm_warnings=True,
        )

    if accepted:
        assert save_lab().data["LBHEMDT"] == tomorrow_in_utc["LBHEMDT"]
    else:
        with pytest.raises(FormInvalid) as refused:
            save_lab()
        assert ("LBHEMDT", "future_date") in [(i.path, i.code) for i in refused.value.errors]
        assert not FormInstance.objects.filter(subject=subject, form_code="lb").exists()
