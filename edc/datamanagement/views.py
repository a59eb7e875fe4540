"""Web pages of data management: dashboard, queries, form review with SDV, signing and locks.
Thin views: services write, selectors read; a refused write is shown inline on the same page
with the HTTP status of the refusal, and nothing is saved."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crf.definitions import shown_forms
from crf.models import FormInstance
from edc import labels
from edc.accounts import signing
from edc.accounts.roles import Permission, permissions_of
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.datamanagement import selectors, services
from edc.datamanagement.form_states import ICONS, ORDER
from edc.datamanagement.forms import (
    LockForm,
    QueryActionForm,
    RaiseQueryForm,
    SignForm,
    UnlockForm,
)
from edc.datamanagement.models import LockLevel, SignatureLevel
from edc.datamanagement.query_states import QueryStatus, allowed_actions
from edc.errors import DomainError
from edc.localtime import stamp
from edc.studies.protocol import find_form, form_items
from edc.studies.texts import study_text
from edc.subjects import selectors as subject_selectors
from edc.web.redirects import next_url


def _study(request, study_code):
    scope = scope_of(request.user)
    return scope, subject_selectors.get_study(scope, study_code)


@login_required
def dashboard(request, study_code):
    scope, study = _study(request, study_code)
    counts = selectors.query_counts(scope, study)
    return render(
        request,
        "datamanagement/dashboard.html",
        {
            "study": study,
            "counts": counts,
            "statuses": [(s.value, labels.QUERY_STATUS[s.value]) for s in QueryStatus],
            "totals": {s.value: sum(c.counts[s.value] for c in counts) for s in QueryStatus},
            "study_lock": selectors.study_lock(study),
            "active_locks": selectors.locks_of(scope, study).filter(unlocked_at__isnull=True)[:50],
            "can_lock": scope.can_anywhere(Permission.LOCK, study.pk),
            # The overrides page is for those who raise queries; site staff get no dead link.
            "can_review_overrides": scope.can_anywhere(Permission.RAISE_QUERY, study.pk),
        },
    )


# ---- queries ---------------------------------------------------------------------------


QUERIES_PER_PAGE = 50


@login_required
def query_list(request, study_code):
    scope, study = _study(request, study_code)
    status = request.GET.get("status", "unresolved")
    queries = selectors.filter_queries(
        selectors.visible_queries(scope, study),
        status=status,
        site_code=request.GET.get("site", ""),
        subject_id=request.GET.get("subject", ""),
        assignee=request.user if request.GET.get("mine") else None,
    )
    page = Paginator(queries, QUERIES_PER_PAGE).get_page(request.GET.get("page"))
    selectors.name_forms(q.form_instance for q in page)
    return render(
        request,
        "datamanagement/query_list.html",
        {
            "study": study,
            "page": page,
            "rows": [(q, selectors.age_days(q)) for q in page],
            "status": status,
            "statuses": [
                ("unresolved", labels.QUERY_STATUS_FILTER["unresolved"]),
                *[(s.value, labels.QUERY_STATUS[s.value]) for s in QueryStatus],
                ("", labels.QUERY_STATUS_FILTER[""]),
            ],
            "sites": scope.sites().filter(study=study),
            "site": request.GET.get("site", ""),
            "subject": request.GET.get("subject", ""),
            "mine": bool(request.GET.get("mine")),
        },
    )


@login_required
def query_detail(request, study_code, pk):
    scope, study = _study(request, study_code)
    query = selectors.get_query(scope, study, pk)
    held = permissions_of(scope.roles(study.pk, query.site_id))
    form = QueryActionForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            services.act_on_query(
                ChangeContext.web(request),
                query,
                form.cleaned_data["action"],
                form.cleaned_data["text"],
            )
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("Query %(number)s updated.") % {"number": query.pk})
            return redirect("dm-query", study_code=study.code, pk=query.pk)
        query = selectors.get_query(scope, study, pk)
    selectors.name_forms([query.form_instance])
    return render(
        request,
        "datamanagement/query_detail.html",
        {
            "study": study,
            "query": query,
            "thread": selectors.query_thread(query),
            "actions": allowed_actions(query.status, held),
            "form": form,
            "error": error,
            "age": selectors.age_days(query),
            "item_label": _item_label(query.form_instance, query.item_code),
            "value": selectors.queried_value(query),
            "history": selectors.item_history(query),
        },
        status=status,
    )


def _item_label(instance, code: str) -> str:
    return form_items(_definition(instance)).get(code, {}).get("label", code)


@login_required
@require_POST
def answer_query(request, study_code, pk):
    """The answer typed beside a flagged item on the form page, sent without saving the form."""
    scope, study = _study(request, study_code)
    query = selectors.get_query(scope, study, pk)
    text = request.POST.get(f"query_answer_{query.pk}", "")
    try:
        services.act_on_query(ChangeContext.web(request), query, "answer", text)
    except DomainError as exc:
        messages.error(
            request, _("Query Q%(pk)s: %(problem)s") % {"pk": query.pk, "problem": exc.message}
        )
    else:
        messages.success(request, _("Query Q%(pk)s answered.") % {"pk": query.pk})
    return redirect(next_url(request, _form_url(query.form_instance)) + f"#query-{query.pk}")


def _form_url(instance) -> str:
    return reverse(
        "crf-form",
        kwargs={
            "study_code": instance.study.code,
            "subject_id": instance.subject.subject_id,
            "event_code": instance.event_code,
            "event_repeat": instance.event_repeat,
            "form_code": instance.form_code,
            "form_repeat": instance.form_repeat,
        },
    )


@login_required
def inbox(request):
    """The queries waiting for this user, across their studies."""
    scope = scope_of(request.user)
    page = Paginator(selectors.inbox(scope, request.user), QUERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    selectors.name_forms(q.form_instance for q in page)
    return render(request, "datamanagement/inbox.html", {"page": page})


# ---- the site status grid --------------------------------------------------------------


@login_required
def status_grid(request, study_code, site_code):
    scope, study = _study(request, study_code)
    site = subject_selectors.get_site(scope, study, site_code)
    grid = selectors.site_status_grid(
        scope, site, state=request.GET.get("state", ""), page=request.GET.get("page", 1)
    )
    return render(
        request,
        "datamanagement/status_grid.html",
        {
            "study": study,
            "site": site,
            "grid": grid,
            "legend": [(s.value, ICONS[s], selectors.STATE_LABELS[s]) for s in ORDER],
            "filters": [(s.value, selectors.STATE_LABELS[s]) for s in selectors.GRID_FILTERS],
        },
    )


@login_required
def raise_query(request, study_code, form_id):
    scope, study = _study(request, study_code)
    instance = selectors.get_form(scope, study, form_id)
    items = _item_choices(instance)
    form = RaiseQueryForm(
        request.POST or None,
        initial={"item_code": request.GET.get("item", ""), "group_row": request.GET.get("row")},
        items=items,
        assignees=selectors.users_who_answer(study.pk, instance.site_id),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            query = services.raise_query(
                ChangeContext.web(request),
                instance,
                item_code=form.cleaned_data["item_code"],
                text=form.cleaned_data["text"],
                group_row=form.cleaned_data["group_row"],
                assignee=form.cleaned_data["assignee"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status
        else:
            messages.success(
                request,
                _("Query %(number)s raised on %(item)s.")
                % {"number": query.pk, "item": query.item_code},
            )
            return redirect("dm-query", study_code=study.code, pk=query.pk)
    return render(
        request,
        "datamanagement/raise_query.html",
        {"study": study, "instance": instance, "form": form, "definition": _definition(instance)},
        status=status,
    )


def _definition(instance) -> dict:
    """The form as its reader sees it: labels and names in the active language."""
    found = find_form(shown_forms(instance.protocol_version_id).definition, instance.form_code)
    return found or {"code": instance.form_code, "name": instance.form_code, "items": []}


def _item_choices(instance) -> list[tuple[str, str]]:
    definition = instance.protocol_version.definition
    return [
        (code, f"{study_text(definition, item.get('label', code))} ({code})")
        for code, item in form_items(_definition(instance)).items()
    ]


# ---- form review: SDV, queries, lock and signature state of one form ---------------------


def _form_review(request, scope, study, instance, *, error: str = "", status: int = 200):
    definition = _definition(instance)
    detail = selectors.item_flags(instance)
    flags = selectors.flags_for_forms(FormInstance.objects.filter(pk=instance.pk))[instance.pk]
    rows = [
        {
            "code": item["code"],
            "label": study_text(study.definition, item.get("label", item["code"])),
            "value": instance.data.get(item["code"]),
            "flags": detail.item(item["code"]),
        }
        for item in definition.get("items", [])
    ]
    groups = [
        {
            "code": group["code"],
            "name": study_text(study.definition, group.get("name", group["code"])),
            "items": [
                {
                    "code": i["code"],
                    "label": study_text(study.definition, i.get("label", i["code"])),
                    "flags": detail.item(i["code"]),
                }
                for i in group.get("items", [])
            ],
            "rows": [
                [row.get(i["code"]) for i in group.get("items", [])]
                for row in instance.data.get(group["code"]) or []
            ],
        }
        for group in definition.get("groups", [])
    ]
    can = {
        "verify": scope.can(Permission.VERIFY_SOURCE, study.pk, instance.site_id),
        "raise": scope.can(Permission.RAISE_QUERY, study.pk, instance.site_id),
        "sign": scope.can(Permission.SIGN, study.pk, instance.site_id),
        "lock": scope.can(Permission.LOCK, study.pk, instance.site_id),
    }
    return render(
        request,
        "datamanagement/form_review.html",
        {
            "study": study,
            "instance": instance,
            "definition": definition,
            "rows": rows,
            "groups": groups,
            "detail": detail,
            "flags": flags,
            "can": can,
            "error": error,
            "signatures": [
                s
                for s in selectors.signatures_of(instance.subject)
                if s.level == SignatureLevel.CASEBOOK
                or (
                    s.level == SignatureLevel.VISIT
                    and (s.event_code, s.event_repeat)
                    == (instance.event_code, instance.event_repeat)
                )
                or s.form_instance_id == instance.pk
            ],
        },
        status=status,
    )


@login_required
def form_review(request, study_code, form_id):
    scope, study = _study(request, study_code)
    instance = selectors.get_form(scope, study, form_id)
    return _form_review(request, scope, study, instance)


@login_required
@require_POST
def verify(request, study_code, form_id):
    scope, study = _study(request, study_code)
    instance = selectors.get_form(scope, study, form_id)
    items = [code for code in request.POST.getlist("item") if code]
    try:
        made = services.verify_source(ChangeContext.web(request), instance, items)
    except DomainError as exc:
        return _form_review(request, scope, study, instance, error=exc.message, status=exc.status)
    what = ", ".join(items) if items else _("the whole form")
    if made:
        messages.success(request, _("Source-verified: %(what)s.") % {"what": what})
    else:
        messages.info(request, _("Already source-verified: %(what)s.") % {"what": what})
    fallback = reverse("dm-form", kwargs={"study_code": study.code, "form_id": instance.pk})
    return redirect(next_url(request, fallback))


# ---- signing ---------------------------------------------------------------------------


def _sign_target(scope, study, params):
    level = params.get("level", "")
    if level == SignatureLevel.FORM:
        form_id = params.get("form", "")
        if not form_id.isdigit():
            raise Http404(_("no such form"))
        instance = selectors.get_form(scope, study, int(form_id))
        return level, instance, instance.subject, [instance]
    if level not in (SignatureLevel.VISIT, SignatureLevel.CASEBOOK):
        raise Http404(_("choose a form, visit or casebook to sign"))
    subject = subject_selectors.get_subject(scope, study.code, params.get("subject", ""))
    forms = subject.forms.order_by("event_code", "event_repeat", "form_code", "form_repeat")
    if level == SignatureLevel.CASEBOOK:
        return level, subject, subject, list(forms)
    repeat = params.get("repeat", "1")
    repeat = int(repeat) if repeat.isdigit() else 1
    event = params.get("event", "")
    visit = services.VisitRef(subject, event, repeat)
    return level, visit, subject, list(forms.filter(event_code=event, event_repeat=repeat))


@login_required
def sign(request, study_code):
    scope, study = _study(request, study_code)
    params = request.POST if request.method == "POST" else request.GET
    level, target, subject, covered = _sign_target(scope, study, params)
    ask_user_id = signing.user_id_required(request.session)
    form = SignForm(request.POST or None, ask_user_id=ask_user_id)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            signature = services.sign(
                ChangeContext.web(request),
                level=level,
                target=target,
                username=form.cleaned_data.get("username"),
                password=form.cleaned_data["password"],
                meaning=form.cleaned_data["meaning"],
                session=request.session,
            )
        except DomainError as exc:
            error, status = exc.message, exc.status
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("Signed by %(signer)s at %(when)s.")
                % {"signer": signature.signer_name, "when": stamp(signature.signed_at)},
            )
            fallback = reverse(
                "subject-detail",
                kwargs={"study_code": study.code, "subject_id": subject.subject_id},
            )
            return redirect(next_url(request, fallback))
    return render(
        request,
        "datamanagement/sign.html",
        {
            "study": study,
            "subject": subject,
            "level": level,
            "target": target,
            "covered": covered,
            "form": form,
            "ask_user_id": ask_user_id,
            "error": error,
            "params": params,
        },
        status=status,
    )


# ---- locks -----------------------------------------------------------------------------


def _locks_page(request, scope, study, lock_form, *, error: str = "", status: int = 200):
    return render(
        request,
        "datamanagement/locks.html",
        {
            "study": study,
            "locks": selectors.locks_of(scope, study)[:300],
            "lock_form": lock_form,
            "unlock_form": UnlockForm(),
            "can_lock": scope.can_anywhere(Permission.LOCK, study.pk),
            "error": error,
            "study_lock": selectors.study_lock(study),
        },
        status=status,
    )


def _site_codes(scope, study) -> list[str]:
    return list(scope.sites(Permission.LOCK).filter(study=study).values_list("code", flat=True))


def _lock_target(scope, study, data: dict):
    level = data["level"]
    if level == LockLevel.STUDY:
        return study
    if level == LockLevel.SITE:
        if not data["site"]:
            raise DomainError("required", "site", _("choose the site to lock"))
        return subject_selectors.get_site(scope, study, data["site"])
    if level == LockLevel.SUBJECT:
        if not data["subject"]:
            raise DomainError("required", "subject", _("enter the subject ID to lock"))
        return subject_selectors.get_subject(scope, study.code, data["subject"].strip())
    if not data["form_id"]:
        raise DomainError("required", "form_id", _("choose the form to lock"))
    form = selectors.get_form(scope, study, data["form_id"])
    if data["subject"] and form.subject.subject_id != data["subject"]:
        raise DomainError("required", "form_id", _("choose a form of the chosen subject"))
    return form


def _lock_form(request, scope, study) -> LockForm:
    """The lock form, its subjects and (once a subject is chosen) that subject's forms, all
    named as people know them: no internal id to type."""
    params = request.POST if request.method == "POST" else request.GET
    subject_id = params.get("subject", "")
    form_id = params.get("form_id", "")
    if not subject_id and form_id.isdigit():
        subject_id = selectors.subject_id_of_form(scope, study, int(form_id))
    return LockForm(
        request.POST or None,
        initial={k: request.GET.get(k) for k in ("level", "site", "subject", "form_id")},
        site_codes=_site_codes(scope, study),
        subject_ids=selectors.lockable_subject_ids(scope, study),
        subject_forms=selectors.form_choices(scope, study, subject_id) if subject_id else [],
    )


@login_required
def locks(request, study_code):
    scope, study = _study(request, study_code)
    lock_form = _lock_form(request, scope, study)
    if request.method == "POST" and request.POST.get("action") == "pick":
        return _locks_page(request, scope, study, lock_form)  # show the subject's forms
    if request.method == "POST" and lock_form.is_valid():
        data = lock_form.cleaned_data
        try:
            target = _lock_target(scope, study, data)
            lock = services.lock(ChangeContext.web(request), data["level"], target, data["reason"])
        except DomainError as exc:
            field = exc.field if exc.field in lock_form.fields else None
            lock_form.add_error(field, exc.message)
            return _locks_page(request, scope, study, lock_form, status=exc.status)
        messages.success(
            request,
            _("%(level)s lock %(number)s set.")
            % {"level": lock.get_level_display(), "number": lock.pk},
        )
        return redirect(next_url(request, reverse("dm-locks", kwargs={"study_code": study.code})))
    return _locks_page(request, scope, study, lock_form)


@login_required
@require_POST
def unlock(request, study_code, pk):
    scope, study = _study(request, study_code)
    lock = selectors.get_lock(scope, study, pk)
    form = UnlockForm(request.POST)
    form.is_valid()
    try:
        services.unlock(ChangeContext.web(request), lock, form.cleaned_data.get("reason", ""))
    except DomainError as exc:
        lock_form = LockForm(
            site_codes=_site_codes(scope, study),
            subject_ids=selectors.lockable_subject_ids(scope, study),
        )
        return _locks_page(
            request,
            scope,
            study,
            lock_form,
            error=_("Lock %(number)s: %(problem)s") % {"number": lock.pk, "problem": exc.message},
            status=exc.status,
        )
    messages.success(request, _("Lock %(number)s released.") % {"number": lock.pk})
    return redirect(next_url(request, reverse("dm-locks", kwargs={"study_code": study.code})))
