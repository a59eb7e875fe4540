from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crf import selectors as crf_selectors
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects import selectors, services
from edc.subjects.forms import ScreenSubjectForm


@login_required
def subject_detail(request, study_code, subject_id):
    scope = scope_of(request.user)
    subject = selectors.get_subject(scope, study_code, subject_id)
    consents = subject.consents.all()
    return render(
        request,
        "subjects/subject_detail.html",
        {
            "subject": subject,
            "study": subject.study,
            "consents": consents,
            "casebook": crf_selectors.casebook(subject),
        },
    )


@login_required
def screen_subject(request, study_code, site_code):
    scope = scope_of(request.user)
    study = selectors.get_study(scope, study_code)
    site = selectors.get_site(scope, study, site_code)
    if not scope.can(Permission.SCREEN, study.pk, site.pk):
        raise PermissionDenied(_("your role does not allow screening at this site"))
    form = ScreenSubjectForm(request.POST or None, today=site.today())
    if request.method == "POST" and form.is_valid():
        try:
            subject = services.screen_subject(ChangeContext.web(request), site, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request, _("Subject %(subject)s screened.") % {"subject": subject.subject_id}
            )
            return redirect("subject-detail", study_code=study.code, subject_id=subject.subject_id)
    return render(request, "subjects/screen.html", {"form": form, "study": study, "site": site})
