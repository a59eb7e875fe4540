"""The query state machine, exhaustively: every status × action, every role × action."""

import itertools

import pytest

from edc.accounts.roles import GRANTS, Role
from edc.datamanagement.query_states import (
    TEXT_REQUIRED,
    IllegalQueryTransition,
    QueryAction,
    QueryStatus,
    actions_from,
    allowed_actions,
    is_unresolved,
    may,
    next_status,
)

# Issue #5: open → answered → closed; answered → open (re-query); any non-closed → cancelled.
EXPECTED = {
    ("open", "answer"): "answered",
    ("answered", "requery"): "open",
    ("answered", "close"): "closed",
    ("open", "cancel"): "cancelled",
    ("answered", "cancel"): "cancelled",
}
STATUSES = ["open", "answered", "closed", "cancelled"]
ACTIONS = ["answer", "requery", "close", "cancel"]
# Monitors and data managers raise/re-query/close/cancel; site staff and investigators answer.
MAY = {
    "site_staff": {"answer"},
    "investigator": {"answer"},
    "monitor": {"requery", "close", "cancel"},
    "data_manager": {"requery", "close", "cancel"},
    "statistician": set(),
    "study_admin": set(),
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(STATUSES, ACTIONS)))
def test_every_status_action_pair(status, action):
    if (status, action) in EXPECTED:
        assert next_status(status, action) == EXPECTED[(status, action)]
    else:
        with pytest.raises(IllegalQueryTransition) as caught:
            next_status(status, action)
        assert caught.value.status == 409
        assert caught.value.code == "illegal_transition"


def test_closed_and_cancelled_are_final():
    assert actions_from("closed") == []
    assert actions_from("cancelled") == []
    assert "final" in IllegalQueryTransition("closed", "answer").message


@pytest.mark.parametrize("bad", ["", "reopen", "ANSWER", "delete"])
def test_unknown_actions_and_statuses_are_refused(bad):
    with pytest.raises(IllegalQueryTransition):
        next_status("open", bad)
    with pytest.raises(IllegalQueryTransition):
        next_status(bad or "nothing", "answer")
    assert not may(bad, GRANTS[Role.MONITOR] | GRANTS[Role.SITE_STAFF])


@pytest.mark.parametrize(("role", "action"), list(itertools.product(MAY, ACTIONS)))
def test_who_may_do_what(role, action):
    assert may(action, GRANTS[Role(role)]) == (action in MAY[role])


@pytest.mark.parametrize(("role", "status"), list(itertools.product(MAY, STATUSES)))
def test_allowed_actions_combine_state_and_role(role, status):
    expected = {a for (s, a) in EXPECTED if s == status} & MAY[role]
    got = allowed_actions(status, GRANTS[Role(role)])
    assert set(got) == expected
    assert all(isinstance(a, QueryAction) for a in got)


def test_answer_requery_and_cancel_need_a_message_close_does_not():
    assert {a.value for a in TEXT_REQUIRED} == {"answer", "requery", "cancel"}


def test_unresolved_means_open_or_answered():
    assert [s for s in STATUSES if is_unresolved(s)] == ["open", "answered"]
    assert not is_unresolved("unknown")
    assert {s.value for s in QueryStatus} == set(STATUSES)
