"""Stop rules and the subject state machine of domain spec §4.3–§4.4. Pure Python, no Django.

`apply_event(state, event)` returns the state after one recorded clinical event; `replay` folds a
subject's events in date order. Stopping a track never deletes history: `plan` marks the
occurrences a stop cancels, and completed visits stay completed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

from edc.phrases import Phrase, gettext_noop, phrase
from edc.schedule.definition import (
    Anchor,
    EventDefinition,
    EventKind,
    ScheduleDefinition,
    StopRuleProfile,
)
from edc.schedule.dosing import SeriesState, outlook, pending_target
from edc.schedule.events import (
    SAME_DAY_ORDER,
    AnchorCorrected,
    ClinicalEvent,
    Consented,
    ConsentWithdrawn,
    CycleSkipped,
    Death,
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
    Randomized,
    Registered,
    ScreenFailed,
    StudyEnded,
    TreatmentDiscontinued,
    WithdrawalScope,
)
from edc.schedule.state import (
    PRE_RANDOMIZATION_STATUSES,
    TREATMENT_STATUSES,
    ClosedOccurrence,
    DoseOutcome,
    DosingSeries,
    ProgressionRecord,
    StopReason,
    StopRuleSettings,
    SubjectScheduleState,
    SubjectStatus,
    TrackStop,
    initial_state,
)


class ScheduleEventError(ValueError):
    """A recorded event that contradicts the subject's schedule (wrong order, stopped series, unknown code).

    Its message is a translatable phrase (edc/phrases.py): `str()` gives the English, `phrase`
    the template and values a page renders in its reader's language."""

    def __init__(self, message: Phrase):
        super().__init__(message)
        self.phrase = message


_RESPONDERS = frozenset({"CR", "PR"})


def apply_event(state: SubjectScheduleState, event: ClinicalEvent) -> SubjectScheduleState:
    if state.last_event_on is not None and event.on < state.last_event_on:
        raise ScheduleEventError(
            phrase(
                gettext_noop(
                    "{event} on {date} is earlier than the last event ({last}); replay the "
                    "subject's events in date order"
                ),
                event=type(event).__name__,
                date=event.on.isoformat(),
                last=state.last_event_on.isoformat(),
            )
        )
    if state.study_stop is not None and not isinstance(event, AnchorCorrected):
        raise ScheduleEventError(
            phrase(
                gettext_noop(
                    "the subject's schedule ended on {date} ({reason}); {event} cannot be applied"
                ),
                date=state.study_stop.on.isoformat(),
                reason=str(state.study_stop.reason),
                event=type(event).__name__,
            )
        )
    handler = _HANDLERS[type(event)]
    return replace(handler(state, event), last_event_on=event.on)


def replay(
    definition: ScheduleDefinition,
    events: Iterable[ClinicalEvent],
    settings: StopRuleSettings | None = None,
) -> SubjectScheduleState:
    """The schedule state after all events, applied in date order (ties: see events.SAME_DAY_ORDER)."""
    state = initial_state(definition, settings)
    ordered = sorted(events, key=lambda e: (e.on, SAME_DAY_ORDER[type(e)]))
    for event in ordered:
        state = apply_event(state, event)
    return state


def subject_status_after(state: SubjectScheduleState, event: ClinicalEvent) -> SubjectStatus:
    return apply_event(state, event).status


def reminders_allowed(state: SubjectScheduleState) -> bool:
    """False once the subject is dead, withdrawn from all follow-up or otherwise off study."""
    return state.study_stop is None and state.status not in (
        SubjectStatus.OFF_STUDY,
        SubjectStatus.SCREEN_FAILED,
    )


def off_study_reason(state: SubjectScheduleState) -> StopReason | None:
    return state.study_stop.reason if state.study_stop is not None else None


def holds_due_for_review(state: SubjectScheduleState, today: dt.date) -> tuple[str, ...]:
    """Dosing series held for at least `hold_review_days`: prompt the investigator to decide on permanent discontinuation."""
    limit = state.settings.hold_review_days
    return tuple(
        code
        for code, series in state.dosing.items()
        if series.held_since is not None and (today - series.held_since).days >= limit
    )


def meets_lost_to_follow_up(
    failed_contacts: Sequence[dt.date], settings: StopRuleSettings | None = None
) -> bool:
    """Default rule [A]: at least 3 documented failed contacts spanning at least 30 days."""
    settings = settings or StopRuleSettings()
    if len(failed_contacts) < settings.lost_contact_attempts:
        return False
    return (max(failed_contacts) - min(failed_contacts)).days >= settings.lost_contact_span_days


