"""Export pages: the list with a start form, one export's progress, and the download."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from edc import labels
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.exports import api, selectors, services
from edc.exports.models import FORMATS
from edc.subjects.selectors import get_study

FORMAT_LABELS = {
    "csv": "CSV",
    "xpt": "SAS transport (XPT v5)",
    "parquet": "Parquet",
    "odm": "CDISC ODM 1.3.2 XML",
}


def _study_for_export(request, study_code):
    scope = scope_of(request.user)
    study = get_study(scope, study_code)
    selectors.require_exporter(scope, study)
    return scope, study


@login_required
@require_http_methods(["GET", "POST"])
def export_list(request, study_code):
    scope, study = _study_for_export(request, study_code)
    export = selectors.export_scope(scope, study)
    error = ""
    if request.method == "POST":
        try:
            job = services.start_export(
                ChangeContext.web(request),
                scope,
                study,
                formats=request.POST.getlist("formats"),
                site_codes=request.POST.getlist("sites") or None,
            )
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, gettext("Export %(number)s started.") % {"number": job.pk})
            return redirect("export-detail", study_code=study.code, job_id=job.pk)
    snapshot = selectors.snapshot_for(export, timezone.now())
    jobs = selectors.visible_jobs(scope, study, request.user)[:50]
    return render(
        request,
        "exports/export_list.html",
        {
            "study": study,
            "jobs": jobs,
            "sites": export.sites,
            "all_sites": export.all_sites,
            "formats": [(f, FORMAT_LABELS[f]) for f in FORMATS],
            "snapshot": snapshot,
            "locked_sites": selectors.locked_site_codes(export),
            "error": error,
        },
    )


@login_required
def export_detail(request, study_code, job_id):
    scope, study = _study_for_export(request, study_code)
    job = selectors.get_job(scope, study, request.user, job_id)
    return render(request, "exports/export_detail.html", {"study": study, "job": job})


@login_required
def export_progress(request, study_code, job_id):
    scope, study = _study_for_export(request, study_code)
    job = selectors.get_job(scope, study, request.user, job_id)
    return JsonResponse(
        {
            "status": job.status,
            "progress": job.progress,
            "note": labels.export_progress_note(job.progress_note),
            "finished": job.is_finished,
        }
    )


@login_required
def export_download(request, study_code, job_id):
    scope, study = _study_for_export(request, study_code)
    job = selectors.get_job(scope, study, request.user, job_id)
    try:
        return api.download_response(ChangeContext.web(request), job)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("export-detail", study_code=study.code, job_id=job.pk)
