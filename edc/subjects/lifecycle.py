"""The subject state machine of domain spec §4.4. No database; Django only translates messages.

screening → registered → induction → randomized → on_treatment → [reirradiation_pending →
reirradiating → on_treatment_post_rt] → off_treatment_followup → survival_followup → off_study,
with screen_failed and induction_failed as ends of the pre-randomization path.
"""

from __future__ import annotations

from dataclasses import dataclass
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


# ---- status actions: the moves people make from the subject page --------------------------

_ON_TREATMENT = frozenset(
    {
        Status.RANDOMIZED,
        Status.ON_TREATMENT,
        Status.REIRRADIATION_PENDING,
        Status.REIRRADIATING,
        Status.ON_TREATMENT_POST_RT,
    }
)
_ALIVE_ON_STUDY = frozenset(s for s in Status if Status.OFF_STUDY in ALLOWED[s])


class Action(StrEnum):
    """What a person does on the subject page; each is one lifecycle move with its inputs.
    Randomization is not here: only an allocation moves a subject to randomized."""

    REGISTER = "register"
    SCREEN_FAIL = "screen-fail"
    START_INDUCTION = "start-induction"
    FAIL_INDUCTION = "fail-induction"
    START_TREATMENT = "start-treatment"
    PLAN_REIRRADIATION = "plan-reirradiation"
    START_REIRRADIATION = "start-reirradiation"
    COMPLETE_REIRRADIATION = "complete-reirradiation"
    END_TREATMENT = "end-treatment"
    WITHDRAW_FROM_TREATMENT = "withdraw-from-treatment"
    SURVIVAL_FOLLOW_UP = "survival-follow-up"
    WITHDRAW_FROM_FOLLOW_UP = "withdraw-from-follow-up"
    OFF_STUDY = "off-study"
    DEATH = "death"


@dataclass(frozen=True)
class ActionRule:
    """``target`` from any of ``sources``. ``reason``: the audit trail needs a written reason.
    ``off_study_reason``: fixed (death, withdrawal), or None to let the person choose one of
    ``OFF_STUDY_CHOICES`` when the target is off study."""

    target: Status
    sources: frozenset[Status]
    reason: bool = False
    dated: bool = False
    off_study_reason: OffStudyReason | None = None
    death: bool = False
    withdraws_treatment_consent: bool = False
    enrolment_model: EnrolmentModel | None = None


# The reasons offered by the plain "off study" action; the others have an action of their own.
OFF_STUDY_CHOICES = (
    OffStudyReason.COMPLETED,
    OffStudyReason.LOST_TO_FOLLOW_UP,
    OffStudyReason.INVESTIGATOR_DECISION,
    OffStudyReason.STUDY_END,
)

