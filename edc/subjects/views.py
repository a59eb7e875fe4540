from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf import selectors as crf_selectors
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects import selectors, services
from edc.subjects.forms import ScreenSubjectForm, StatusActionForm
from edc.subjects.labels import ACTION_TEXTS, status_label
from edc.subjects.lifecycle import ACTIONS, Action, IllegalTransition, available_actions
from edc.subjects.summary import subject_summary


@login_required
def subject_detail(request, study_code, subject_id):
    scope = scope_of(request.user)
    subject = selectors.get_subject(scope, study_code, subject_id)
    casebook = crf_selectors.casebook(subject)
    summary = subject_summary(scope, subject, casebook)
    # Registration needs only its date, no written reason: it is confirmed on this page, in a
    # panel that says what will happen, instead of one more page load.
    register_form = (
        StatusActionForm(ACTIONS[Action.REGISTER], date_label=str(DATE_LABELS[Action.REGISTER]))
        if any(action == Action.REGISTER for action, _text in summary.actions)
        else None
    )
    return render(
        request,
        "subjects/subject_detail.html",
        {
            "subject": subject,
            "study": subject.study,
            "consents": subject.consents.all(),
            "casebook": casebook,
            "summary": summary,
            "register_form": register_form,
        },
    )


@login_required
def screen_subject(request, study_code, site_code):
    scope = scope_of(request.user)
    study = selectors.get_study(scope, study_code)
    site = selectors.get_site(scope, study, site_code)
    if not scope.can(Permission.SCREEN, study.pk, site.pk):
        raise PermissionDenied(_("your role does not allow screening at this site"))
    form = ScreenSubjectForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                subject = services.screen_subject(
                    ChangeContext.web(request), site, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request, _("Subject %(id)s screened.") % {"id": subject.subject_id}
                )
                return redirect(
                    "subject-detail", study_code=study.code, subject_id=subject.subject_id
                )
    return render(
        request, "subjects/screen.html", {"form": form, "study": study, "site": site}, status=status
    )


DATE_LABELS = {
    Action.REGISTER: gettext_lazy("Registration date"),
    Action.WITHDRAW_FROM_FOLLOW_UP: gettext_lazy("Date consent was withdrawn"),
    Action.OFF_STUDY: gettext_lazy("Off-study date"),
}


@login_required
def subject_action(request, study_code, subject_id, action):
    """A status action's confirmation page (GET) and the action itself (POST): one service
    call; refusals are shown beside the field they concern."""
    scope = scope_of(request.user)
    subject = selectors.get_subject(scope, study_code, subject_id)
    try:
        action = Action(action)
    except ValueError:
        raise Http404("no such action") from None
    if not scope.can(Permission.ENTER_DATA, subject.study_id, subject.site_id):
        raise PermissionDenied(_("your role does not allow changing this subject's status"))
    rule = ACTIONS[action]
    form = StatusActionForm(
        rule,
        request.POST or None,
        date_label=str(DATE_LABELS.get(action, "")),
        # A death a survival form reported is the same record: the action starts from it.
        initial={"death_date": subject.death_date},
    )
    model = subject.study.definition.get("enrolment_model", "enrol_after_induction")
    available = action in available_actions(subject.status, model)
    status = 200 if available else 409
    if request.method == "POST" and available:
        status = 400
        if form.is_valid():
            try:
                services.apply_action(
                    ChangeContext.web(request),
                    subject,
                    action,
                    row_version=_int(request.POST.get("row_version")),
                    **form.cleaned_data,
                )
            except IllegalTransition:
                status = 409
                form.add_error(
                    None,
                    _("This is no longer possible: the subject's status is now “%(status)s”.")
                    % {"status": status_label(subject.status)},
                )
            except DomainError as exc:
                status = exc.status
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                subject.refresh_from_db(fields=["status"])
                messages.success(
                    request,
                    _("%(id)s: the status is now “%(status)s”.")
                    % {"id": subject.subject_id, "status": status_label(subject.status)},
                )
                return redirect("subject-detail", study_code=study_code, subject_id=subject_id)
    return render(
        request,
        "subjects/action.html",
        {
            "subject": subject,
            "study": subject.study,
            "action": action,
            "text": ACTION_TEXTS[action],
            "available": available,
            "status_label": status_label(subject.status),
            "form": form,
        },
        status=status,
    )


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return -1  # never a row version: the service answers "changed by someone else"
