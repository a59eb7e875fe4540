"""Casebook layout from the schedule: pure, no database."""

from crf.casebook import COMPLETE, IN_PROGRESS, NOT_STARTED, SavedForm, build_casebook
from crf.study_forms import StudyForms
from tests.crf.conftest import crf_definition


def forms():
    return StudyForms.of(crf_definition())


def saved(pk, event, er, form, fr=1, status="complete"):
    return SavedForm(pk, event, er, form, fr, status)


def test_empty_casebook_lists_every_visit_and_the_first_visit_to_do():
    book = build_casebook(forms(), [])
    assert [v.event_code for v in book.visits] == [
        "SCREENING",
        "INDUCTION",
        "INDUCTION_TA",
        "INDUCTION_RESP",
        "RANDOMIZATION",
    ]  # REIRR is for arm A only; the unscheduled visit has no occurrence yet
    assert [f.form_code for f in book.todo] == ["dm", "lb", "stg", "tu_bl", "elig", "wide"]
    assert {(v.event_code, v.repeat) for v in book.new_visits} == {("UNSCHEDULED", 1)}


def test_statuses_to_do_order_and_next_repeats():
    book = build_casebook(
        forms(),
        [
            saved(1, "SCREENING", 1, "dm"),
            saved(2, "INDUCTION", 1, "ind", status="in_progress"),
            saved(3, "INDUCTION", 1, "ae", 1),
            saved(4, "INDUCTION", 1, "ae", 2),
        ],
        arm_code="A",
    )
    screening = book.visits[0]
    assert [(f.form_code, f.status) for f in screening.forms][:2] == [
        ("dm", COMPLETE),
        ("lb", NOT_STARTED),
    ]
    assert book.todo[0].form_code == "ind" and book.todo[0].status == IN_PROGRESS
    induction = next(v for v in book.visits if v.event_code == "INDUCTION")
    assert [f.name for f in induction.forms if f.form_code == "ae"] == [
        "Adverse events (CTCAE v5.0) #1",
        "Adverse events (CTCAE v5.0) #2",
    ]
    assert [(n.form_code, n.form_repeat) for n in induction.new_forms] == [("ae", 3)]
    assert ("INDUCTION", 2) in {(v.event_code, v.repeat) for v in book.new_visits}
    assert "REIRR" in [v.event_code for v in book.visits]  # the subject's arm has it


def test_signed_and_locked_flags_win():
    class Flags:
        def __init__(self, locked=None, signed=False):
            self.locked, self.signed = locked, signed

    book = build_casebook(
        forms(),
        [saved(1, "SCREENING", 1, "dm"), saved(2, "SCREENING", 1, "lb")],
        flags={1: Flags(signed=True), 2: Flags(locked="subject", signed=True)},
    )
    statuses = {f.form_code: f.status for f in book.visits[0].forms}
    assert (statuses["dm"], statuses["lb"]) == ("signed", "locked")


def test_due_visits_join_the_to_do_list():
    book = build_casebook(forms(), [saved(1, "SCREENING", 1, "dm")], due=[("RANDOMIZATION", 1)])
    assert {(f.event_code, f.form_code) for f in book.todo} >= {("RANDOMIZATION", "rand")}
