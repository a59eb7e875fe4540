"""What people read about a subject's status: each lifecycle state, off-study reason and
status action in translatable words, so no page shows an internal name (``screen_failed``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from edc.subjects.lifecycle import Action, OffStudyReason, Status

STATUS_LABELS = {
    Status.SCREENING: _("Screening"),
    Status.SCREEN_FAILED: _("Screen failure"),
    Status.REGISTERED: _("Registered"),
    Status.INDUCTION: _("In induction"),
    Status.INDUCTION_FAILED: _("Induction failed"),
    Status.RANDOMIZED: _("Randomized"),
    Status.ON_TREATMENT: _("On treatment"),
    Status.REIRRADIATION_PENDING: _("Re-irradiation planned"),
    Status.REIRRADIATING: _("Re-irradiation in progress"),
    Status.ON_TREATMENT_POST_RT: _("On treatment after re-irradiation"),
    Status.OFF_TREATMENT_FOLLOWUP: _("Off treatment, in follow-up"),
    Status.SURVIVAL_FOLLOWUP: _("Survival follow-up"),
    Status.OFF_STUDY: _("Off study"),
}

OFF_STUDY_REASON_LABELS = {
    OffStudyReason.SCREEN_FAILURE: _("Screen failure"),
    OffStudyReason.INDUCTION_FAILURE: _("Induction failure"),
    OffStudyReason.DEATH: _("Death"),
    OffStudyReason.WITHDRAWAL_ALL: _("Consent to all follow-up withdrawn"),
    OffStudyReason.LOST_TO_FOLLOW_UP: _("Lost to follow-up"),
    OffStudyReason.COMPLETED: _("Completed the study"),
    OffStudyReason.STUDY_END: _("The study ended"),
    OffStudyReason.INVESTIGATOR_DECISION: _("Investigator's decision"),
}


def status_label(status: str) -> str:
    """The state in words; an unknown value reads as such rather than as its code."""
    try:
        return str(STATUS_LABELS[Status(status)])
    except ValueError:
        return str(_("Unknown status"))


def off_study_reason_label(reason: str) -> str:
    try:
        return str(OFF_STUDY_REASON_LABELS[OffStudyReason(reason)])
    except ValueError:
        return ""


@dataclass(frozen=True)
class ActionText:
    """The button, the confirmation page's heading and what will happen, in words."""

    button: str
    heading: str
    outcome: str
    danger: bool = False


ACTION_TEXTS = {
    Action.REGISTER: ActionText(
        _("Register"),
        _("Register the subject"),
        _(
            "The subject is registered in the study on the date you give. The visit calendar "
            "starts from registration; eligibility is then confirmed by an investigator."
        ),
    ),
    Action.SCREEN_FAIL: ActionText(
        _("Screen failure"),
        _("Record a screen failure"),
        _(
            "The subject did not pass screening and leaves the study. This is final: the subject "
            "cannot be registered or randomized afterwards. Your reason is kept in the audit "
            "trail."
        ),
        danger=True,
    ),
    Action.START_INDUCTION: ActionText(
        _("Start induction"),
        _("Start induction"),
        _(
            "The subject starts induction chemotherapy on study. Responders are randomized after it."
        ),
    ),
    Action.FAIL_INDUCTION: ActionText(
        _("Induction failed"),
        _("Record an induction failure"),
        _(
            "The subject will not be randomized (no response to induction, or induction could not "
            "be completed). Your reason is kept in the audit trail."
        ),
        danger=True,
    ),
    Action.START_TREATMENT: ActionText(
        _("Start treatment"),
        _("Start the allocated treatment"),
        _("The subject is recorded as on treatment in the allocated arm."),
    ),
    Action.PLAN_REIRRADIATION: ActionText(
        _("Plan re-irradiation"),
        _("Plan re-irradiation"),
        _("Re-irradiation is planned; the subject stays on treatment until it starts."),
    ),
    Action.START_REIRRADIATION: ActionText(
        _("Start re-irradiation"),
        _("Start re-irradiation"),
        _("The subject is recorded as being re-irradiated."),
    ),
    Action.COMPLETE_REIRRADIATION: ActionText(
        _("Re-irradiation completed"),
        _("Record re-irradiation as completed"),
        _("Re-irradiation is complete; the subject continues treatment after it."),
    ),
    Action.END_TREATMENT: ActionText(
        _("End treatment"),
        _("End treatment: into follow-up"),
        _(
            "Study treatment ends. The subject stays on study: follow-up visits and survival "
            "contact continue. Your reason is kept in the audit trail."
        ),
    ),
    Action.WITHDRAW_FROM_TREATMENT: ActionText(
        _("Withdraw from treatment"),
        _("Withdrawal from treatment only"),
        _(
            "The subject withdrew consent to study treatment, not to follow-up. No further doses "
            "are scheduled; follow-up visits and survival contact continue. To stop all contact, "
            "use “Withdraw from all follow-up” instead."
        ),
        danger=True,
    ),
    Action.SURVIVAL_FOLLOW_UP: ActionText(
        _("Survival follow-up"),
        _("Move to survival follow-up"),
        _("Only survival contacts remain: no more treatment or assessment visits."),
    ),
    Action.WITHDRAW_FROM_FOLLOW_UP: ActionText(
        _("Withdraw from all follow-up"),
        _("Withdrawal from all follow-up"),
        _(
            "The subject withdrew consent to any further follow-up and goes off study on the date "
            "you give. The subject is never contacted again, not even for survival. Data "
            "collected so far is kept."
        ),
        danger=True,
    ),
    Action.OFF_STUDY: ActionText(
        _("Off study"),
        _("Take the subject off study"),
        _(
            "The subject goes off study on the date you give, for the reason you choose. No "
            "further visits are scheduled and no reminders are sent. This is final."
        ),
        danger=True,
    ),
    Action.DEATH: ActionText(
        _("Record death"),
        _("Record the subject's death"),
        _(
            "The death is recorded once, on the subject, with its date; the subject goes off "
            "study and no one is reminded to contact them again."
        ),
        danger=True,
    ),
}