# --- handlers -------------------------------------------------------------------------------


def _consented(state: SubjectScheduleState, event: Consented) -> SubjectScheduleState:
    _require_status(state, event, {SubjectStatus.SCREENING})
    return _with_anchor(state, Anchor.CONSENT, event.on)


def _registered(state: SubjectScheduleState, event: Registered) -> SubjectScheduleState:
    _require_status(state, event, {SubjectStatus.SCREENING})
    return replace(
        _with_anchor(state, Anchor.REGISTRATION, event.on), status=SubjectStatus.REGISTERED
    )


def _screen_failed(state: SubjectScheduleState, event: ScreenFailed) -> SubjectScheduleState:
    _require_status(state, event, {SubjectStatus.SCREENING, SubjectStatus.REGISTERED})
    return replace(
        state,
        status=SubjectStatus.SCREEN_FAILED,
        study_stop=TrackStop(event.on, StopReason.SCREEN_FAILURE),
    )


def _induction_response(
    state: SubjectScheduleState, event: InductionResponseAssessed
) -> SubjectScheduleState:
    _require_status(state, event, PRE_RANDOMIZATION_STATUSES)
    state = _with_anchor(state, Anchor.INDUCTION_END, event.on, overwrite=True)
    responder = event.response.upper() in _RESPONDERS
    if responder and event.cycles_tolerated >= state.settings.min_induction_cycles:
        return _set_stop(state, "induction_stop", event.on, StopReason.INDUCTION_COMPLETED)
    return _fail_induction(state, event.on, StopReason.INDUCTION_FAILURE)


def _randomized(state: SubjectScheduleState, event: Randomized) -> SubjectScheduleState:
    _require_status(state, event, PRE_RANDOMIZATION_STATUSES)
    if (
        state.induction_stop is not None
        and state.induction_stop.reason != StopReason.INDUCTION_COMPLETED
    ):
        raise ScheduleEventError(
            phrase(
                gettext_noop("induction ended with {reason}: the subject cannot be randomized"),
                reason=str(state.induction_stop.reason),
            )
        )
    try:
        state.definition.arm(event.arm)
    except KeyError:
        raise ScheduleEventError(
            phrase(gettext_noop("unknown arm {arm}"), arm=repr(event.arm))
        ) from None
    state = _with_anchor(state, Anchor.RANDOMIZATION, event.on)
    state = _set_stop(state, "induction_stop", event.on, StopReason.INDUCTION_COMPLETED)
    return replace(state, arm=event.arm, status=SubjectStatus.RANDOMIZED)


def _dose_given(state: SubjectScheduleState, event: DoseGiven) -> SubjectScheduleState:
    definition, series, target = _open_series(state, event)
    if series.closed and event.on < series.closed[-1].on:
        raise ScheduleEventError(
            phrase(
                gettext_noop("{event}: dose on {date} precedes the previous dose"),
                event=definition.code,
                date=event.on.isoformat(),
            )
        )
    closed = ClosedOccurrence(target=target, outcome=DoseOutcome.GIVEN, on=event.on)
    state = _with_series(state, definition, DosingSeries(closed=(*series.closed, closed)))
    if definition.is_induction_dosing:
        state = _with_anchor(state, Anchor.FIRST_INDUCTION_DOSE, event.on)
        if state.status == SubjectStatus.REGISTERED:
            state = replace(state, status=SubjectStatus.INDUCTION)
    if definition.is_treatment_dosing:
        state = _with_anchor(state, Anchor.FIRST_MAINTENANCE_DOSE, event.on)
        if state.status == SubjectStatus.RANDOMIZED:
            state = replace(state, status=SubjectStatus.ON_TREATMENT)
    return _stop_if_capped(state, event.on)


def _dose_held(state: SubjectScheduleState, event: DoseHeld) -> SubjectScheduleState:
    definition, series, _ = _open_series(state, event)
    if series.held_since is not None:
        raise ScheduleEventError(
            phrase(
                gettext_noop("{event}: dosing is already on hold since {date}"),
                event=definition.code,
                date=series.held_since.isoformat(),
            )
        )
    return _with_series(state, definition, replace(series, held_since=event.on))


