"""The pure helpers of the reminders app (no database): next status change, event storage
round trip, events read from form data, e-mail text."""

import dataclasses
import datetime as dt
import itertools
from typing import get_args

import pytest

from edc.reminders import emails
from edc.reminders.event_codec import EventCodecError, decode, encode
from edc.reminders.form_events import affects_schedule, events_from_form, first_visit_date
from edc.reminders.timeline import evaluate, next_change, window_dates
from edc.schedule import events as ev
from edc.schedule.definition import Anchor
from edc.schedule.windows import VisitRecord, VisitStatus, status_on

D = dt.date
DAY = dt.timedelta(days=1)


# --- timeline --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "lead", "grace"),
    list(itertools.product((0, 3, 7), (0, 3, 14), (0, 3), (0, 7))),
)
def test_next_change_lands_exactly_on_every_day_the_status_changes(before, after, lead, grace):
    visit = VisitRecord("V", 1, D(2026, 5, 25), before, after, lead, grace)
    first, last = D(2026, 4, 1), D(2026, 7, 31)
    day, jumps = first, []
    while (following := next_change(visit, day)) is not None:
        jumps.append(following)
        day = following
    changes = [
        d
        for d in (first + k * DAY for k in range(1, (last - first).days))
        if status_on(visit, d).code != status_on(visit, d - DAY).code
    ]
    assert jumps == changes
    assert status_on(visit, jumps[-1]).code == VisitStatus.MISSED


def test_w1_boundaries_and_final_statuses():
    cycle4 = VisitRecord("PD1", 4, D(2026, 5, 25), 3, 3, 3, 7)
    assert evaluate(cycle4, D(2026, 5, 18)) == (VisitStatus.SCHEDULED, D(2026, 5, 19))
    assert evaluate(cycle4, D(2026, 5, 25)) == (VisitStatus.DUE, D(2026, 5, 29))
    assert evaluate(cycle4, D(2026, 6, 4)) == (VisitStatus.OVERDUE, D(2026, 6, 5))
    assert evaluate(cycle4, D(2026, 6, 5)) == (VisitStatus.MISSED, None)
    done = dataclasses.replace(cycle4, performed_on=D(2026, 5, 30))
    assert evaluate(done, D(2026, 5, 30)) == (VisitStatus.COMPLETED_OUT_OF_WINDOW, None)
    assert evaluate(cycle4, D(2026, 5, 20), later_visit_completed=True) == (
        VisitStatus.MISSED,
        None,
    )
    assert next_change(dataclasses.replace(cycle4, cancelled=True), D(2026, 5, 1)) is None
    dates = window_dates(D(2026, 5, 25), 7, 7, 3, 7)  # W2 first scan
    assert (dates.reminder_from, dates.window_start, dates.window_end, dates.missed_after) == (
        D(2026, 5, 15), D(2026, 5, 18), D(2026, 6, 1), D(2026, 6, 8)
    )  # fmt: skip


# --- event storage ---------------------------------------------------------------------------

SAMPLES = {
    ev.InductionResponseAssessed: {"response": "PR", "cycles_tolerated": 4},
    ev.Randomized: {"arm": "SELECTIVE"},
    ev.DoseGiven: {"event_code": "PD1"},
    ev.DoseHeld: {"event_code": "PD1"},
    ev.DoseResumed: {"event_code": "PD1"},
    ev.CycleSkipped: {"event_code": "PD1"},
    ev.Progression: {"site": ev.ProgressionSite.LOCOREGIONAL_ONLY},
    ev.TreatmentDiscontinued: {"reason": ev.DiscontinuationReason.UNACCEPTABLE_TOXICITY},
    ev.ConsentWithdrawn: {"scope": ev.WithdrawalScope.TREATMENT_ONLY},
    ev.AnchorCorrected: {"anchor": Anchor.RANDOMIZATION, "corrected_date": D(2026, 3, 9)},
}


