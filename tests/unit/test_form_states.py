"""The one state a form shows in the site status grid."""

from edc.datamanagement.form_states import ICONS, ORDER, FormState, form_state


def test_a_form_never_saved_is_not_started_whatever_else():
    assert form_state(None) is FormState.NOT_STARTED
    assert form_state("removed", locked=True) is FormState.NOT_STARTED


def test_data_status_when_nothing_is_marked():
    assert form_state("in_progress") is FormState.IN_PROGRESS
    assert form_state("complete") is FormState.COMPLETE
    assert form_state("not_done") is FormState.COMPLETE


def test_marks_rank_lock_then_query_then_signature_then_verification():
    every = {"locked": True, "signed": True, "verified": True, "open_queries": 2}
    assert form_state("complete", **every) is FormState.LOCKED
    assert form_state("complete", **{**every, "locked": False}) is FormState.OPEN_QUERY
    assert form_state("complete", signed=True, verified=True) is FormState.SIGNED
    assert form_state("complete", verified=True) is FormState.VERIFIED
    assert form_state("in_progress", open_queries=1) is FormState.OPEN_QUERY


def test_every_state_has_a_distinct_symbol_in_the_legend():
    assert set(ORDER) == set(FormState)
    assert len({ICONS[s] for s in ORDER}) == len(ORDER)
