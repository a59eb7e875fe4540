"""A subject's schedule state: everything `plan` needs besides the study definition. Pure Python.

The state is immutable; `stop_rules.apply_event` returns a new one. Mappings held here are never
mutated after construction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from edc.schedule.definition import Anchor, ScheduleDefinition
from edc.schedule.events import ProgressionSite
from edc.subjects.lifecycle import Status as SubjectStatus  # the lifecycle's own statuses

TREATMENT_STATUSES = frozenset(
    {
        SubjectStatus.RANDOMIZED,
        SubjectStatus.ON_TREATMENT,
        SubjectStatus.REIRRADIATION_PENDING,
        SubjectStatus.REIRRADIATING,
        SubjectStatus.ON_TREATMENT_POST_RT,
    }
)
PRE_RANDOMIZATION_STATUSES = frozenset({SubjectStatus.REGISTERED, SubjectStatus.INDUCTION})


class StopReason(StrEnum):
    # Off-study values equal edc.subjects.lifecycle.OffStudyReason where both exist.
    PROGRESSION = "progression"
    UNACCEPTABLE_TOXICITY = "unacceptable_toxicity"
    INVESTIGATOR_DECISION = "investigator_decision"
    PERMANENT_DISCONTINUATION = "pd1_permanently_discontinued"
    TREATMENT_CAP = "treatment_cap"
    NEW_ANTICANCER_THERAPY = "new_anticancer_therapy"
    WITHDRAWAL_TREATMENT = "withdrawal_treatment_only"
    WITHDRAWAL_ALL = "withdrawal_all_follow_up"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    PREGNANCY = "pregnancy"
    DEATH = "death"
    STUDY_END = "study_end"
    SCREEN_FAILURE = "screen_failure"
    INDUCTION_FAILURE = "induction_failure"
    INDUCTION_COMPLETED = "induction_completed"


class DoseOutcome(StrEnum):
    GIVEN = "given"
    HELD = "held"  # held for toxicity, then resumed on a new target
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ClosedOccurrence:
    """One past occurrence of a dosing series: its target and how it closed (`on` = dose or decision date)."""

    target: dt.date
    outcome: DoseOutcome
    on: dt.date


@dataclass(frozen=True)
class DosingSeries:
    closed: tuple[ClosedOccurrence, ...] = ()
    next_target_override: dt.date | None = None
    held_since: dt.date | None = None

    @property
    def dose_dates(self) -> tuple[dt.date, ...]:
        return tuple(c.on for c in self.closed if c.outcome == DoseOutcome.GIVEN)

    @property
    def dose_count(self) -> int:
        return len(self.dose_dates)


@dataclass(frozen=True)
class TrackStop:
    on: dt.date
    reason: StopReason


@dataclass(frozen=True)
class ProgressionRecord:
    on: dt.date
    site: ProgressionSite
    treatment_continued: bool


@dataclass(frozen=True)
class StopRuleSettings:
    """Stop-rule parameters the study file cannot state yet; defaults per domain spec [A]/[I]."""

    min_induction_cycles: int = 4
    # Q5: does combined locoregional + distant PD still allow (re-)irradiation with PD-1 continued?
    combined_progression_allows_reirradiation: bool = False
    # Follow non-randomized induction failures for survival instead of taking them off study.
    induction_failure_survival_followup: bool = False
    hold_review_days: int = 84
    lost_contact_attempts: int = 3
    lost_contact_span_days: int = 30


@dataclass(frozen=True)
class SubjectScheduleState:
    definition: ScheduleDefinition
    settings: StopRuleSettings = StopRuleSettings()
    status: SubjectStatus = SubjectStatus.SCREENING
    arm: str | None = None
    anchors: Mapping[Anchor, dt.date] = field(default_factory=dict)
    dosing: Mapping[str, DosingSeries] = field(default_factory=dict)
    induction_stop: TrackStop | None = None
    dosing_stop: TrackStop | None = None
    imaging_stop: TrackStop | None = None
    study_stop: TrackStop | None = None
    progressions: tuple[ProgressionRecord, ...] = ()
    recist_episode: int = 1
    last_event_on: dt.date | None = None

    def series(self, event_code: str) -> DosingSeries:
        return self.dosing.get(event_code, DosingSeries())

    @property
    def dead(self) -> bool:
        return self.study_stop is not None and self.study_stop.reason == StopReason.DEATH

    @property
    def withdrawn_from_all_follow_up(self) -> bool:
        return self.study_stop is not None and self.study_stop.reason == StopReason.WITHDRAWAL_ALL


def initial_state(
    definition: ScheduleDefinition, settings: StopRuleSettings | None = None
) -> SubjectScheduleState:
    return SubjectScheduleState(definition=definition, settings=settings or StopRuleSettings())
