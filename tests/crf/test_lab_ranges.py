"""Site laboratory normal ranges: entered and audited, they fill the LLN/ULN items of lab forms
by sample date, sex and age (converted when in another unit); an override needs a reason and
is audited."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from crf.lab_range_services import RangeInput, save_lab_range
from crf.models import LabNormalRange
from crf.services import FormInvalid, save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import ReasonRequired
from edc.errors import DomainError
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

BEFORE = dt.date(2025, 12, 15)  # a sample under the older ALT range
AFTER = dt.date(2026, 2, 1)  # a sample under the newer one


def ctx(user, reason=""):
    return ChangeContext(user=user, channel="web", reason=reason)


def add(user, site, **fields):
    return save_lab_range(ctx(user), site, RangeInput(**fields))


@pytest.fixture
def ranges(staff, crf_site):
    add(staff, crf_site, lab_test="ALT", unit="U/L", uln="40", effective_from="2020-01-01")
    add(staff, crf_site, lab_test="ALT", unit="U/L", sex="F", uln="35", effective_from="2026-01-01")
    add(staff, crf_site, lab_test="HGB", unit="g/L", sex="F", age_from="18", age_to="64",
        lln="120", uln="150", effective_from="2020-01-01")  # fmt: skip
    add(staff, crf_site, lab_test="HGB", unit="g/L", sex="F", age_from="65",
        lln="110", uln="150", effective_from="2020-01-01")  # fmt: skip
    # Creatinine's range is in mg/dL; the form's ULN item is in µmol/L (113.12 g/mol).
    add(staff, crf_site, lab_test="CREAT", unit="mg/dL", uln="1.1", effective_from="2020-01-01")


def demographics(user, subject, born="1961-01-01", sex="F"):
    save_form(ctx(user), subject, "SCREENING", 1, "dm", 1, {"BRTHDAT": born, "SEX": sex},
              row_version=0)  # fmt: skip


def lab(user, subject, sampled, event=("SCREENING", 1), row_version=0, reason="", **values):
    data = {"LBHEMDT": sampled.isoformat(), "HGB": "100", "ALT": "50", "CREAT": "90", **values}
    return save_form(ctx(user, reason), subject, *event, "lb", 1, data, row_version=row_version)


def test_site_staff_enter_ranges_and_every_field_is_audited(staff, crf_site):
    saved = add(staff, crf_site, lab_test="ALT", unit="U/L", uln="40", effective_from="2026-01-01")
    rows = AuditEvent.objects.filter(object_type="crf.LabNormalRange", object_id=str(saved.pk))
    assert {(r.action, r.item, r.new_value) for r in rows} >= {
        ("create", "lab_test", "ALT"),
        ("create", "uln", "40"),
        ("create", "effective_from", "2026-01-01"),
    }
    assert all(r.actor_username == "staff_crf" for r in rows)


def test_changing_a_range_needs_a_reason_and_audits_old_and_new(staff, crf_site):
    saved = add(staff, crf_site, lab_test="ALT", unit="U/L", uln="40", effective_from="2026-01-01")
    changed = RangeInput(lab_test="ALT", unit="U/L", uln="45", effective_from="2026-01-01")
    with pytest.raises(ReasonRequired):
        save_lab_range(ctx(staff), crf_site, changed, range_pk=saved.pk, row_version=1)
    save_lab_range(ctx(staff, "lab recalibrated"), crf_site, changed, range_pk=saved.pk,
                   row_version=1)  # fmt: skip
    row = AuditEvent.objects.get(object_type="crf.LabNormalRange", action="update")
    assert (row.item, row.old_value, row.new_value, row.reason) == (
        "uln",
        "40",
        "45",
        "lab recalibrated",
    )
    with pytest.raises(DomainError) as stale:
        save_lab_range(ctx(staff, "again"), crf_site, changed, range_pk=saved.pk, row_version=1)
    assert stale.value.code == "stale_write"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lab_test": "NOPE", "unit": "U/L", "uln": "40"}, "lab_test"),
        ({"lab_test": "ALT", "unit": "kg", "uln": "40"}, "unit"),
        ({"lab_test": "ALT", "unit": "U/L"}, "uln"),
        ({"lab_test": "ALT", "unit": "U/L", "lln": "50", "uln": "40"}, "lln"),
        (
            {"lab_test": "ALT", "unit": "U/L", "uln": "40", "age_from": "70", "age_to": "60"},
            "age_to",
        ),
        ({"lab_test": "ALT", "unit": "U/L", "uln": "-1"}, "uln"),
    ],
)
def test_bad_ranges_are_refused_naming_the_field(staff, crf_site, fields, field):
    with pytest.raises(DomainError) as refused:
        save_lab_range(ctx(staff), crf_site, RangeInput(effective_from="2026-01-01", **fields))
    assert refused.value.field == field
    assert not LabNormalRange.objects.exists()


def test_a_monitor_cannot_enter_ranges(crf_site):
    monitor = UserFactory(username="monitor_crf")
    member(monitor, crf_site, "monitor")
    with pytest.raises(PermissionDenied):
        add(monitor, crf_site, lab_test="ALT", unit="U/L", uln="40", effective_from="2026-01-01")


def test_a_lab_form_gets_its_limits_by_sample_date_sex_and_age(staff, subject, ranges):
    demographics(staff, subject)  # female, 64 at the BEFORE sample and 65 at the AFTER one
    saved = lab(staff, subject, AFTER)
    assert saved.data["ALTULN"] == "35"  # the newer range for women
    assert saved.data["HGBLLN"] == "110"  # the 65+ band
    assert saved.data["CREATULN"] == "97.24"  # 1.1 mg/dL in µmol/L, to the item's 2 decimals
    note = saved.derived["lab_ranges"]["ALTULN"]
    assert (note["effective_from"], note["overridden"]) == ("2026-01-01", False)
    older = lab(staff, subject, BEFORE, event=("UNSCHEDULED", 1))
    assert older.data["ALTULN"] == "40"  # the range effective at that date
    assert older.data["HGBLLN"] == "120"  # the 18-64 band


def test_a_man_gets_the_range_for_any_sex_and_no_band_applies(staff, subject, ranges):
    demographics(staff, subject, sex="M")
    saved = lab(staff, subject, AFTER)
    assert saved.data["ALTULN"] == "40"  # the women's range does not apply
    assert "HGBLLN" not in saved.data  # both haemoglobin ranges are for women


def test_an_override_needs_a_reason_and_is_audited(staff, subject, ranges):
    demographics(staff, subject)
    with pytest.raises(FormInvalid) as refused:
        lab(staff, subject, AFTER, ALTULN="45")
    assert ("ALTULN", "range_override_reason") in {
        (d["item"], d["code"]) for d in refused.value.details
    }
    saved = save_form(
        ctx(staff),
        subject,
        "SCREENING",
        1,
        "lb",
        1,
        {"LBHEMDT": AFTER.isoformat(), "HGB": "100", "ALT": "50", "CREAT": "90", "ALTULN": "45"},
        row_version=0,
        range_override_reason="hospital lab report states 45 U/L",
    )
    assert saved.data["ALTULN"] == "45"
    row = AuditEvent.objects.get(action="lab_range_override")
    assert (row.item, row.old_value, row.new_value, row.reason) == (
        "ALTULN",
        "35",
        "45",
        "hospital lab report states 45 U/L",
    )
    assert row.actor_username == "staff_crf" and row.subject_id == subject.pk
    note = saved.derived["lab_ranges"]["ALTULN"]
    assert note["overridden"] and note["reason"] == "hospital lab report states 45 U/L"
    # Saving the form again with the same override asks for no new reason nor a new audit row.
    again = save_form(
        ctx(staff, "typo in ALT"),
        subject,
        "SCREENING",
        1,
        "lb",
        1,
        {"LBHEMDT": AFTER.isoformat(), "HGB": "100", "ALT": "51", "CREAT": "90", "ALTULN": "45"},
        row_version=1,
    )
    assert again.data["ALT"] == "51"
    assert AuditEvent.objects.filter(action="lab_range_override").count() == 1
