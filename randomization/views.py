"""Web pages: confirm and randomize, the allocation, and the statistician/admin report."""

from __future__ import annotations

import csv
import secrets
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects.selectors import get_subject
from randomization import charts, selectors, services


@login_required
def randomize_subject(request, study_code, subject_id):
    scope = scope_of(request.user)
    subject = get_subject(scope, study_code, subject_id)
    if not scope.can(Permission.RANDOMIZE, subject.study_id, subject.site_id):
        raise PermissionDenied(gettext("your role does not allow randomizing at this site"))
    if selectors.allocation_of(subject) is not None:
        return redirect("subject-allocation", study_code=study_code, subject_id=subject_id)
    error = ""
    if request.method == "POST":
        try:
            result = services.randomize(
                ChangeContext.web(request),
                subject,
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
        except DomainError as exc:
            error = exc.message
        else:
            allocation = result.allocation
            messages.success(
                request,
                gettext("%(subject)s randomized to %(arm)s; site staff are being e-mailed.")
                % {
                    "subject": subject.subject_id,
                    "arm": selectors.arm_name(allocation.scheme, allocation.arm),
                },
            )
            return redirect("subject-allocation", study_code=study_code, subject_id=subject_id)
    preview = selectors.randomization_preview(subject)
    missing = selectors.missing_for_randomization(subject)
    return render(
        request,
        "randomization/confirm.html",
        {
            "subject": subject,
            "study": subject.study,
            "preview": preview,
            "missing": missing,
            # What the refusal means in words when the prerequisites say it; else its message.
            "error": "" if missing else error,
            # A retried or double-clicked submit repeats this key and gets the same allocation.
            "idempotency_key": f"web-{secrets.token_hex(12)}",
        },
    )


@login_required
def subject_allocation(request, study_code, subject_id):
    allocation = selectors.subject_allocation(scope_of(request.user), study_code, subject_id)
    return render(
        request,
        "randomization/allocation.html",
        {
            "allocation": allocation,
            "subject": allocation.subject,
            "study": allocation.study,
            "arm_name": selectors.arm_name(allocation.scheme, allocation.arm),
        },
    )


@login_required
def report(request, study_code):
    scope = scope_of(request.user)
    study = selectors.study_for_reports(scope, study_code)
    balance = selectors.balance(study)
    chart = None
    if balance is not None:
        subtotals = balance.shows_subtotals
        rows = [
            balance.overall,
            *(
                replace(row, label=_("Stratum %(key)s") % {"key": row.label})
                for row in (balance.by_stratum if subtotals else [])
            ),
            *(
                replace(row, label=_("Site %(site)s") % {"site": row.label})
                for row in (balance.by_site if subtotals else [])
            ),
            *(
                replace(row, label=_("Level %(level)s") % {"level": row.label})
                for row in balance.by_factor_level
            ),
        ]
        groups = [(row.label, row.counts, row.expected) for row in rows]
        chart = charts.grouped_bars(groups, balance.arms)
    return render(
        request,
        "randomization/report.html",
        {
            "study": study,
            "scheme": selectors.scheme_of(study),
            "balance": balance,
            "chart": chart,
            "list_use": selectors.list_use(study),
            "commitments": selectors.commitments(study),
            "corrections": selectors.corrections(study),
            "can_see_list": scope.can(Permission.VIEW_ALLOCATION_LIST, study.pk),
        },
    )


@login_required
def list_csv(request, study_code):
    study = selectors.study_for_list(scope_of(request.user), study_code)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{study.code}-randomization-list.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["stratum", "sequence", "block", "block_size", "position", "arm", "available", "subject"]
    )
    for slot in selectors.allocation_list(study):
        allocation = getattr(slot, "allocation", None)
        writer.writerow(
            [
                slot.stratum.key,
                slot.sequence,
                slot.block_number,
                slot.block_size,
                slot.position_in_block,
                slot.arm,
                "yes" if slot.available else "withdrawn",
                allocation.subject.subject_id if allocation else "",
            ]
        )
    return response
