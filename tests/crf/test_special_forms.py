"""Staging, tumour assessment (RECIST 1.1) and adverse event forms through save_form."""

import datetime as dt

import pytest

from crf.models import FormInstance
from crf.services import FormInvalid, WarningsNeedConfirmation, save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=200)


def ctx(user, reason=""):
    return ChangeContext(user=user, channel="web", reason=reason)


def on(day):
    return (START + dt.timedelta(days=day)).isoformat()


# ---- staging -----------------------------------------------------------------------------


def stage(user, subject, row_version=0, reason="", **values):
    data = {"STDAT": on(0), "STEDIT": "9", "NDISTLES": "0", **values}
    return save_form(
        ctx(user, reason), subject, "SCREENING", 1, "stg", 1, data, row_version=row_version
    )


def test_stage_group_is_derived_with_its_rule(staff, subject):
    instance = stage(staff, subject, TSTAGE="T2", NSTAGE="N1", MSTAGE="M0")
    assert instance.data["STAGE"] == "I"  # spec §5.4 S1 (9th version)
    assert "T0-2 N0-1 M0" in instance.derived["STAGE"]
    changed = stage(
        staff,
        subject,
        row_version=1,
        reason="re-read",
        TSTAGE="T2",
        NSTAGE="N1",
        MSTAGE="M0",
        STEDIT="8",
    )
    assert changed.data["STAGE"] == "II"  # S1 in the 8th edition
    row = AuditEvent.objects.get(item="STAGE", action="update")
    assert (row.old_value, row.new_value) == ("I", "II")


def test_staging_validations_block_impossible_combinations(staff, subject):
    with pytest.raises(FormInvalid) as caught:
        stage(staff, subject, TSTAGE="T2", NSTAGE="N1", MSTAGE="M0", ADVENE="Y")
    assert [d["code"] for d in caught.value.details] == ["staging_V1"]  # S4: ENE makes it N3
    with pytest.raises(FormInvalid) as caught:
        stage(staff, subject, TSTAGE="T1", NSTAGE="N1", MSTAGE="M1", NDISTLES="2")
    assert "M1a" in caught.value.message  # S14: the 9th version has no plain M1
    with pytest.raises(FormInvalid) as caught:
        stage(staff, subject, TSTAGE="T1", NSTAGE="N1", MSTAGE="M1A", NDISTLES="4")
    assert [d["code"] for d in caught.value.details] == ["staging_V4"]
    assert (
        stage(staff, subject, TSTAGE="T1", NSTAGE="N1", MSTAGE="M1B", NDISTLES="4").data["STAGE"]
        == "IVB"
    )


# ---- RECIST ------------------------------------------------------------------------------

# Spec §2.2 worked baseline B1 and scenario S-A (sizes in mm).
BASELINE_LESIONS = [
    ("L1", "TARGET", "LIVER", "Liver segment 7", "N", "32"),
    ("L2", "TARGET", "LIVER", "Liver segment 4", "N", "25"),
    ("L3", "NON_TARGET", "LIVER", "Liver segment 2", "N", None),
    ("L4", "TARGET", "LUNG", "Right lower lobe", "N", "12"),
    ("L5", "NON_TARGET", "LUNG", "Left upper lobe", "N", None),
    ("N1", "TARGET", "RPN", "Retropharyngeal node", "Y", "16"),
    ("N2", "TARGET", "CN", "Cervical level II", "Y", "22"),
    ("N3", "NON_TARGET", "CN", "Cervical level III", "Y", None),
    ("B1", "NON_TARGET", "BONE", "T10 vertebra", "N", None),
]
FOLLOW_UPS = {  # day: L1, L2, L4, N2, N1
    42: ("20", "15", "8", "12", "9"),
    84: ("14", "10", "0", "9", "8"),
    126: ("18", "14", "0", "9", "8"),
    168: ("20", "14", "0", "9", "8"),
}