ACTIONS: dict[Action, ActionRule] = {
    Action.REGISTER: ActionRule(Status.REGISTERED, frozenset({Status.SCREENING}), dated=True),
    Action.SCREEN_FAIL: ActionRule(
        Status.SCREEN_FAILED, frozenset({Status.SCREENING, Status.REGISTERED}), reason=True
    ),
    Action.START_INDUCTION: ActionRule(
        Status.INDUCTION,
        frozenset({Status.REGISTERED}),
        enrolment_model=EnrolmentModel.REGISTER_BEFORE_INDUCTION,
    ),
    Action.FAIL_INDUCTION: ActionRule(
        Status.INDUCTION_FAILED, frozenset({Status.INDUCTION}), reason=True
    ),
    Action.START_TREATMENT: ActionRule(Status.ON_TREATMENT, frozenset({Status.RANDOMIZED})),
    Action.PLAN_REIRRADIATION: ActionRule(
        Status.REIRRADIATION_PENDING, frozenset({Status.ON_TREATMENT})
    ),
    Action.START_REIRRADIATION: ActionRule(
        Status.REIRRADIATING, frozenset({Status.REIRRADIATION_PENDING})
    ),
    Action.COMPLETE_REIRRADIATION: ActionRule(
        Status.ON_TREATMENT_POST_RT, frozenset({Status.REIRRADIATING})
    ),
    Action.END_TREATMENT: ActionRule(Status.OFF_TREATMENT_FOLLOWUP, _ON_TREATMENT, reason=True),
    # Consent to treatment withdrawn: no more dosing, but visits and survival contact go on.
    Action.WITHDRAW_FROM_TREATMENT: ActionRule(
        Status.OFF_TREATMENT_FOLLOWUP,
        _ON_TREATMENT,
        reason=True,
        withdraws_treatment_consent=True,
    ),
    Action.SURVIVAL_FOLLOW_UP: ActionRule(
        Status.SURVIVAL_FOLLOWUP, _ON_TREATMENT | {Status.OFF_TREATMENT_FOLLOWUP}
    ),
    # Consent to all follow-up withdrawn: off study, never contacted again.
    Action.WITHDRAW_FROM_FOLLOW_UP: ActionRule(
        Status.OFF_STUDY,
        _ALIVE_ON_STUDY,
        reason=True,
        dated=True,
        off_study_reason=OffStudyReason.WITHDRAWAL_ALL,
    ),
    Action.OFF_STUDY: ActionRule(Status.OFF_STUDY, _ALIVE_ON_STUDY, reason=True, dated=True),
    Action.DEATH: ActionRule(
        Status.OFF_STUDY,
        _ALIVE_ON_STUDY,
        off_study_reason=OffStudyReason.DEATH,
        death=True,
    ),
}


def available_actions(current: str, enrolment_model: str) -> list[Action]:
    """The actions whose move is allowed from ``current`` in this enrolment model, in the
    order of the subject's path through the study."""
    if current not in Status._value2member_map_:
        return []
    now = Status(current)
    return [
        action
        for action, rule in ACTIONS.items()
        if now in rule.sources
        and rule.target in ALLOWED[now]
        and (rule.enrolment_model is None or rule.enrolment_model == enrolment_model)
    ]


# ---- the End-of-study form (disposition, items EOSDAT/EOSRSN) and the subject's record -----
# The form and the "off study" status actions record one fact: the subject's off-study date
# and reason. The form's reason codes map onto the subject's reasons; its "Other" is the one
# reason the plain off-study action offers that the form does not name (investigator decision).
END_OF_STUDY_FORM_REASONS: dict[str, OffStudyReason] = {
    "COMPLETED": OffStudyReason.COMPLETED,
    "WITHDRAWAL_ALL": OffStudyReason.WITHDRAWAL_ALL,
    "LOST_TO_FOLLOW_UP": OffStudyReason.LOST_TO_FOLLOW_UP,
    "DEATH": OffStudyReason.DEATH,
    "STUDY_END": OffStudyReason.STUDY_END,
    "OTHER": OffStudyReason.INVESTIGATOR_DECISION,
}
NOT_RANDOMIZED = "NOT_RANDOMIZED"


def end_of_study_form_reason(off_study_reason: str) -> str | None:
    """The End-of-study form's reason code for a subject's off-study reason (None if unknown)."""
    if off_study_reason in (OffStudyReason.SCREEN_FAILURE, OffStudyReason.INDUCTION_FAILURE):
        return NOT_RANDOMIZED
    for code, reason in END_OF_STUDY_FORM_REASONS.items():
        if reason == off_study_reason:
            return code
    return None


def off_study_reason_for_form(form_reason: str, current: str) -> OffStudyReason | None:
    """The subject's off-study reason that the End-of-study form's code records, from the
    subject's ``current`` status; None when the code cannot end the study from there ("not
    randomized" is only an end after a failed induction: a screen failure is already final)."""
    if form_reason == NOT_RANDOMIZED:
        return OffStudyReason.INDUCTION_FAILURE if current == Status.INDUCTION_FAILED else None
    return END_OF_STUDY_FORM_REASONS.get(form_reason)
