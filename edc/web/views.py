"""Navigation: study → site → subject list. Thin views over selectors."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.reminders.selectors import attach_next_due
from edc.subjects import selectors as subject_selectors
from edc.web.selectors import SHOWN, site_work
from randomization.selectors import with_arm_names


@login_required
def home(request):
    scope = scope_of(request.user)
    studies = scope.studies().select_related("current_version")
    return render(
        request,
        "web/home.html",
        {"studies": studies, "work": site_work(scope, request.user), "shown": SHOWN},
    )


@login_required
def study_detail(request, study_code):
    scope = scope_of(request.user)
    study = subject_selectors.get_study(scope, study_code)
    sites = scope.sites().filter(study=study)
    roles = sorted(scope.all_roles(study.pk))
    links = {
        "todo": scope.can_anywhere(Permission.ENTER_DATA, study.pk),
        "data_management": scope.can_anywhere(Permission.RAISE_QUERY, study.pk)
        or scope.can_anywhere(Permission.LOCK, study.pk),
        "exports": scope.can_anywhere(Permission.EXPORT, study.pk),
        "people": scope.can_anywhere(Permission.ADMINISTER, study.pk),
        "randomization": scope.can_anywhere(Permission.VIEW_ALLOCATION_LIST, study.pk)
        or scope.can_anywhere(Permission.ADMINISTER, study.pk),
    }
    return render(
        request, "web/study.html", {"study": study, "sites": sites, "roles": roles, "links": links}
    )


@login_required
def site_subjects(request, study_code, site_code):
    scope = scope_of(request.user)
    study = subject_selectors.get_study(scope, study_code)
    site = subject_selectors.get_site(scope, study, site_code)
    subjects = with_arm_names(subject_selectors.site_subjects(scope, site), study)
    subjects = attach_next_due(subjects, site.today())
    return render(
        request,
        "web/site.html",
        {
            "study": study,
            "site": site,
            "subjects": subjects,
            "can_screen": scope.can(Permission.SCREEN, study.pk, site.pk),
        },
    )