@pytest.mark.parametrize("event_type", get_args(ev.ClinicalEvent), ids=lambda t: t.__name__)
def test_every_event_type_survives_storage(event_type):
    event = event_type(on=D(2026, 8, 17), **SAMPLES.get(event_type, {}))
    kind, on, payload = encode(event)
    assert kind == event_type.__name__ and on == D(2026, 8, 17)
    assert all(isinstance(v, str | int) for v in payload.values())  # JSON-safe
    assert decode(kind, on, payload) == event


def test_stored_rows_that_do_not_describe_an_event_are_refused():
    with pytest.raises(EventCodecError):
        decode("Coffee", D(2026, 1, 1), {})
    with pytest.raises(EventCodecError):
        decode("DoseGiven", D(2026, 1, 1), {})
    with pytest.raises(EventCodecError):
        decode("Progression", D(2026, 1, 1), {"site": "liver"})


# --- events from forms -----------------------------------------------------------------------

TRT = {
    "kind": "treatment",
    "items": [{"code": "EXSTDAT", "type": "date"}, {"code": "EXACTION", "type": "choice"}],
}
TU = {"kind": "tumour_assessment", "items": [{"code": "TUDAT", "type": "date"}]}
EOT = {"kind": "disposition", "items": [{"code": "EOTDAT", "type": "date"}]}
SURV = {
    "kind": "standard",
    "items": [{"code": "SSDAT", "type": "date"}, {"code": "SSSTAT", "type": "choice"}],
}
VS = {"kind": "standard", "items": [{"code": "VSDAT", "type": "date"}]}
AE = {"kind": "adverse_event", "items": [{"code": "AESTDAT", "type": "date"}]}
DOSING = {"code": "MAINT", "kind": "dosing"}
IMAGING = {"code": "TA", "kind": "imaging"}


@pytest.mark.parametrize(
    ("form", "visit", "data", "expected"),
    [
        (TRT, DOSING, {"EXSTDAT": "2026-05-04", "EXACTION": "GIVEN"}, [ev.DoseGiven(D(2026, 5, 4), "MAINT")]),
        (TRT, DOSING, {"EXSTDAT": "2026-05-04", "EXACTION": "DELAYED"}, [ev.DoseGiven(D(2026, 5, 4), "MAINT")]),
        (TRT, DOSING, {"EXSTDAT": "2026-05-04", "EXACTION": "HELD"}, [ev.DoseHeld(D(2026, 5, 4), "MAINT")]),
        (TRT, DOSING, {"EXSTDAT": "2026-05-04", "EXACTION": "RESUMED"}, [ev.DoseResumed(D(2026, 5, 4), "MAINT"), ev.DoseGiven(D(2026, 5, 4), "MAINT")]),
        (TRT, DOSING, {"EXSTDAT": "2026-05-04", "EXACTION": "DISCONTINUED"}, [ev.TreatmentDiscontinued(D(2026, 5, 4), ev.DiscontinuationReason.PERMANENT_DISCONTINUATION)]),
        (TRT, DOSING, {"EXSTDAT": "2026-05", "EXACTION": "GIVEN"}, []),  # partial date: no dose yet
        (TRT, IMAGING, {"EXSTDAT": "2026-05-04", "EXACTION": "GIVEN"}, []),  # not a dosing visit
        ({"kind": "treatment"}, IMAGING, {"RTSTDAT": "2026-09-01", "RTENDAT": "2026-10-13"}, [ev.RadiotherapyStarted(D(2026, 9, 1)), ev.RadiotherapyCompleted(D(2026, 10, 13))]),
        (TU, IMAGING, {"TUDAT": "2026-08-17", "RSORRES": "PD", "RSPDSITE": "LOCOREGIONAL_ONLY"}, [ev.Progression(D(2026, 8, 17), ev.ProgressionSite.LOCOREGIONAL_ONLY)]),
        (TU, IMAGING, {"TUDAT": "2026-08-17", "RSCALC": "PD"}, [ev.Progression(D(2026, 8, 17), ev.ProgressionSite.BOTH)]),
        (TU, IMAGING, {"TUDAT": "2026-08-17", "RSORRES": "SD", "RSCALC": "PD"}, []),  # the investigator's response wins
        (EOT, IMAGING, {"EOTDAT": "2026-08-17", "EOTRSN": "TOXICITY"}, [ev.TreatmentDiscontinued(D(2026, 8, 17), ev.DiscontinuationReason.UNACCEPTABLE_TOXICITY)]),
        (EOT, IMAGING, {"EOTDAT": "2026-08-17", "EOTRSN": "PD_ANY"}, []),
        (EOT, IMAGING, {"EOSDAT": "2026-08-17", "EOSRSN": "WITHDRAWAL_ALL"}, [ev.ConsentWithdrawn(D(2026, 8, 17), ev.WithdrawalScope.ALL_FOLLOW_UP)]),
        (SURV, IMAGING, {"SSDAT": "2027-01-05", "SSSTAT": "DEAD", "DTHDAT": "2026-12-30"}, [ev.Death(D(2026, 12, 30))]),
        (SURV, IMAGING, {"SSDAT": "2027-01-05", "SSSTAT": "ALIVE", "NEWTX": "Y"}, [ev.NewAnticancerTherapy(D(2027, 1, 5))]),
        (VS, IMAGING, {"PREGRES": "POS", "PREGDAT": "2026-06-01"}, [ev.Pregnancy(D(2026, 6, 1))]),
    ],
)  # fmt: skip
def test_events_read_from_form_data(form, visit, data, expected):
    assert events_from_form(form, visit, data) == expected


