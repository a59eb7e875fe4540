"""The schedule part of a study definition, as frozen dataclasses. Pure Python, no Django.

`from_definition` reads the study mapping (the parsed study YAML: its `arms`, `pd1_cap` and
`schedule.events`) and refuses anything it cannot schedule unambiguously, naming the path of
the offending value, so a typo in a study file fails at load time and not on a patient's
calendar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from edc.schedule.dates import Duration
from edc.studies.texts import source_text

_E = TypeVar("_E", bound=StrEnum)


class DefinitionError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class EventKind(StrEnum):
    VISIT = "visit"
    DOSING = "dosing"
    IMAGING = "imaging"
    FOLLOWUP = "followup"
    TASK = "task"
    UNSCHEDULED = "unscheduled"


class Phase(StrEnum):
    SCREENING = "screening"
    INDUCTION = "induction"
    RANDOMIZATION = "randomization"
    TREATMENT = "treatment"
    MAINTENANCE = "maintenance"
    FOLLOW_UP = "follow_up"
    ANY = "any"


class Anchor(StrEnum):
    CONSENT = "consent"
    REGISTRATION = "registration"
    RANDOMIZATION = "randomization"
    FIRST_INDUCTION_DOSE = "first_induction_dose"
    FIRST_MAINTENANCE_DOSE = "first_maintenance_dose"
    INDUCTION_END = "induction_end"
    LAST_DOSE = "last_dose"
    LAST_PD1_DOSE = "last_pd1_dose"
    TREATMENT_STOP_DECISION = "treatment_stop_decision"
    RT_START = "rt_start"
    RT_END = "rt_end"
    PROGRESSION = "progression"
    LOCOREGIONAL_PROGRESSION = "locoregional_progression"
    SURVIVAL_FOLLOWUP_START = "survival_followup_start"
    PREGNANCY = "pregnancy"
    NONE = "none"


class StopRuleProfile(StrEnum):
    STANDARD = "standard"
    LOCOREGIONAL_CONTINUE = "locoregional_continue"


class Track(StrEnum):
    """Which stop rule cancels an event's open occurrences (the study-wide stop cancels all)."""

    DOSING = "dosing"
    IMAGING = "imaging"
    STUDY = "study"


TREATMENT_PHASES = frozenset({Phase.TREATMENT, Phase.MAINTENANCE})


@dataclass(frozen=True)
class Window:
    before: int
    after: int


@dataclass(frozen=True)
class Repeat:
    interval_days: int
    max_count: int | None = None
    max_duration: Duration | None = None
    until_days: int | None = None
    rolling: bool = False


@dataclass(frozen=True)
class EventDefinition:
    code: str
    name: str
    kind: EventKind
    anchor: Anchor
    window: Window
    phase: Phase = Phase.ANY
    offset_days: int = 0
    lead_days: int = 3
    grace_days: int = 7
    arms: frozenset[str] | None = None
    repeat: Repeat | None = None
    forms: tuple[str, ...] = ()

    @property
    def schedulable(self) -> bool:
        return self.kind != EventKind.UNSCHEDULED and self.anchor != Anchor.NONE

    @property
    def is_treatment_dosing(self) -> bool:
        return self.kind == EventKind.DOSING and self.phase in TREATMENT_PHASES

    @property
    def is_induction_dosing(self) -> bool:
        return self.kind == EventKind.DOSING and self.phase == Phase.INDUCTION

    @property
    def track(self) -> Track:
        if self.kind == EventKind.DOSING:
            return Track.DOSING
        if self.kind == EventKind.IMAGING:
            return Track.IMAGING
        # The (re-)irradiation task exists only while PD-1 continues after a locoregional PD.
        if self.anchor == Anchor.LOCOREGIONAL_PROGRESSION:
            return Track.DOSING
        return Track.STUDY

    def applies_to(self, arm: str | None) -> bool:
        return self.arms is None or (arm is not None and arm in self.arms)


@dataclass(frozen=True)
class ArmDefinition:
    code: str
    stop_rule_profile: StopRuleProfile = StopRuleProfile.STANDARD


@dataclass(frozen=True)
class TreatmentCap:
    """The study-wide PD-1 cap (§1.6.4): applies to every treatment/maintenance dosing event."""

    anchor: Anchor = Anchor.FIRST_MAINTENANCE_DOSE
    max_doses: int | None = None
    max_years: int | None = None


@dataclass(frozen=True)
class ScheduleDefinition:
    events: tuple[EventDefinition, ...]
    arms: tuple[ArmDefinition, ...] = ()
    treatment_cap: TreatmentCap | None = None

    def event(self, code: str) -> EventDefinition:
        for event in self.events:
            if event.code == code:
                return event
        raise KeyError(code)

    def arm(self, code: str) -> ArmDefinition:
        for arm in self.arms:
            if arm.code == code:
                return arm
        raise KeyError(code)

    def profile(self, arm: str | None) -> StopRuleProfile:
        if arm is None:
            return StopRuleProfile.STANDARD
        return self.arm(arm).stop_rule_profile


