"""Pages of a site's laboratory normal ranges: the list, add and edit. Thin: the service writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from crf import lab_range_selectors
from crf.lab_range_forms import LabRangeForm
from crf.lab_range_services import RangeInput, save_lab_range
from crf.rules.units import display_unit, stored_text
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects import selectors as subject_selectors


def _site(request, study_code, site_code):
    scope = scope_of(request.user)
    study = subject_selectors.get_study(scope, study_code)
    site = subject_selectors.get_site(scope, study, site_code)
    return scope, study, site


@login_required
def lab_ranges(request, study_code, site_code):
    scope, study, site = _site(request, study_code, site_code)
    ranges = [
        {
            "range": r,
            "unit": display_unit(r.unit),
            "lln": stored_text(r.lln) if r.lln is not None else "—",
            "uln": stored_text(r.uln) if r.uln is not None else "—",
        }
        for r in lab_range_selectors.ranges_for_page(site)
    ]
    return render(
        request,
        "crf/lab_ranges.html",
        {
            "study": study,
            "site": site,
            "ranges": ranges,
            "can_manage": scope.can(Permission.MANAGE_LAB_RANGES, study.pk, site.pk),
        },
    )


@login_required
def lab_range_edit(request, study_code, site_code, pk=None):
    scope, study, site = _site(request, study_code, site_code)
    if not scope.can(Permission.MANAGE_LAB_RANGES, study.pk, site.pk):
        raise PermissionDenied(gettext("your role does not allow managing this site's ranges"))
    existing = None
    if pk is not None:
        existing = lab_range_selectors.range_of(site, pk)
        if existing is None:
            raise Http404
    initial = (
        {name: getattr(existing, name) for name in RangeInput.__dataclass_fields__}
        if existing
        else {}
    )
    form = LabRangeForm(
        request.POST or None,
        initial=initial,
        definition=study.definition,
        editing=existing is not None,
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        ctx = ChangeContext.web(request, reason=form.cleaned_data.get("reason", ""))
        try:
            saved = save_lab_range(
                ctx,
                site,
                RangeInput(**data),
                range_pk=existing.pk if existing else None,
                row_version=int(request.POST.get("row_version") or 0),
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                gettext("Normal range of %(test)s saved (effective from %(date)s).")
                % {"test": saved.lab_test, "date": saved.effective_from.isoformat()},
            )
            return redirect("lab-ranges", study_code=study.code, site_code=site.code)
    return render(
        request,
        "crf/lab_range_form.html",
        {"study": study, "site": site, "form": form, "existing": existing},
    )
