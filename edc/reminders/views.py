"""Pages of the schedule: a subject's calendar (with the site's actions on it) and a site's to-do
list. Thin: reads go through selectors, writes through services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from edc import labels
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.reminders import selectors, services
from edc.reminders.models import PlannedVisit
from edc.schedule.definition import Anchor
from edc.subjects import selectors as subject_selectors

CORRECTABLE_ANCHORS = [
    (a.value, labels.SCHEDULE_ANCHOR[a.value])
    for a in Anchor
    if a not in (Anchor.NONE, Anchor.CONSENT)
]


@login_required
def subject_calendar(request, study_code, subject_id):
    scope = scope_of(request.user)
    subject = subject_selectors.get_subject(scope, study_code, subject_id)
    calendar = selectors.subject_calendar(subject, subject.site.today())
    return render(
        request,
        "reminders/calendar.html",
        {
            "subject": subject,
            "study": subject.study,
            "calendar": calendar,
            "can_edit": scope.can(Permission.ENTER_DATA, subject.study_id, subject.site_id),
            "anchors": CORRECTABLE_ANCHORS,
        },
    )


@login_required
def site_todo(request, study_code, site_code):
    scope = scope_of(request.user)
    study = subject_selectors.get_study(scope, study_code)
    site = subject_selectors.get_site(scope, study, site_code)
    todo = selectors.site_todo(scope, site, site.today())
    return render(request, "reminders/todo.html", {"study": study, "site": site, "todo": todo})


def _scoped_visit(request, study_code, subject_id, visit_id):
    subject = subject_selectors.get_subject(scope_of(request.user), study_code, subject_id)
    return get_object_or_404(
        PlannedVisit.objects.select_related("subject"), pk=visit_id, subject=subject
    )


def _back(study_code, subject_id):
    return redirect("reminders-calendar", study_code=study_code, subject_id=subject_id)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DomainError("invalid_date", "date", gettext("must be a date (YYYY-MM-DD)")) from None


@login_required
@require_POST
def visit_not_done(request, study_code, subject_id, visit_id):
    visit = _scoped_visit(request, study_code, subject_id, visit_id)
    try:
        services.mark_visit_not_done(
            ChangeContext.web(request), visit, request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("%(visit)s #%(number)s recorded as not done.")
            % {"visit": visit.name, "number": visit.sequence},
        )
    return _back(study_code, subject_id)


@login_required
@require_POST
def visit_performed(request, study_code, subject_id, visit_id):
    visit = _scoped_visit(request, study_code, subject_id, visit_id)
    try:
        ctx = ChangeContext.web(request, reason=request.POST.get("reason", ""))
        services.record_visit_performed(ctx, visit, _date(request.POST.get("performed_on")))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("%(visit)s #%(number)s recorded as performed.")
            % {"visit": visit.name, "number": visit.sequence},
        )
    return _back(study_code, subject_id)


@login_required
@require_POST
def correct_anchor(request, study_code, subject_id):
    subject = subject_selectors.get_subject(scope_of(request.user), study_code, subject_id)
    try:
        ctx = ChangeContext.web(request, reason=request.POST.get("reason", ""))
        result = services.correct_anchor(
            ctx, subject, request.POST.get("anchor", ""), _date(request.POST.get("new_date"))
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext(
                "Anchor corrected: %(moved)s future target(s) moved, %(kept)s past or completed "
                "visit(s) kept their target."
            )
            % {"moved": len(result.moved), "kept": len(result.kept)},
        )
    return _back(study_code, subject_id)
