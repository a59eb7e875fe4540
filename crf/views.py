"""Browser pages for data entry. Thin: selectors read, services write, form_page lays out."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crf import selectors, services
from crf.form_page import build_page
from crf.selectors import FormSlot
from crf.validation import Issue, values_from_post
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.datamanagement import selectors as datamanagement_selectors
from edc.errors import DomainError
from edc.subjects import selectors as subject_selectors

CONTROL_KEYS = ("csrfmiddlewaretoken", "row_version", "reason", "confirm_warnings", "action")
QUERY_ANSWER = "query_answer_"  # + query id: an answer typed beside a flagged item
TERM_ITEMS = {"AETERM", "AEOTHSP"}


def _slot(
    request,
    study_code,
    subject_id,
    event_code,
    event_repeat,
    form_code,
    form_repeat,
    with_instance=True,
):
    scope = scope_of(request.user)
    subject = selectors.get_subject(scope, study_code, subject_id)
    slot = selectors.form_slot(
        subject, event_code, event_repeat, form_code, form_repeat, with_instance=with_instance
    )
    can_edit = scope.can(Permission.ENTER_DATA, subject.study_id, subject.site_id)
    return subject, slot, can_edit


def _query_answers(post) -> dict[int, str]:
    """{query id: answer} typed beside flagged items; empty answers are no answers."""
    answers = {}
    for key, value in post.items():
        pk = key.removeprefix(QUERY_ANSWER)
        if key.startswith(QUERY_ANSWER) and pk.isdigit() and value.strip():
            answers[int(pk)] = value.strip()
    return answers


def _flag_queried_items(page, instance, form: dict, can_answer: bool, answers: dict) -> None:
    """Hang each unresolved query on the field of its item (and row), for the flag and the
    thread shown there."""
    by_path = datamanagement_selectors.queries_by_item_path(instance, form, can_answer)
    if not by_path:
        return
    fields = [f for section in page.sections for f in section.fields]
    fields += [f for group in page.groups for row in group.rows for f in row]
    for f in fields:
        for flag in by_path.get(f.path, []):
            flag.answer = answers.get(flag.query.pk, "")
            f.queries.append(flag)


def _submitted(slot: FormSlot, post) -> dict:
    answers = [key for key in post if key.startswith(QUERY_ANSWER)]
    values = values_from_post(slot.form, post, (*CONTROL_KEYS, *answers))
    if slot.kind == "adverse_event":
        _name_ctcae_term(values)
    return values


def _name_ctcae_term(values: dict) -> None:
    """The page picks a CTCAE term by type-ahead ("Term (MedDRA code)", the code alone, or the
    exact term); its name and 'Other, specify' flag follow from the term table (the API takes
    all three and checks they agree). Text that names no term stays, to be refused by name."""
    code = selectors.ctcae_code_of(values.get("AECTCD"))
    if code is not None:
        values["AECTCD"] = code
    term = services.derivations.ctcae_term(values.get("AECTCD"))
    if term is not None:
        values["AETERM"] = term.term
        values["AEOTHSP"] = "Y" if term.is_other_specify else "N"


def _on_term_picker(slot: FormSlot, issues) -> list[Issue]:
    """AETERM and AEOTHSP have no field of their own on the page: show theirs at the picker."""
    if slot.kind != "adverse_event":
        return list(issues)
    return [
        replace(i, item="AECTCD") if i.group is None and i.item in TERM_ITEMS else i for i in issues
    ]


def _row_action(action: str, values: dict) -> dict[str, int] | None:
    """Adding or removing a group row without JavaScript: a round trip that saves nothing."""
    kind, _, rest = action.partition(":")
    if kind == "add_row":
        return {rest: 1}
    if kind == "remove_row":
        group, _, index = rest.partition(":")
        rows = values.get(group)
        if isinstance(rows, list) and index.isdigit() and int(index) < len(rows):
            del rows[int(index)]
        return {}
    return None


def _render(request, subject, slot, can_edit, values, *, status=200, **extra):
    if request.method == "POST":
        # A save reads the instance under its lock only; a page shown again needs it.
        slot = selectors.form_slot(
            subject, slot.event["code"], slot.event_repeat, slot.form["code"], slot.form_repeat
        )
    page = build_page(
        slot.form,
        slot.forms.codelists,
        values,
        errors=_on_term_picker(slot, extra.pop("errors", ())),
        warnings=_on_term_picker(slot, extra.pop("warnings", ())),
        notes=extra.pop("notes", slot.instance.derived if slot.instance else {}),
        extra_rows=extra.pop("extra_rows", None),
    )
    instance = slot.instance
    scope = scope_of(request.user)
    marks = datamanagement_selectors.form_marks(instance) if instance else None
    may_enter = can_edit
    # Locked, signed and verified forms open read-only; a signed or verified one can be
    # opened for a change on purpose (?edit=1), which voids the signature or verification.
    if marks and marks.read_only and (marks.locked or not request.GET.get("edit")):
        can_edit = False
    if instance:
        _flag_queried_items(
            page,
            instance,
            slot.form,
            scope.can(Permission.ANSWER_QUERY, subject.study_id, subject.site_id),
            _query_answers(request.POST) if request.method == "POST" else {},
        )
    context = {
        "marks": marks,
        "may_enter": may_enter,
        "can_verify": bool(instance)
        and scope.can(Permission.VERIFY_SOURCE, subject.study_id, subject.site_id),
        "can_sign": bool(instance)
        and scope.can(Permission.SIGN, subject.study_id, subject.site_id),
        "study": subject.study,
        "subject": subject,
        "slot": slot,
        "event": slot.event,
        "form": slot.form,
        "instance": instance,
        "row_version": extra.pop("row_version", instance.row_version if instance else 0),
        "page": page,
        "can_edit": can_edit,
        "history": selectors.form_history(instance),
        "flags": datamanagement_selectors.item_flags(instance) if instance else None,
        "ctcae_terms": selectors.ctcae_terms() if slot.kind == "adverse_event" else [],
        "ctcae_current": selectors.ctcae_term_of(values.get("AECTCD"))
        if slot.kind == "adverse_event"
        else None,
        "recist": page.notes.get("recist"),
        "next_form": _next_form(slot),
        **extra,
    }
    return render(request, "crf/form.html", context, status=status)


@login_required
def form_entry(request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat):
    subject, slot, can_edit = _slot(
        request,
        study_code,
        subject_id,
        event_code,
        event_repeat,
        form_code,
        form_repeat,
        with_instance=request.method != "POST",
    )
    if request.method == "GET":
        if slot.instance:
            return _render(request, subject, slot, can_edit, slot.instance.data)
        start = selectors.starting_values(subject, slot)
        return _render(request, subject, slot, can_edit, start.values, carried_from=start.source)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if not can_edit:
        raise PermissionDenied("your role does not allow data entry here")
    values = _submitted(slot, request.POST)
    action = request.POST.get("action", "save")
    reason = request.POST.get("reason", "").strip()
    answers = _query_answers(request.POST)
    if answers and not reason:
        # A value corrected in answer to a query has the answer as its reason for change.
        reason = "; ".join(f"Q{pk}: {text}" for pk, text in sorted(answers.items()))

    def again(**extra):
        """The page shown again with what was entered, nothing saved."""
        return _render(request, subject, slot, can_edit, values, reason=reason, **extra)

    if "\x00" in reason:
        return again(status=400, problem=_("The reason for change contains a NUL character."))
    extra_rows = _row_action(action, values)
    if extra_rows is not None:
        return again(extra_rows=extra_rows, row_version=request.POST.get("row_version", ""))
    try:
        row_version = int(request.POST.get("row_version", ""))
    except ValueError:
        return again(
            status=400,
            problem="The form's version marker was missing or altered; reload the form.",
        )
    try:
        instance = services.save_form(
            ChangeContext.web(request, reason=reason),
            subject,
            slot.event["code"],
            slot.event_repeat,
            slot.form["code"],
            slot.form_repeat,
            values,
            row_version=row_version,
            confirm_warnings=request.POST.get("confirm_warnings") == "1",
            complete=action != "draft",
            query_answers=answers,
        )
    except services.FormInvalid as exc:
        return again(
            status=400,
            errors=exc.errors,
            warnings=exc.warnings,
            problem=f"Nothing was saved: {len(exc.errors)} problem(s) to correct.",
            row_version=row_version,
        )
    except services.WarningsNeedConfirmation as exc:
        return again(
            warnings=exc.warnings, confirm=True, row_version=row_version, draft=action == "draft"
        )
    except DomainError as exc:
        return again(
            status=exc.status,
            problem=exc.message,
            problem_code=exc.code,
            row_version=row_version,
        )
    opened = len(instance.confirmed_warnings)
    note = f"; {opened} quer{'y' if opened == 1 else 'ies'} opened" if opened else ""
    if answers:
        note += "; " + _("answered %(queries)s") % {
            "queries": ", ".join(f"Q{pk}" for pk in sorted(answers))
        }
    state = "saved as draft" if action == "draft" else "saved"
    messages.success(
        request, f"{slot.form['name']} {state} (version {instance.row_version}){note}."
    )
    following = _next_form(slot) if action == "save_next" else None
    return redirect(
        "crf-form",
        study_code=subject.study.code,
        subject_id=subject.subject_id,
        event_code=slot.event["code"],
        event_repeat=slot.event_repeat,
        form_code=following["code"] if following else slot.form["code"],
        form_repeat=1 if following else slot.form_repeat,
    )


def _next_form(slot: FormSlot) -> dict | None:
    """The form after this one in its visit, as the study file lists them."""
    codes = slot.event["forms"]
    index = codes.index(slot.form["code"])
    return slot.forms.forms.get(codes[index + 1]) if index + 1 < len(codes) else None


@login_required
@require_POST
def form_check(request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat):
    """Inline validation: the same checks as a save, nothing written."""
    subject, slot, _ = _slot(
        request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
    )
    return JsonResponse(
        services.check_form(
            subject,
            slot,
            _submitted(slot, request.POST),
            complete=request.POST.get("action", "save") != "draft",
        )
    )


@login_required
def new_form(request, study_code, subject_id, event_code, event_repeat, form_code):
    """The next free repeat of a repeating form (another adverse event)."""
    scope = scope_of(request.user)
    subject = selectors.get_subject(scope, study_code, subject_id)
    repeat = selectors.next_form_repeat(subject, event_code, event_repeat, form_code)
    return redirect(
        "crf-form",
        study_code=study_code,
        subject_id=subject_id,
        event_code=event_code,
        event_repeat=event_repeat,
        form_code=form_code,
        form_repeat=repeat,
    )


@login_required
def response_overrides(request, study_code):
    """For data managers: every investigator response that differs from the calculated RECIST
    response, with the reason given, to review."""
    scope = scope_of(request.user)
    study = subject_selectors.get_study(scope, study_code)
    if not scope.can_anywhere(Permission.RAISE_QUERY, study.pk):
        raise PermissionDenied(_("only data management reviews response overrides"))
    return render(
        request,
        "crf/response_overrides.html",
        {"study": study, "overrides": selectors.response_overrides(scope, study)},
    )
