"""The subject page's summary: what a person needs first about one subject, read from each
app's own selectors (state, arm, next visit, open queries, eligibility, what randomization
is in the randomization panel). Reads only; the subject comes from a scoped read."""

from __future__ import annotations

from dataclasses import dataclass, field

from crf import selectors as crf_selectors
from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.reminders.selectors import NextDue, next_due
from edc.subjects.labels import ACTION_TEXTS, ActionText, off_study_reason_label, status_label
from edc.subjects.lifecycle import Action, available_actions
from randomization import selectors as randomization_selectors


@dataclass(frozen=True)
class EligibilitySummary:
    point: str
    criteria: int
    unmet: int  # failed or attested no (and not waived)
    unanswered: int  # missing data
    confirmed: bool


@dataclass
class SubjectSummary:
    status_label: str
    off_study_reason: str
    arm: str
    next_visit: NextDue | None
    open_queries: int
    eligibility: EligibilitySummary | None
    actions: list[tuple[Action, ActionText]] = field(default_factory=list)


def eligibility_summary(subject) -> EligibilitySummary | None:
    """The verdict at the point the eligibility page opens on, with its counts."""
    point = crf_selectors.open_eligibility_point(subject)
    if point is None:
        return None
    state = crf_selectors.eligibility_state(subject, point)
    missing = sum(1 for line in state.blocking if line.status == "missing")
    return EligibilitySummary(
        point,
        len(state.lines),
        len(state.blocking) - missing,
        missing,
        state.allowed,
    )


def subject_summary(scope: Scope, subject, casebook) -> SubjectSummary:
    allocation = randomization_selectors.allocation_of(subject)
    arm = randomization_selectors.arm_name(allocation.scheme, allocation.arm) if allocation else ""
    may_enter = scope.can(Permission.ENTER_DATA, subject.study_id, subject.site_id)
    model = subject.study.definition.get("enrolment_model", "enrol_after_induction")
    summary = SubjectSummary(
        status_label=status_label(subject.status),
        off_study_reason=off_study_reason_label(subject.off_study_reason),
        arm=arm,
        next_visit=next_due([subject], subject.site.today()).get(subject.pk),
        open_queries=sum(
            f.flags.open_queries for visit in casebook.visits for f in visit.forms if f.flags
        ),
        eligibility=eligibility_summary(subject),
        actions=[(a, ACTION_TEXTS[a]) for a in available_actions(subject.status, model)]
        if may_enter
        else [],
    )
    return summary