def _dose_resumed(state: SubjectScheduleState, event: DoseResumed) -> SubjectScheduleState:
    definition, series, target = _open_series(state, event)
    if series.held_since is None:
        raise ScheduleEventError(
            phrase(gettext_noop("{event}: dosing is not on hold"), event=definition.code)
        )
    closed = ClosedOccurrence(target=target, outcome=DoseOutcome.HELD, on=event.on)
    new_series = DosingSeries(closed=(*series.closed, closed), next_target_override=event.on)
    return _stop_if_capped(_with_series(state, definition, new_series), event.on)


def _cycle_skipped(state: SubjectScheduleState, event: CycleSkipped) -> SubjectScheduleState:
    definition, series, target = _open_series(state, event)
    interval = definition.repeat.interval_days if definition.repeat else 0
    closed = ClosedOccurrence(target=target, outcome=DoseOutcome.SKIPPED, on=event.on)
    new_series = DosingSeries(
        closed=(*series.closed, closed), next_target_override=target + dt.timedelta(days=interval)
    )
    return _stop_if_capped(_with_series(state, definition, new_series), event.on)


def _rt_started(state: SubjectScheduleState, event: RadiotherapyStarted) -> SubjectScheduleState:
    state = _with_anchor(state, Anchor.RT_START, event.on, overwrite=True)
    if state.status == SubjectStatus.REIRRADIATION_PENDING:
        state = replace(state, status=SubjectStatus.REIRRADIATING)
    return state


def _rt_completed(
    state: SubjectScheduleState, event: RadiotherapyCompleted
) -> SubjectScheduleState:
    state = _with_anchor(state, Anchor.RT_END, event.on, overwrite=True)
    if state.status == SubjectStatus.REIRRADIATING:
        state = replace(state, status=SubjectStatus.ON_TREATMENT_POST_RT)
    return state


def _progression(state: SubjectScheduleState, event: Progression) -> SubjectScheduleState:
    if state.status == SubjectStatus.SCREENING:
        raise ScheduleEventError(
            phrase(gettext_noop("progression before registration is not a study event"))
        )
    if state.status in PRE_RANDOMIZATION_STATUSES:
        return _fail_induction(state, event.on, StopReason.INDUCTION_FAILURE)
    if state.status == SubjectStatus.INDUCTION_FAILED:
        return _with_anchor(state, Anchor.PROGRESSION, event.on)
    continues = _treatment_continues_after(state, event)
    state = replace(
        _with_anchor(state, Anchor.PROGRESSION, event.on),
        progressions=(*state.progressions, ProgressionRecord(event.on, event.site, continues)),
    )
    if continues:
        state = _with_anchor(state, Anchor.LOCOREGIONAL_PROGRESSION, event.on)
        return replace(
            state,
            status=SubjectStatus.REIRRADIATION_PENDING,
            recist_episode=state.recist_episode + 1,
        )
    state = _stop_dosing(state, event.on, StopReason.PROGRESSION)
    state = _set_stop(state, "imaging_stop", event.on, StopReason.PROGRESSION)
    state = _with_anchor(state, Anchor.SURVIVAL_FOLLOWUP_START, event.on)
    return replace(state, status=SubjectStatus.SURVIVAL_FOLLOWUP)


def _treatment_continues_after(state: SubjectScheduleState, event: Progression) -> bool:
    """Selective / salvage arms: the first locoregional PD leads to (re-)irradiation with PD-1 continued."""
    if state.definition.profile(state.arm) != StopRuleProfile.LOCOREGIONAL_CONTINUE:
        return False
    if state.progressions or state.dosing_stop is not None:
        return False
    if event.site == ProgressionSite.LOCOREGIONAL_ONLY:
        return True
    return (
        event.site == ProgressionSite.BOTH
        and state.settings.combined_progression_allows_reirradiation
    )


def _discontinued(
    state: SubjectScheduleState, event: TreatmentDiscontinued
) -> SubjectScheduleState:
    return _stop_treatment(state, event.on, StopReason(event.reason.value))


def _new_therapy(state: SubjectScheduleState, event: NewAnticancerTherapy) -> SubjectScheduleState:
    if state.status in PRE_RANDOMIZATION_STATUSES:
        return _fail_induction(state, event.on, StopReason.NEW_ANTICANCER_THERAPY)
    state = _stop_dosing(state, event.on, StopReason.NEW_ANTICANCER_THERAPY)
    state = _set_stop(state, "imaging_stop", event.on, StopReason.NEW_ANTICANCER_THERAPY)
    state = _with_anchor(state, Anchor.SURVIVAL_FOLLOWUP_START, event.on)
    return replace(state, status=_status_off_treatment(state))