def test_induction_response_counts_the_doses_only_when_asked():
    asked = []
    form = {"kind": "standard", "items": [{"code": "INDORES"}]}
    assert affects_schedule(form)
    assert events_from_form(form, IMAGING, {"INDRSDAT": "2026-02-23", "INDORES": "PR"}, induction_doses=lambda: asked.append(1) or 4) == [
        ev.InductionResponseAssessed(D(2026, 2, 23), "PR", 4)
    ]  # fmt: skip
    assert events_from_form(
        TRT, DOSING, {"EXSTDAT": "2026-05-04"}, induction_doses=lambda: asked.append(1) or 4
    )
    assert asked == [1]
    assert not affects_schedule(VS) and not affects_schedule(AE)


def test_visit_date_comes_from_the_first_complete_non_ae_form_with_a_date():
    assert first_visit_date(
        [
            (AE, {"AESTDAT": "2026-05-01"}),
            (VS, None),
            (TU, {"TUDAT": "2026-05-26"}),
            (VS, {"VSDAT": "2026-05-20"}),
        ]
    ) == D(2026, 5, 26)
    assert first_visit_date([(AE, {"AESTDAT": "2026-05-01"}), (VS, {})]) is None


# --- e-mail text -----------------------------------------------------------------------------

FACTS = emails.VisitFacts(
    study_code="T-REIRR", site_code="01", subject_id="T-REIRR-01-0007", visit_name="PD-1 maintenance dose",
    event_code="PD1", sequence=4, cycle=4, target=D(2026, 5, 25), window_start=D(2026, 5, 22),
    window_end=D(2026, 5, 28), missed_after=D(2026, 6, 4),
)  # fmt: skip


@pytest.mark.parametrize("transition", sorted(emails.ANNOUNCED))
def test_every_announced_transition_has_a_message_naming_the_study_id(transition):
    title, body = emails.reminder(FACTS, transition, D(2026, 5, 19))
    assert title.startswith("[T-REIRR] T-REIRR-01-0007: PD-1 maintenance dose (PD1 cycle 4)")
    assert "Subject: T-REIRR-01-0007" in body and "target 2026-05-25" in title


def test_reminder_tells_what_to_do():
    _, upcoming = emails.reminder(FACTS, VisitStatus.UPCOMING, D(2026, 5, 19))
    assert "opens on 2026-05-22 (in 3 day(s))" in upcoming
    _, overdue = emails.reminder(FACTS, VisitStatus.OVERDUE, D(2026, 5, 29))
    assert "by 2026-06-04" in overdue and "protocol deviation" in overdue
    title, body = emails.digest("T-REIRR", "01", D(2026, 5, 30), [FACTS])
    assert title == "[T-REIRR] Site 01: 1 overdue visit on 2026-05-30"
    assert "- T-REIRR-01-0007: PD-1 maintenance dose (PD1 cycle 4), target 2026-05-25" in body
