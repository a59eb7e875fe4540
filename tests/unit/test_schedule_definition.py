import pytest

from edc.schedule.dates import Duration
from edc.schedule.definition import (
    Anchor,
    DefinitionError,
    EventKind,
    Phase,
    StopRuleProfile,
    Track,
    TreatmentCap,
    from_definition,
)
from tests.unit.schedule_studies import t_reirr, t_reirr_study


def test_t_reirr_schedule_maps_into_dataclasses():
    definition = t_reirr()
    assert [arm.code for arm in definition.arms] == ["IMMEDIATE", "SELECTIVE"]
    assert definition.profile("IMMEDIATE") == StopRuleProfile.STANDARD
    assert definition.profile("SELECTIVE") == StopRuleProfile.LOCOREGIONAL_CONTINUE
    assert definition.treatment_cap == TreatmentCap(
        Anchor.FIRST_MAINTENANCE_DOSE, max_doses=35, max_years=2
    )
    pd1 = definition.event("PD1")
    assert pd1.kind == EventKind.DOSING and pd1.phase == Phase.MAINTENANCE
    assert pd1.repeat.rolling and pd1.repeat.interval_days == 21
    assert (pd1.window.before, pd1.window.after, pd1.lead_days, pd1.grace_days) == (3, 3, 3, 7)
    imaging = definition.event("IMAGING")
    assert imaging.repeat.max_duration == Duration(years=2)
    assert imaging.track == Track.IMAGING
    assert definition.event("REIRRADIATION").arms == frozenset({"SELECTIVE"})
    assert definition.event("REIRRADIATION").track == Track.DOSING
    assert definition.event("EOT").track == Track.STUDY
    assert not definition.event("UNSCHEDULED").schedulable


def test_arm_without_profile_is_standard():
    study = t_reirr_study()
    del study["arms"][0]["stop_rule_profile"]
    assert from_definition(study).profile("IMMEDIATE") == StopRuleProfile.STANDARD


def _broken(mutate):
    study = t_reirr_study()
    mutate(study)
    with pytest.raises(DefinitionError) as caught:
        from_definition(study)
    return caught.value


def _event(study, code):
    return next(e for e in study["schedule"]["events"] if e["code"] == code)


def test_previous_dose_anchor_is_refused_with_the_rolling_hint():
    error = _broken(lambda s: _event(s, "PD1").update(anchor="previous_dose"))
    assert error.path == "schedule.events[3].anchor"
    assert "rolling" in error.message


@pytest.mark.parametrize("anchor", ["first_maintenance_dose", "first_induction_dose"])
def test_a_dosing_series_cannot_wait_for_its_own_first_dose(anchor):
    # Such a series would never get a first target, so no dose could ever be recorded.
    error = _broken(lambda s: _event(s, "PD1").update(anchor=anchor))
    assert error.path == "schedule.events[3].anchor"
    assert "its own first dose" in error.message


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda s: _event(s, "PD1").update(offest_days=3), "schedule.events[3].offest_days"),
        (lambda s: _event(s, "PD1").update(anchor="first_visit"), "schedule.events[3].anchor"),
        (lambda s: _event(s, "PD1").update(kind="infusion"), "schedule.events[3].kind"),
        (
            lambda s: _event(s, "PD1")["window"].update(before=-1),
            "schedule.events[3].window.before",
        ),
        (lambda s: _event(s, "PD1")["window"].pop("after"), "schedule.events[3].window.after"),
        (
            lambda s: _event(s, "PD1")["repeat"].update(rolling=False),
            "schedule.events[3].repeat.rolling",
        ),
        (
            lambda s: _event(s, "IMAGING")["repeat"].update(rolling=True),
            "schedule.events[6].repeat.rolling",
        ),
        (lambda s: _event(s, "IMAGING")["repeat"].pop("max_duration"), "schedule.events[6].repeat"),
        (
            lambda s: _event(s, "IMAGING")["repeat"].update(interval_days=0),
            "schedule.events[6].repeat.interval_days",
        ),
        (
            lambda s: _event(s, "IMAGING")["repeat"].update(max_duration={"decades": 1}),
            "schedule.events[6].repeat.max_duration.decades",
        ),
        (lambda s: _event(s, "IMAGING").update(lead_days=True), "schedule.events[6].lead_days"),
        (
            lambda s: _event(s, "REIRRADIATION").update(arms=["DELAYED"]),
            "schedule.events[5].arms[0]",
        ),
        (lambda s: _event(s, "EOT").update(code="SCREEN"), "schedule.events[9].code"),
        (lambda s: s.update(pd1_cap={"anchor": "randomization"}), "pd1_cap.anchor"),
        (lambda s: s["arms"][1].update(stop_rule_profile="continue"), "arms[1].stop_rule_profile"),
        (lambda s: s.pop("schedule"), "schedule"),
        (lambda s: s["schedule"].update(events=[]), "schedule.events"),
    ],
)
def test_refuses_unusable_definitions_naming_the_path(mutate, path):
    assert _broken(mutate).path == path


def test_locoregional_continue_arm_needs_the_reirradiation_task():
    def drop_task(study):
        study["schedule"]["events"] = [
            e for e in study["schedule"]["events"] if e["code"] != "REIRRADIATION"
        ]

    error = _broken(drop_task)
    assert error.path == "arms[1].stop_rule_profile"


def test_study_without_pd1_cap_has_no_study_cap():
    study = t_reirr_study()
    del study["pd1_cap"]
    assert from_definition(study).treatment_cap is None


def test_events_keep_file_order():
    codes = [e.code for e in t_reirr().events]
    assert codes[:4] == ["SCREEN", "IND_CYCLE", "IND_IMAGING", "PD1"]
