"""The subject state machine of domain spec §4.4. No database; Django only translates messages.

screening → registered → induction → randomized → on_treatment → [reirradiation_pending →
reirradiating → on_treatment_post_rt] → off_treatment_followup → survival_followup → off_study,
with screen_failed and induction_failed as ends of the pre-randomization path.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext as _

from edc.errors import DomainError


class Status(StrEnum):
    SCREENING = "screening"
    SCREEN_FAILED = "screen_failed"
    REGISTERED = "registered"
    INDUCTION = "induction"
    INDUCTION_FAILED = "induction_failed"
    RANDOMIZED = "randomized"
    ON_TREATMENT = "on_treatment"
    REIRRADIATION_PENDING = "reirradiation_pending"
    REIRRADIATING = "reirradiating"
    ON_TREATMENT_POST_RT = "on_treatment_post_rt"
    OFF_TREATMENT_FOLLOWUP = "off_treatment_followup"
    SURVIVAL_FOLLOWUP = "survival_followup"
    OFF_STUDY = "off_study"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").replace("rt", "RT").capitalize()


class EnrolmentModel(StrEnum):
    REGISTER_BEFORE_INDUCTION = "register_before_induction"
    ENROL_AFTER_INDUCTION = "enrol_after_induction"


class OffStudyReason(StrEnum):
    SCREEN_FAILURE = "screen_failure"
    INDUCTION_FAILURE = "induction_failure"
    DEATH = "death"
    WITHDRAWAL_ALL = "withdrawal_all_follow_up"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    COMPLETED = "completed"
    STUDY_END = "study_end"
    INVESTIGATOR_DECISION = "investigator_decision"


_TREATMENT_EXITS = {Status.OFF_TREATMENT_FOLLOWUP, Status.SURVIVAL_FOLLOWUP, Status.OFF_STUDY}

ALLOWED: dict[Status, set[Status]] = {
    Status.SCREENING: {Status.REGISTERED, Status.SCREEN_FAILED, Status.OFF_STUDY},
    Status.REGISTERED: {
        Status.INDUCTION,
        Status.RANDOMIZED,
        Status.SCREEN_FAILED,
        Status.OFF_STUDY,
    },
    Status.INDUCTION: {Status.RANDOMIZED, Status.INDUCTION_FAILED, Status.OFF_STUDY},
    Status.INDUCTION_FAILED: {Status.OFF_STUDY},
    Status.RANDOMIZED: {Status.ON_TREATMENT} | _TREATMENT_EXITS,
    Status.ON_TREATMENT: {Status.REIRRADIATION_PENDING} | _TREATMENT_EXITS,
    Status.REIRRADIATION_PENDING: {Status.REIRRADIATING} | _TREATMENT_EXITS,
    Status.REIRRADIATING: {Status.ON_TREATMENT_POST_RT} | _TREATMENT_EXITS,
    Status.ON_TREATMENT_POST_RT: _TREATMENT_EXITS,
    Status.OFF_TREATMENT_FOLLOWUP: {Status.SURVIVAL_FOLLOWUP, Status.OFF_STUDY},
    Status.SURVIVAL_FOLLOWUP: {Status.OFF_STUDY},
    Status.SCREEN_FAILED: set(),
    Status.OFF_STUDY: set(),
}

TERMINAL = frozenset(s for s, targets in ALLOWED.items() if not targets)


class IllegalTransition(DomainError):
    status = 409

    def __init__(self, current: str, target: str, why: str = ""):
        allowed = (
            ALLOWED.get(Status(current), set()) if current in Status._value2member_map_ else set()
        )
        detail = why or _("allowed from %(current)s: %(allowed)s") % {
            "current": current,
            "allowed": ", ".join(sorted(allowed)) or _("nothing (final state)"),
        }
        super().__init__(
            "illegal_transition",
            "status",
            _("cannot move a subject from %(current)s to %(target)s (%(detail)s)")
            % {"current": current, "target": target, "detail": detail},
        )
        self.current = current
        self.target = target


def check_transition(
    current: str, target: str, enrolment_model: str, *, off_study_reason: str | None = None
) -> Status:
    """Return the target Status, or raise IllegalTransition explaining why not."""
    try:
        now, nxt = Status(current), Status(target)
    except ValueError as exc:
        raise IllegalTransition(current, target, "unknown status") from exc
    if nxt not in ALLOWED[now]:
        raise IllegalTransition(now, nxt)
    model = EnrolmentModel(enrolment_model)
    if (
        now == Status.REGISTERED
        and nxt == Status.INDUCTION
        and model != EnrolmentModel.REGISTER_BEFORE_INDUCTION
    ):
        raise IllegalTransition(
            now, nxt, "this study enrols after induction: there is no on-study induction"
        )
    if (
        now == Status.REGISTERED
        and nxt == Status.RANDOMIZED
        and model == EnrolmentModel.REGISTER_BEFORE_INDUCTION
    ):
        raise IllegalTransition(
            now, nxt, "this study randomizes responders after on-study induction"
        )
    if nxt == Status.OFF_STUDY and not off_study_reason:
        raise IllegalTransition(now, nxt, "a reason for going off study is required")
    return nxt
