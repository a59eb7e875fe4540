"""The eligibility page: each criterion's result with its reason, the investigator's e-signed
confirmation, and sponsor-approved waivers."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf import selectors, services
from crf.explanations import explain
from edc import labels
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.texts import study_text

POINT_LABELS = {
    "registration": _("Registration"),
    "randomization": _("Randomization"),
    "first_dose": _("First dose"),
}


def _point(request, subject) -> str:
    """The point asked for, else the first with criteria not yet confirmed."""
    point = request.POST.get("point") or request.GET.get("point")
    if point in selectors.ELIGIBILITY_POINTS:
        return point
    return selectors.open_eligibility_point(subject) or "registration"


def _elig_forms(subject, forms):
    """Links to the attestation forms: every (visit, form) slot of an eligibility-kind form."""
    codes = {f["code"] for f in forms.forms_of_kind("eligibility")}
    return [
        (event, forms.forms[code])
        for event in (forms.events[c] for c in forms.event_order)
        for code in event["forms"]
        if code in codes and "repeat" not in event and event.get("kind") != "unscheduled"
    ]


@login_required
def eligibility(request, study_code, subject_id):
    scope = scope_of(request.user)
    subject = selectors.get_subject(scope, study_code, subject_id)
    point = _point(request, subject)
    can_confirm = scope.can(Permission.CONFIRM_ELIGIBILITY, subject.study_id, subject.site_id)
    status = 200
    problem = ""
    if request.method == "POST":
        action = request.POST.get("action")
        ctx = ChangeContext.web(request)
        try:
            if action == "confirm":
                services.confirm_eligibility(
                    ctx, subject, point, password=request.POST.get("password", "")
                )
                messages.success(
                    request,
                    gettext("Eligibility at %(point)s confirmed.")
                    % {"point": labels.label(labels.ELIGIBILITY_POINT, point)},
                )
            elif action == "waive":
                services.waive_criterion(
                    ctx,
                    subject,
                    point,
                    request.POST.get("criterion_id", ""),
                    sponsor_approval_reference=request.POST.get("sponsor_approval_reference", ""),
                    sponsor_approver=request.POST.get("sponsor_approver", ""),
                    approved_on=_date(request.POST.get("approved_on", "")),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(
                    request,
                    gettext("Waiver of %(criterion)s recorded as a protocol deviation.")
                    % {"criterion": request.POST.get("criterion_id")},
                )
            else:
                raise DomainError("invalid", "action", gettext("unknown action"))
        except DomainError as exc:
            status, problem = exc.status, exc.message
        else:
            return redirect(f"{request.path}?point={point}")
    state = selectors.eligibility_state(subject, point)
    forms = selectors.study_forms(subject.protocol_version_id)
    meaning = services.eligibility_meaning(request.user, subject, point, state)
    definition = forms.definition
    # Each criterion in the reader's language: its text, and its reasons as sentences with the
    # working behind a "details" toggle.
    criteria = [
        (line, study_text(definition, line.text), explain(line.steps, definition))
        for line in state.lines
    ]
    # Summary first: what needs looking at (not met, missing, waived) before what is met.
    met = [c for c in criteria if c[0].satisfied and not c[0].waiver]
    attention = [c for c in criteria if c not in met]
    return render(
        request,
        "crf/eligibility.html",
        {
            "study": subject.study,
            "subject": subject,
            "point": point,
            "point_label": str(POINT_LABELS.get(point, point)).lower(),
            # Only the points that have criteria: a tab with none has nothing to sign.
            "points": [
                (p, POINT_LABELS[p]) for p in selectors.points_with_criteria(subject) or [point]
            ],
            "state": state,
            "criteria": criteria,
            "attention": attention,
            "met": met,
            "can_confirm": can_confirm,
            "meaning": meaning,
            "problem": problem,
            "elig_forms": _elig_forms(subject, selectors.shown_forms(subject.protocol_version_id)),
        },
        status=status,
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(
            "invalid", "approved_on", gettext("the approval date must be YYYY-MM-DD")
        ) from None
