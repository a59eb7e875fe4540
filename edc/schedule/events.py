"""Recorded clinical events that move a subject's schedule (domain spec §4.3–§4.4). Pure Python.

Every event carries `on`, the date it happened (for a correction: the date it was recorded), so
a subject's schedule state is a left fold of its events in date order (see `stop_rules.replay`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from edc.schedule.definition import Anchor


class ProgressionSite(StrEnum):
    """Site class of a progression (§2.9), as confirmed by the investigator on the PD form."""

    LOCOREGIONAL_ONLY = "locoregional_only"
    DISTANT_ONLY = "distant_only"
    BOTH = "both"


class DiscontinuationReason(StrEnum):
    UNACCEPTABLE_TOXICITY = "unacceptable_toxicity"
    INVESTIGATOR_DECISION = "investigator_decision"
    PERMANENT_DISCONTINUATION = "pd1_permanently_discontinued"


class WithdrawalScope(StrEnum):
    TREATMENT_ONLY = "treatment_only"
    ALL_FOLLOW_UP = "all_follow_up"


@dataclass(frozen=True)
class Consented:
    on: dt.date


@dataclass(frozen=True)
class Registered:
    on: dt.date


@dataclass(frozen=True)
class ScreenFailed:
    on: dt.date


@dataclass(frozen=True)
class InductionResponseAssessed:
    on: dt.date
    response: str  # RECIST overall response: CR, PR, SD, PD or NE
    cycles_tolerated: int


@dataclass(frozen=True)
class Randomized:
    on: dt.date
    arm: str


@dataclass(frozen=True)
class DoseGiven:
    on: dt.date
    event_code: str


@dataclass(frozen=True)
class DoseHeld:
    """Dose held for toxicity (action = drug interrupted): dosing reminders pause."""

    on: dt.date
    event_code: str


@dataclass(frozen=True)
class DoseResumed:
    """The investigator resumes dosing: the next dose target is `on`."""

    on: dt.date
    event_code: str


@dataclass(frozen=True)
class CycleSkipped:
    """The site skips the pending cycle: the next target is the skipped target + one interval."""

    on: dt.date
    event_code: str


@dataclass(frozen=True)
class RadiotherapyStarted:
    on: dt.date


@dataclass(frozen=True)
class RadiotherapyCompleted:
    on: dt.date


@dataclass(frozen=True)
class Progression:
    on: dt.date
    site: ProgressionSite


@dataclass(frozen=True)
class TreatmentDiscontinued:
    on: dt.date
    reason: DiscontinuationReason


@dataclass(frozen=True)
class NewAnticancerTherapy:
    on: dt.date


@dataclass(frozen=True)
class ConsentWithdrawn:
    on: dt.date
    scope: WithdrawalScope


@dataclass(frozen=True)
class LostToFollowUp:
    on: dt.date


@dataclass(frozen=True)
class Pregnancy:
    on: dt.date


@dataclass(frozen=True)
class Death:
    on: dt.date


@dataclass(frozen=True)
class StudyEnded:
    """End of study or data cut: every reminder stops."""

    on: dt.date


@dataclass(frozen=True)
class AnchorCorrected:
    """A corrected anchor date (e.g. randomization entered wrongly); `on` is the day of the correction."""

    on: dt.date
    anchor: Anchor
    corrected_date: dt.date


ClinicalEvent = (
    Consented
    | Registered
    | ScreenFailed
    | InductionResponseAssessed
    | Randomized
    | DoseGiven
    | DoseHeld
    | DoseResumed
    | CycleSkipped
    | RadiotherapyStarted
    | RadiotherapyCompleted
    | Progression
    | TreatmentDiscontinued
    | NewAnticancerTherapy
    | ConsentWithdrawn
    | LostToFollowUp
    | Pregnancy
    | Death
    | StudyEnded
    | AnchorCorrected
)

# Same-day order for replay: a dose given on the day progression is found counts as the last dose;
# randomization precedes a first dose given the same day; death and study end close the day.
SAME_DAY_ORDER: dict[type, int] = {
    event_type: rank
    for rank, event_type in enumerate(
        (
            Consented,
            Registered,
            ScreenFailed,
            InductionResponseAssessed,
            Randomized,
            AnchorCorrected,
            DoseHeld,
            DoseResumed,
            CycleSkipped,
            DoseGiven,
            RadiotherapyStarted,
            RadiotherapyCompleted,
            Progression,
            TreatmentDiscontinued,
            NewAnticancerTherapy,
            Pregnancy,
            ConsentWithdrawn,
            LostToFollowUp,
            Death,
            StudyEnded,
        )
    )
}