_EVENT_KEYS = frozenset(
    {
        "code",
        "name",
        "kind",
        "phase",
        "anchor",
        "offset_days",
        "window",
        "lead_days",
        "grace_days",
        "arms",
        "repeat",
        "forms",
        "assumption",
    }
)
_REPEAT_KEYS = frozenset({"interval_days", "max_count", "until_days", "max_duration", "rolling"})
_DURATION_KEYS = frozenset({"years", "months", "days"})
_CAP_KEYS = frozenset({"anchor", "max_doses", "max_years"})
_CAP_ANCHORS = frozenset({Anchor.FIRST_MAINTENANCE_DOSE, Anchor.FIRST_INDUCTION_DOSE})


def from_definition(study: Mapping[str, Any]) -> ScheduleDefinition:
    """Build the schedule of a study from its parsed definition; raise DefinitionError if unusable."""
    if not isinstance(study, Mapping):
        raise DefinitionError("$", "must be a mapping")
    arms = _arms(study.get("arms", []))
    arm_codes = {arm.code for arm in arms}
    schedule = study.get("schedule")
    if not isinstance(schedule, Mapping):
        raise DefinitionError("schedule", "is required and must be a mapping")
    raw_events = schedule.get("events")
    if not isinstance(raw_events, Sequence) or isinstance(raw_events, str) or not raw_events:
        raise DefinitionError("schedule.events", "must be a non-empty list")
    events: list[EventDefinition] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_events):
        path = f"schedule.events[{index}]"
        event = _event(raw, path, arm_codes)
        if event.code in seen:
            raise DefinitionError(f"{path}.code", f"duplicates event code {event.code!r}")
        seen.add(event.code)
        events.append(event)
    cap = _cap(study["pd1_cap"]) if study.get("pd1_cap") is not None else None
    definition = ScheduleDefinition(events=tuple(events), arms=arms, treatment_cap=cap)
    _check_reirradiation_tasks(definition)
    return definition


