import pytest

from edc.subjects.lifecycle import ALLOWED, TERMINAL, IllegalTransition, Status, check_transition

BEFORE = "register_before_induction"
AFTER = "enrol_after_induction"


@pytest.mark.parametrize(
    ("current", "target", "model"),
    [
        (Status.SCREEN_FAILED, Status.RANDOMIZED, AFTER),
        (Status.SCREEN_FAILED, Status.REGISTERED, BEFORE),
        (Status.SCREENING, Status.RANDOMIZED, AFTER),
        (Status.INDUCTION_FAILED, Status.RANDOMIZED, BEFORE),
        (Status.OFF_STUDY, Status.ON_TREATMENT, AFTER),
        (Status.RANDOMIZED, Status.SCREENING, AFTER),
        (Status.ON_TREATMENT, Status.RANDOMIZED, AFTER),
        (Status.SURVIVAL_FOLLOWUP, Status.ON_TREATMENT, AFTER),
        (Status.ON_TREATMENT_POST_RT, Status.REIRRADIATION_PENDING, BEFORE),
    ],
)
def test_illegal_transitions_are_refused(current, target, model):
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, target, model)
    assert err.value.code == "illegal_transition"
    assert f"from {current.value} to {target.value}" in str(err.value)


def test_randomizing_a_screen_failure_is_refused():
    with pytest.raises(IllegalTransition):
        check_transition("screen_failed", "randomized", BEFORE)


def test_enrolment_model_decides_the_path_after_registration():
    assert check_transition("registered", "induction", BEFORE) == Status.INDUCTION
    with pytest.raises(IllegalTransition, match="randomizes responders after on-study induction"):
        check_transition("registered", "randomized", BEFORE)
    assert check_transition("registered", "randomized", AFTER) == Status.RANDOMIZED
    with pytest.raises(IllegalTransition, match="no on-study induction"):
        check_transition("registered", "induction", AFTER)


def test_the_full_selective_arm_path_is_allowed():
    path = [
        "screening",
        "registered",
        "induction",
        "randomized",
        "on_treatment",
        "reirradiation_pending",
        "reirradiating",
        "on_treatment_post_rt",
        "off_treatment_followup",
        "survival_followup",
    ]
    for current, target in zip(path, path[1:], strict=False):
        check_transition(current, target, BEFORE)
    assert (
        check_transition("survival_followup", "off_study", BEFORE, off_study_reason="death")
        == Status.OFF_STUDY
    )


def test_going_off_study_needs_a_reason():
    with pytest.raises(IllegalTransition, match="reason"):
        check_transition("on_treatment", "off_study", AFTER)


def test_every_non_terminal_state_can_reach_off_study_and_terminals_go_nowhere():
    assert {Status.SCREEN_FAILED, Status.OFF_STUDY} == TERMINAL
    for state, targets in ALLOWED.items():
        if state not in TERMINAL:
            assert Status.OFF_STUDY in targets, state


def test_unknown_status_is_refused():
    with pytest.raises(IllegalTransition, match="unknown status"):
        check_transition("screening", "cured", AFTER)


def test_a_refusal_is_worded_in_the_readers_language_when_read():
    """The state machine imports no gettext: its refusal is a phrase, rendered when shown."""
    from django.utils import translation

    with pytest.raises(IllegalTransition) as refused:
        check_transition(Status.REGISTERED, Status.INDUCTION, AFTER)
    with translation.override("en"):
        assert refused.value.message == (
            "cannot move a subject from registered to induction (this study enrols after "
            "induction: there is no on-study induction)"
        )
    with translation.override("zh-hans"):
        chinese = refused.value.message
        assert chinese.startswith("受试者不能从 registered 转为 induction")
        assert "诱导" in chinese and refused.value.as_dict()["message"] == f"status: {chinese}"
    assert refused.value.as_dict()["code"] == "illegal_transition"
