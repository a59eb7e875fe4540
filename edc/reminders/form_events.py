"""Which schedule events a saved case report form records. Pure Python, no Django.

The item contract (CDASH-style codes of the seed study files):

* `treatment` forms at a dosing visit: dose date EXSTDAT (maintenance) or INDDAT (induction),
  action EXACTION / INDACT: GIVEN, DELAYED, DOSE_REDUCED → dose given; RESUMED → dosing resumes
  and the dose is given; HELD → dose held for toxicity (reminders pause); DISCONTINUED → PD-1
  permanently discontinued. Induction forms with PD1GIVEN = N and CHEMGIVN = N record no dose.
* `treatment` forms with RTSTDAT / RTENDAT: radiotherapy started / completed.
* `tumour_assessment` forms: overall response RSORRES (else the calculated RSCALC) = PD on TUDAT
  is a progression; its site class is RSPDSITE (missing: treated as locoregional + distant, the
  class that never continues PD-1 by default).
* post-induction response: INDRSDAT with INDORES (else INDINVR).
* `disposition` forms: end of treatment (EOTDAT, EOTRSN) and end of study (EOSDAT, EOSRSN).
* survival contact: SSSTAT = DEAD (DTHDAT), NEWTX = Y (NEWTXDAT), SSPROG = Y (SSPRGDAT).
* pregnancy test: PREGRES = POS on PREGDAT.

Only complete forms record events; anything not listed records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from edc.schedule.events import (
    ClinicalEvent,
    ConsentWithdrawn,
    Death,
    DiscontinuationReason,
    DoseGiven,
    DoseHeld,
    DoseResumed,
    InductionResponseAssessed,
    LostToFollowUp,
    NewAnticancerTherapy,
    Pregnancy,
    Progression,
    ProgressionSite,
    RadiotherapyCompleted,
    RadiotherapyStarted,
    StudyEnded,
    TreatmentDiscontinued,
    WithdrawalScope,
)

SCHEDULE_FORM_KINDS = frozenset({"treatment", "tumour_assessment", "disposition"})
# Items that make a form of another kind (survival, response, pregnancy) schedule-relevant.
SCHEDULE_ITEMS = frozenset({"INDORES", "INDINVR", "SSSTAT", "NEWTX", "SSPROG", "PREGRES"})

_GIVEN = frozenset({"GIVEN", "DELAYED", "DOSE_REDUCED"})
_SITES = {
    "LOCOREGIONAL_ONLY": ProgressionSite.LOCOREGIONAL_ONLY,
    "DISTANT_ONLY": ProgressionSite.DISTANT_ONLY,
    "BOTH": ProgressionSite.BOTH,
}
_END_OF_TREATMENT: dict[str, Callable[[dt.date], ClinicalEvent]] = {
    "TOXICITY": lambda d: TreatmentDiscontinued(d, DiscontinuationReason.UNACCEPTABLE_TOXICITY),
    "INVESTIGATOR": lambda d: TreatmentDiscontinued(d, DiscontinuationReason.INVESTIGATOR_DECISION),
    "OTHER": lambda d: TreatmentDiscontinued(d, DiscontinuationReason.PERMANENT_DISCONTINUATION),
    "WITHDRAWAL_TREATMENT": lambda d: ConsentWithdrawn(d, WithdrawalScope.TREATMENT_ONLY),
    "WITHDRAWAL_ALL": lambda d: ConsentWithdrawn(d, WithdrawalScope.ALL_FOLLOW_UP),
    "NEW_THERAPY": NewAnticancerTherapy,
    "PREGNANCY": Pregnancy,
    "DEATH": Death,
    "LOST_TO_FOLLOW_UP": LostToFollowUp,
    "STUDY_END": StudyEnded,
    # PD_ANY, PD_AFTER_LOCAL_TREATMENT, PD1_CAP_REACHED, TREATMENT_COMPLETED: the engine already
    # stopped treatment from the progression or the dose that reached the cap.
}
_END_OF_STUDY: dict[str, Callable[[dt.date], ClinicalEvent]] = {
    "WITHDRAWAL_ALL": lambda d: ConsentWithdrawn(d, WithdrawalScope.ALL_FOLLOW_UP),
    "LOST_TO_FOLLOW_UP": LostToFollowUp,
    "DEATH": Death,
    "STUDY_END": StudyEnded,
    "COMPLETED": StudyEnded,
    "NOT_RANDOMIZED": StudyEnded,
    "OTHER": StudyEnded,
}


def affects_schedule(form: Mapping[str, Any]) -> bool:
    """Whether saving this form (definition) can record a schedule event."""
    if form.get("kind") in SCHEDULE_FORM_KINDS:
        return True
    return any(item.get("code") in SCHEDULE_ITEMS for item in form.get("items", []))


def events_from_form(
    form: Mapping[str, Any],
    visit: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    induction_doses: Callable[[], int] = lambda: 0,
) -> list[ClinicalEvent]:
    """The events a complete form records. `visit` is the schedule event the form was filled at;
    `induction_doses` counts the induction doses given, asked only for a response assessment."""
    events: list[ClinicalEvent] = []
    kind = form.get("kind")
    if kind == "treatment":
        events += _dosing(visit, data)
        events += _radiotherapy(data)
    if kind == "tumour_assessment":
        events += _progression(data)
    if kind == "disposition":
        events += _disposition(data)
    events += _induction_response(data, induction_doses)
    events += _survival(data)
    if data.get("PREGRES") == "POS" and _date(data, "PREGDAT"):
        events.append(Pregnancy(_date(data, "PREGDAT")))
    return events


def visit_date(form: Mapping[str, Any], data: Mapping[str, Any]) -> dt.date | None:
    """The date a form documents its visit: its first date item, unless it is an AE form (whose
    dates are onsets, not visits)."""
    if form.get("kind") == "adverse_event":
        return None
    for item in form.get("items", []):
        if item.get("type") == "date":
            return _date(data, item["code"])
    return None


def first_visit_date(
    forms_in_order: Sequence[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
) -> dt.date | None:
    """The visit's performed date: from the first form of the visit's list that is complete
    (`data` not None) and documents a date."""
    for form, data in forms_in_order:
        if data is None:
            continue
        day = visit_date(form, data)
        if day is not None:
            return day
    return None


def _dosing(visit: Mapping[str, Any], data: Mapping[str, Any]) -> list[ClinicalEvent]:
    if visit.get("kind") != "dosing":
        return []
    day = _date(data, "EXSTDAT") or _date(data, "INDDAT")
    action = data.get("EXACTION") or data.get("INDACT") or "GIVEN"
    if day is None:
        return []
    code = visit["code"]
    if action == "HELD":
        return [DoseHeld(day, code)]
    if action == "DISCONTINUED":
        return [TreatmentDiscontinued(day, DiscontinuationReason.PERMANENT_DISCONTINUATION)]
    if data.get("PD1GIVEN") == "N" and data.get("CHEMGIVN", "N") == "N":
        return []
    if action == "RESUMED":
        return [DoseResumed(day, code), DoseGiven(day, code)]
    if action in _GIVEN:
        return [DoseGiven(day, code)]
    return []


def _radiotherapy(data: Mapping[str, Any]) -> list[ClinicalEvent]:
    events: list[ClinicalEvent] = []
    if start := _date(data, "RTSTDAT"):
        events.append(RadiotherapyStarted(start))
    if end := _date(data, "RTENDAT"):
        events.append(RadiotherapyCompleted(end))
    return events


def _progression(data: Mapping[str, Any]) -> list[ClinicalEvent]:
    response = data.get("RSORRES") or data.get("RSCALC")
    day = _date(data, "TUDAT")
    if response != "PD" or day is None:
        return []
    return [Progression(day, _SITES.get(data.get("RSPDSITE") or "", ProgressionSite.BOTH))]


def _disposition(data: Mapping[str, Any]) -> list[ClinicalEvent]:
    events: list[ClinicalEvent] = []
    end_treatment = _END_OF_TREATMENT.get(data.get("EOTRSN") or "")
    if end_treatment and (day := _date(data, "EOTDAT")):
        events.append(end_treatment(day))
    end_study = _END_OF_STUDY.get(data.get("EOSRSN") or "")
    if end_study and (day := _date(data, "EOSDAT")):
        events.append(end_study(day))
    return events


def _induction_response(
    data: Mapping[str, Any], induction_doses: Callable[[], int]
) -> list[ClinicalEvent]:
    response = data.get("INDORES") or data.get("INDINVR")
    day = _date(data, "INDRSDAT")
    if not response or day is None:
        return []
    return [InductionResponseAssessed(day, str(response), induction_doses())]


def _survival(data: Mapping[str, Any]) -> list[ClinicalEvent]:
    events: list[ClinicalEvent] = []
    contact = _date(data, "SSDAT")
    if data.get("SSPROG") == "Y" and (day := _date(data, "SSPRGDAT") or contact):
        events.append(Progression(day, ProgressionSite.BOTH))
    if data.get("NEWTX") == "Y" and (day := _date(data, "NEWTXDAT") or contact):
        events.append(NewAnticancerTherapy(day))
    if data.get("SSSTAT") == "DEAD" and (day := _date(data, "DTHDAT") or contact):
        events.append(Death(day))
    return events


def _date(data: Mapping[str, Any], code: str) -> dt.date | None:
    """A complete ISO date, or None for a missing or partial one ("2026-05")."""
    value = data.get(code)
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None