def _withdrawn(state: SubjectScheduleState, event: ConsentWithdrawn) -> SubjectScheduleState:
    if event.scope == WithdrawalScope.TREATMENT_ONLY:
        return _stop_treatment(state, event.on, StopReason.WITHDRAWAL_TREATMENT)
    return _end_study(state, event.on, StopReason.WITHDRAWAL_ALL)


def _lost(state: SubjectScheduleState, event: LostToFollowUp) -> SubjectScheduleState:
    return _end_study(state, event.on, StopReason.LOST_TO_FOLLOW_UP)


def _pregnancy(state: SubjectScheduleState, event: Pregnancy) -> SubjectScheduleState:
    state = _with_anchor(state, Anchor.PREGNANCY, event.on)
    return _stop_treatment(state, event.on, StopReason.PREGNANCY)


def _death(state: SubjectScheduleState, event: Death) -> SubjectScheduleState:
    return _end_study(state, event.on, StopReason.DEATH)


def _study_ended(state: SubjectScheduleState, event: StudyEnded) -> SubjectScheduleState:
    return _end_study(state, event.on, StopReason.STUDY_END)


def _anchor_corrected(state: SubjectScheduleState, event: AnchorCorrected) -> SubjectScheduleState:
    if event.anchor not in state.anchors:
        raise ScheduleEventError(
            phrase(
                gettext_noop("anchor {anchor} has no date yet, so there is nothing to correct"),
                anchor=str(event.anchor),
            )
        )
    return _with_anchor(state, event.anchor, event.corrected_date, overwrite=True)


_HANDLERS = {
    Consented: _consented,
    Registered: _registered,
    ScreenFailed: _screen_failed,
    InductionResponseAssessed: _induction_response,
    Randomized: _randomized,
    DoseGiven: _dose_given,
    DoseHeld: _dose_held,
    DoseResumed: _dose_resumed,
    CycleSkipped: _cycle_skipped,
    RadiotherapyStarted: _rt_started,
    RadiotherapyCompleted: _rt_completed,
    Progression: _progression,
    TreatmentDiscontinued: _discontinued,
    NewAnticancerTherapy: _new_therapy,
    ConsentWithdrawn: _withdrawn,
    LostToFollowUp: _lost,
    Pregnancy: _pregnancy,
    Death: _death,
    StudyEnded: _study_ended,
    AnchorCorrected: _anchor_corrected,
}


# --- building blocks ------------------------------------------------------------------------


def _stop_treatment(
    state: SubjectScheduleState, on: dt.date, reason: StopReason
) -> SubjectScheduleState:
    """Stop dosing only: imaging continues until PD, then survival follow-up."""
    if state.status in PRE_RANDOMIZATION_STATUSES:
        return _fail_induction(state, on, reason)
    state = _stop_dosing(state, on, reason)
    return replace(state, status=_status_off_treatment(state))


def _stop_dosing(
    state: SubjectScheduleState, on: dt.date, reason: StopReason
) -> SubjectScheduleState:
    """Stop every dosing series; a subject who received any dose gets EOT, safety and irAE follow-up anchors."""
    if state.dosing_stop is not None:
        return state
    state = _set_stop(state, "dosing_stop", on, reason)
    dose_dates = [d for series in state.dosing.values() for d in series.dose_dates]
    if dose_dates:
        last = max(dose_dates)
        state = _with_anchor(state, Anchor.TREATMENT_STOP_DECISION, on)
        state = _with_anchor(state, Anchor.LAST_DOSE, last)
        state = _with_anchor(state, Anchor.LAST_PD1_DOSE, last)
    return state


def _stop_if_capped(state: SubjectScheduleState, on: dt.date) -> SubjectScheduleState:
    """Treatment ends (2-year cap / maximum doses) when no started treatment series may dose again."""
    if state.dosing_stop is not None:
        return state
    outlooks = [
        outlook(state, event).state
        for event in state.definition.events
        if event.is_treatment_dosing and event.applies_to(state.arm)
    ]
    if SeriesState.CAPPED in outlooks and SeriesState.OPEN not in outlooks:
        state = _stop_dosing(state, on, StopReason.TREATMENT_CAP)
        if state.status in TREATMENT_STATUSES:
            state = replace(state, status=_status_off_treatment(state))
    return state