def _arms(raw: Any) -> tuple[ArmDefinition, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise DefinitionError("arms", "must be a list")
    arms = []
    for index, item in enumerate(raw):
        path = f"arms[{index}]"
        if not isinstance(item, Mapping):
            raise DefinitionError(path, "must be a mapping")
        code = _text(item.get("code"), f"{path}.code")
        profile = _choice(
            item.get("stop_rule_profile", "standard"), StopRuleProfile, f"{path}.stop_rule_profile"
        )
        arms.append(ArmDefinition(code=code, stop_rule_profile=profile))
    return tuple(arms)


def _event(raw: Any, path: str, arm_codes: set[str]) -> EventDefinition:
    if not isinstance(raw, Mapping):
        raise DefinitionError(path, "must be a mapping")
    _no_unknown_keys(raw, _EVENT_KEYS, path)
    code = _text(raw.get("code"), f"{path}.code")
    # The name the engine carries is the text as written (the study's first language); pages
    # show it in the reader's language through edc.studies.texts.
    name = _text(source_text(raw.get("name", code)), f"{path}.name")
    kind = _choice(raw.get("kind"), EventKind, f"{path}.kind")
    phase = _choice(raw.get("phase", "any"), Phase, f"{path}.phase")
    if raw.get("anchor") == "previous_dose":
        raise DefinitionError(
            f"{path}.anchor",
            "previous_dose is what repeat.rolling means; anchor the first occurrence on a date "
            "(e.g. randomization) and set repeat.rolling: true",
        )
    anchor = _choice(raw.get("anchor"), Anchor, f"{path}.anchor")
    window = _window(raw.get("window"), f"{path}.window")
    arms = None
    if raw.get("arms") is not None:
        arms_raw = raw["arms"]
        if not isinstance(arms_raw, Sequence) or isinstance(arms_raw, str) or not arms_raw:
            raise DefinitionError(f"{path}.arms", "must be a non-empty list of arm codes")
        for i, arm in enumerate(arms_raw):
            if arm not in arm_codes:
                raise DefinitionError(f"{path}.arms[{i}]", f"names unknown arm {arm!r}")
        arms = frozenset(arms_raw)
    forms_raw = raw.get("forms", [])
    if not isinstance(forms_raw, Sequence) or isinstance(forms_raw, str):
        raise DefinitionError(f"{path}.forms", "must be a list of form codes")
    forms = tuple(_text(form, f"{path}.forms[{i}]") for i, form in enumerate(forms_raw))
    repeat = _repeat(raw["repeat"], f"{path}.repeat") if raw.get("repeat") is not None else None
    if repeat is not None and repeat.rolling and kind != EventKind.DOSING:
        raise DefinitionError(
            f"{path}.repeat.rolling", "only dosing events roll with the actual previous dose"
        )
    if kind == EventKind.DOSING and anchor in _CAP_ANCHORS:
        # The first dose date is only known once that dose is given, so such a series could
        # never get its first target: anchor it on the date that precedes it instead.
        raise DefinitionError(
            f"{path}.anchor",
            f"a dosing event cannot be anchored on {anchor.value}, which its own first dose sets; "
            "anchor it on randomization or registration with an offset",
        )
    if repeat is not None and kind == EventKind.DOSING and not repeat.rolling:
        raise DefinitionError(
            f"{path}.repeat.rolling",
            "dosing repeats must roll from the previous actual dose (set rolling: true)",
        )
    if (
        repeat is not None
        and not repeat.rolling
        and not (repeat.max_count or repeat.max_duration or repeat.until_days)
    ):
        raise DefinitionError(
            f"{path}.repeat", "a fixed calendar needs max_count, max_duration or until_days"
        )
    return EventDefinition(
        code=code,
        name=name,
        kind=kind,
        phase=phase,
        anchor=anchor,
        offset_days=_integer(raw.get("offset_days", 0), f"{path}.offset_days"),
        window=window,
        lead_days=_integer(raw.get("lead_days", 3), f"{path}.lead_days", minimum=0),
        grace_days=_integer(raw.get("grace_days", 7), f"{path}.grace_days", minimum=0),
        arms=arms,
        repeat=repeat,
        forms=forms,
    )


def _repeat(raw: Any, path: str) -> Repeat:
    if not isinstance(raw, Mapping):
        raise DefinitionError(path, "must be a mapping")
    _no_unknown_keys(raw, _REPEAT_KEYS, path)
    if "interval_days" not in raw:
        raise DefinitionError(f"{path}.interval_days", "is required")
    rolling = raw.get("rolling", False)
    if not isinstance(rolling, bool):
        raise DefinitionError(f"{path}.rolling", "must be true or false")
    return Repeat(
        interval_days=_integer(raw["interval_days"], f"{path}.interval_days", minimum=1),
        max_count=_optional_integer(raw.get("max_count"), f"{path}.max_count", minimum=1),
        max_duration=_duration(raw["max_duration"], f"{path}.max_duration")
        if raw.get("max_duration")
        else None,
        until_days=_optional_integer(raw.get("until_days"), f"{path}.until_days", minimum=1),
        rolling=rolling,
    )


def _duration(raw: Any, path: str) -> Duration:
    if not isinstance(raw, Mapping):
        raise DefinitionError(path, "must be a mapping of years, months and/or days")
    _no_unknown_keys(raw, _DURATION_KEYS, path)
    parts = {key: _integer(raw.get(key, 0), f"{path}.{key}", minimum=0) for key in _DURATION_KEYS}
    if not any(parts.values()):
        raise DefinitionError(path, "must be longer than zero")
    return Duration(**parts)


def _cap(raw: Any) -> TreatmentCap:
    path = "pd1_cap"
    if not isinstance(raw, Mapping):
        raise DefinitionError(path, "must be a mapping")
    _no_unknown_keys(raw, _CAP_KEYS, path)
    anchor = _choice(
        raw.get("anchor", Anchor.FIRST_MAINTENANCE_DOSE.value), Anchor, f"{path}.anchor"
    )
    if anchor not in _CAP_ANCHORS:
        raise DefinitionError(
            f"{path}.anchor", "must be first_maintenance_dose or first_induction_dose"
        )
    return TreatmentCap(
        anchor=anchor,
        max_doses=_optional_integer(raw.get("max_doses"), f"{path}.max_doses", minimum=1),
        max_years=_optional_integer(raw.get("max_years"), f"{path}.max_years", minimum=1),
    )


def _window(raw: Any, path: str) -> Window:
    if not isinstance(raw, Mapping):
        raise DefinitionError(path, "is required: {before: days, after: days}")
    _no_unknown_keys(raw, frozenset({"before", "after"}), path)
    return Window(
        before=_integer(raw.get("before"), f"{path}.before", minimum=0),
        after=_integer(raw.get("after"), f"{path}.after", minimum=0),
    )


def _check_reirradiation_tasks(definition: ScheduleDefinition) -> None:
    for index, arm in enumerate(definition.arms):
        if arm.stop_rule_profile != StopRuleProfile.LOCOREGIONAL_CONTINUE:
            continue
        if not any(
            e.anchor == Anchor.LOCOREGIONAL_PROGRESSION and e.applies_to(arm.code)
            for e in definition.events
        ):
            raise DefinitionError(
                f"arms[{index}].stop_rule_profile",
                f"arm {arm.code} continues PD-1 after a locoregional progression, so the schedule needs an "
                "event anchored on locoregional_progression (the re-irradiation / salvage RT task) for it",
            )


def _no_unknown_keys(raw: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise DefinitionError(
            f"{path}.{unknown[0]}", f"is not a known key (allowed: {', '.join(sorted(allowed))})"
        )


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(path, "must be a non-empty string")
    return value


def _integer(value: Any, path: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DefinitionError(path, "must be a whole number")
    if minimum is not None and value < minimum:
        raise DefinitionError(path, f"must be at least {minimum}")
    return value


def _optional_integer(value: Any, path: str, *, minimum: int) -> int | None:
    return None if value is None else _integer(value, path, minimum=minimum)


def _choice(value: Any, enum: type[_E], path: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise DefinitionError(path, f"must be one of: {allowed} (got {value!r})") from None