def lesion_row(lid, cls, site, loc, node, size):
    row = {"TULNKID": lid, "TUCLASS": cls, "TUSITE": site, "TULOC": loc, "TUNODE": node}
    if size is not None:
        row["TRSA" if node == "Y" else "TRLD"] = size
    return row


def baseline(user, subject):
    lesions = [lesion_row(*lesion) for lesion in BASELINE_LESIONS]
    data = {"TUDAT": on(-7), "TUEPIS": "1", "lesions": lesions}
    return save_form(ctx(user), subject, "SCREENING", 1, "tu_bl", 1, data, row_version=0)


def follow_up_values(day, sizes, response, **extra):
    by_id = dict(zip(("L1", "L2", "L4", "N2", "N1"), sizes, strict=True))
    lesions = []
    for lid, cls, site, loc, node, _ in BASELINE_LESIONS:
        row = lesion_row(lid, cls, site, loc, node, by_id.get(lid))
        if cls == "NON_TARGET":
            row["TRNTSTAT"] = "PRESENT"
        lesions.append(row)
    return {"TUDAT": on(day), "RSORRES": response, "lesions": lesions, **extra}


def follow_up(user, subject, repeat, day, sizes, response, row_version=0, reason="", **extra):
    return save_form(
        ctx(user, reason),
        subject,
        "INDUCTION_TA",
        repeat,
        "tu",
        1,
        follow_up_values(day, sizes, response, **extra),
        row_version=row_version,
        confirm_warnings=bool(reason),
    )


def test_scenario_s_a_responses_are_calculated_with_their_derivation(staff, subject):
    base = baseline(staff, subject)
    assert base.derived["recist"]["baseline_sum"] == "107 mm"  # 32 + 25 + 12 + 22 + 16
    expected = {
        42: ("PR", "64 mm"),
        84: ("PR", "41 mm"),
        126: ("PR", "49 mm"),
        168: ("PD", "51 mm"),
    }
    for repeat, (day, sizes) in enumerate(FOLLOW_UPS.items(), start=1):
        instance = follow_up(staff, subject, repeat, day, sizes, expected[day][0])
        assert instance.data["RSCALC"] == expected[day][0]
        assert instance.derived["recist"]["sum"] == expected[day][1]
        assert instance.confirmed_warnings == []
    pd = FormInstance.objects.get(event_code="INDUCTION_TA", event_repeat=4)
    note = pd.derived["recist"]
    assert note["nadir"] == "41 mm" and note["pd_date"] == on(168)
    assert note["progression_class"] == "distant_only"  # L1 and L2 (liver) grew vs the nadir
    assert any("PD" in line for line in note["derivation"])


def test_investigator_response_differing_from_the_calculation_needs_a_reason_and_confirmation(
    staff, subject
):
    baseline(staff, subject)
    with pytest.raises(FormInvalid) as caught:
        follow_up(staff, subject, 1, 42, FOLLOW_UPS[42], "SD")
    assert caught.value.field == "RSOVRSN"
    assert [d["code"] for d in caught.value.details if d["severity"] == "error"] == [
        "response_override_reason_required"
    ]
    why = "Radiology review: L1 measured on a different sequence"
    with pytest.raises(WarningsNeedConfirmation) as caught:
        follow_up(staff, subject, 1, 42, FOLLOW_UPS[42], "SD", RSOVRSN=why)
    assert [d["code"] for d in caught.value.details] == ["response_override"]
    saved = follow_up(staff, subject, 1, 42, FOLLOW_UPS[42], "SD", reason="-", RSOVRSN=why)
    assert (saved.data["RSCALC"], saved.data["RSORRES"], saved.data["RSOVRSN"]) == ("PR", "SD", why)
    override = AuditEvent.objects.get(action="response_override", object_id=str(saved.pk))
    assert (override.item, override.old_value, override.new_value) == ("RSORRES", "PR", "SD")
    assert override.reason == why