def _fail_induction(
    state: SubjectScheduleState, on: dt.date, reason: StopReason
) -> SubjectScheduleState:
    """Not randomized: induction visits stop; off study unless survival follow-up or pregnancy follow-up is due."""
    state = _set_stop(state, "induction_stop", on, reason)
    state = _stop_dosing(state, on, reason)
    state = _set_stop(state, "imaging_stop", on, reason)
    state = replace(state, status=SubjectStatus.INDUCTION_FAILED)
    if state.settings.induction_failure_survival_followup:
        return _with_anchor(state, Anchor.SURVIVAL_FOLLOWUP_START, on)
    if reason == StopReason.PREGNANCY:
        return state
    return replace(state, study_stop=TrackStop(on, reason))


def _end_study(
    state: SubjectScheduleState, on: dt.date, reason: StopReason
) -> SubjectScheduleState:
    return replace(state, study_stop=TrackStop(on, reason), status=SubjectStatus.OFF_STUDY)


def _status_off_treatment(state: SubjectScheduleState) -> SubjectStatus:
    if (
        state.status not in TREATMENT_STATUSES
        and state.status != SubjectStatus.OFF_TREATMENT_FOLLOWUP
    ):
        return state.status
    if state.imaging_stop is not None:
        return SubjectStatus.SURVIVAL_FOLLOWUP
    return SubjectStatus.OFF_TREATMENT_FOLLOWUP


def _open_series(
    state: SubjectScheduleState, event: DoseGiven | DoseHeld | DoseResumed | CycleSkipped
) -> tuple[EventDefinition, DosingSeries, dt.date]:
    try:
        definition = state.definition.event(event.event_code)
    except KeyError:
        raise ScheduleEventError(
            phrase(gettext_noop("unknown schedule event {event}"), event=repr(event.event_code))
        ) from None
    if definition.kind != EventKind.DOSING:
        raise ScheduleEventError(
            phrase(gettext_noop("{event} is not a dosing event"), event=definition.code)
        )
    if not definition.applies_to(state.arm):
        raise ScheduleEventError(
            phrase(
                gettext_noop("{event} does not apply to arm {arm}"),
                event=definition.code,
                arm=str(state.arm),
            )
        )
    if state.dosing_stop is not None:
        raise ScheduleEventError(
            phrase(
                gettext_noop("dosing stopped on {date} ({reason})"),
                date=state.dosing_stop.on.isoformat(),
                reason=str(state.dosing_stop.reason),
            )
        )
    if definition.is_induction_dosing and state.induction_stop is not None:
        raise ScheduleEventError(
            phrase(
                gettext_noop("induction ended on {date} ({reason})"),
                date=state.induction_stop.on.isoformat(),
                reason=str(state.induction_stop.reason),
            )
        )
    view = outlook(state, definition)
    if view.state == SeriesState.NOT_STARTED:
        raise ScheduleEventError(
            phrase(
                gettext_noop("{event} has no target yet: its anchor {anchor} is unknown"),
                event=definition.code,
                anchor=str(definition.anchor),
            )
        )
    if view.state == SeriesState.CAPPED:
        raise ScheduleEventError(
            phrase(
                gettext_noop("{event} is complete: {doses} doses, cap date {date}"),
                event=definition.code,
                doses=str(view.doses_counted),
                date=str(view.cap_date),
            )
        )
    target = pending_target(state, definition)
    assert target is not None
    return definition, state.series(definition.code), target


def _with_series(
    state: SubjectScheduleState, event: EventDefinition, series: DosingSeries
) -> SubjectScheduleState:
    return replace(state, dosing={**state.dosing, event.code: series})


def _with_anchor(
    state: SubjectScheduleState, anchor: Anchor, on: dt.date, *, overwrite: bool = False
) -> SubjectScheduleState:
    if anchor in state.anchors and not overwrite:
        return state
    return replace(state, anchors={**state.anchors, anchor: on})


def _set_stop(
    state: SubjectScheduleState, track: str, on: dt.date, reason: StopReason
) -> SubjectScheduleState:
    if getattr(state, track) is not None:
        return state
    return replace(state, **{track: TrackStop(on, reason)})


def _require_status(
    state: SubjectScheduleState, event: ClinicalEvent, allowed: Iterable[SubjectStatus]
) -> None:
    allowed = frozenset(allowed)
    if state.status not in allowed:
        raise ScheduleEventError(
            phrase(
                gettext_noop(
                    "{event} is not possible while the subject is {status} (possible from: {allowed})"
                ),
                event=type(event).__name__,
                status=str(state.status),
                allowed=", ".join(sorted(allowed)),
            )
        )