def test_editing_an_earlier_assessment_recalculates_the_later_ones(staff, subject):
    baseline(staff, subject)
    for repeat, (day, sizes) in enumerate(FOLLOW_UPS.items(), start=1):
        follow_up(staff, subject, repeat, day, sizes, ["PR", "PR", "PR", "PD"][repeat - 1])
    # A larger L1 at day 84 raises the nadir to 45 mm: 51 mm at day 168 is +6 mm but below
    # 1.2 x 45 = 54 mm, so no longer PD, and 51 <= 0.7 x 107 keeps it PR.
    follow_up(
        staff,
        subject,
        2,
        84,
        ("18", "10", "0", "9", "8"),
        "PR",
        row_version=1,
        reason="re-measured",
    )
    last = FormInstance.objects.get(event_code="INDUCTION_TA", event_repeat=4)
    assert last.data["RSCALC"] == "PR" and last.row_version == 2
    recalc = AuditEvent.objects.get(object_id=str(last.pk), action="derived_update")
    assert (recalc.item, recalc.old_value, recalc.new_value) == ("RSCALC", "PD", "PR")
    assert "recalculated after tu at INDUCTION_TA #2 changed" in recalc.reason


def test_lesions_must_match_the_baseline_and_follow_a_baseline(staff, subject):
    with pytest.raises(FormInvalid) as caught:
        follow_up(staff, subject, 1, 42, FOLLOW_UPS[42], "PR")
    assert caught.value.code == "invalid" and caught.value.field == "TUDAT"
    baseline(staff, subject)
    values = follow_up_values(42, FOLLOW_UPS[42], "PR")
    values["lesions"][0]["TULNKID"] = "L9"
    with pytest.raises(FormInvalid) as caught:
        save_form(ctx(staff), subject, "INDUCTION_TA", 1, "tu", 1, values, row_version=0)
    assert caught.value.details[0]["path"] == "lesions[1].TULNKID"
    assert "not a target lesion of the baseline" in caught.value.details[0]["message"]


def test_baseline_target_selection_rules(staff, subject):
    lesions = [lesion_row(*lesion) for lesion in BASELINE_LESIONS]
    lesions[2] = lesion_row(
        "L3", "TARGET", "LIVER", "Liver segment 2", "N", "18"
    )  # 3rd liver target
    data = {"TUDAT": on(-7), "TUEPIS": "1", "lesions": lesions}
    with pytest.raises(FormInvalid) as caught:
        save_form(ctx(staff), subject, "SCREENING", 1, "tu_bl", 1, data, row_version=0)
    codes = {d["code"] for d in caught.value.details}
    assert {"recist_too_many_targets", "recist_too_many_targets_in_organ"} <= codes


def test_post_induction_response_feeds_the_induction_response_item(staff, subject):
    baseline(staff, subject)
    follow_up(staff, subject, 1, 42, FOLLOW_UPS[42], "PR")
    resp = save_form(
        ctx(staff), subject, "INDUCTION_RESP", 1, "indresp", 1, {"INDRSDAT": on(45)}, row_version=0
    )
    assert resp.data["INDORES"] == "PR"
    assert on(42) in resp.derived["INDORES"]


# ---- adverse events ----------------------------------------------------------------------

NECROSIS = {"AETERM": "Pharyngeal necrosis", "AECTCD": "10065706", "AEOTHSP": "N"}


def ae_values(**extra):
    return {
        **NECROSIS,
        "AETOXGR": "3",
        "AESTDAT": on(100),
        "AESER": "N",
        "AERELPD1": "UNLIKELY",
        "AEOUT": "RECOVERING",
        **extra,
    }


def save_ae(user, subject, values, repeat=1, **kwargs):
    return save_form(
        ctx(user), subject, "UNSCHEDULED", 1, "ae", repeat, values, row_version=0, **kwargs
    )


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"AETOXGR": "2"}, "AETOXGR", "ctcae_grade"),  # pharyngeal necrosis has grades 3-5
        ({"AECTCD": "99999999"}, "AECTCD", "ctcae_term"),
        ({"AETERM": "Necrosis"}, "AETERM", "ctcae_term"),
        ({"AEOTHSP": "Y"}, "AEOTHSP", "ctcae_other_specify"),
        ({"AEENDAT": on(99)}, "AEENDAT", "AE01"),
        ({"AESER": "Y"}, "AESER", "AE04"),
        ({"AEACNPD1": "DOSE_REDUCED"}, "AEACNPD1", "AE10"),
        ({"AESTDAT": "2026-13"}, "AESTDAT", "date"),
    ],
)
def test_ae_rules_refuse_wrong_entries(staff, subject, changes, path, code):
    with pytest.raises(FormInvalid) as caught:
        save_ae(staff, subject, ae_values(**changes))
    assert (path, code) in {(d["path"], d["code"]) for d in caught.value.details}
    assert not FormInstance.objects.filter(form_code="ae").exists()


def test_partial_onset_date_is_accepted(staff, subject):
    instance = save_ae(staff, subject, ae_values(AESTDAT=on(100)[:7]))
    assert instance.data["AESTDAT"] == on(100)[:7]


def test_radiation_phase_is_derived_from_the_latest_rt_start(staff, subject):
    save_form(ctx(staff), subject, "REIRR", 1, "rt", 1, {"RTSTDAT": on(60)}, row_version=0)
    acute = save_ae(staff, subject, ae_values(AESTDAT=on(150)))
    late = save_ae(staff, subject, ae_values(AESTDAT=on(151)), repeat=2)
    assert acute.data["AERTPH"] == "ACUTE"  # 90 days after the start
    assert late.data["AERTPH"] == "LATE"  # 91 days


def test_lab_grade_is_suggested_and_a_different_grade_needs_confirmation(staff, subject):
    lab = {"LBHEMDT": on(95), "ALT": "150", "ALTULN": "40"}
    saved_lab = save_form(
        ctx(staff), subject, "UNSCHEDULED", 1, "lb", 1, lab, row_version=0, confirm_warnings=True
    )
    assert saved_lab.derived["lab_grades"]["ALT"]["grade"] == 2  # 3.75 x ULN: >3.0-5.0 x ULN
    alt = {"AETERM": "Alanine aminotransferase increased", "AECTCD": "10001551", "AEOTHSP": "N"}
    with pytest.raises(WarningsNeedConfirmation) as caught:
        save_ae(staff, subject, ae_values(**alt, AETOXGR="3"))
    assert caught.value.details[0]["code"] == "grade_differs_from_lab"
    assert "3.75" in caught.value.details[0]["message"]
    agreed = save_ae(staff, subject, ae_values(**alt, AETOXGR="2"))
    assert agreed.derived["grade_suggestion"]["grade"] == 2


def test_serious_ae_emails_the_safety_contact_once(
    staff, subject, smtp, django_capture_on_commit_callbacks
):
    serious = ae_values(AESER="Y", AESHOSP="Y")
    with django_capture_on_commit_callbacks(execute=True):
        instance = save_ae(staff, subject, serious)
    [(to, message)] = smtp.messages
    assert to == ["safety-crf@example.org"]
    text = message.as_string()
    assert subject.subject_id in text and "Pharyngeal necrosis" in text
    assert "hospitalization" in text
    assert staff.username not in text
    assert AuditEvent.objects.filter(action="sae_notified", object_id=str(instance.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        save_form(
            ctx(staff, "outcome known"),
            subject,
            "UNSCHEDULED",
            1,
            "ae",
            1,
            {**serious, "AEOUT": "RECOVERED", "AEENDAT": on(120)},
            row_version=1,
        )
    assert len(smtp.messages) == 1
