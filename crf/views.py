"""Browser pages for data entry. Thin: selectors read, services write, form_page lays out."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from crf import selectors, services
from crf.explanations import explain_stored
from crf.form_page import build_page
from crf.selectors import FormSlot
from crf.validation import Issue, values_from_post
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.datamanagement import selectors as datamanagement_selectors
from edc.errors import DomainError
from edc.studies.texts import study_text

CONTROL_KEYS = ("csrfmiddlewaretoken", "row_version", "reason", "confirm_warnings", "action")
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


def _submitted(slot: FormSlot, post) -> dict:
    values = values_from_post(slot.form, post, CONTROL_KEYS)
    if slot.kind == "adverse_event":
        _name_ctcae_term(values)
    return values


def _name_ctcae_term(values: dict) -> None:
    """The page picks a CTCAE term by MedDRA code; its name and 'Other, specify' flag follow
    from the term table (the API takes all three and checks they agree)."""
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


def _version_id(subject, slot: FormSlot) -> int:
    return slot.instance.protocol_version_id if slot.instance else subject.protocol_version_id


def _shown(definition, issues) -> list[Issue]:
    """An edit check's message is a study text: shown in the reader's language."""
    return [replace(i, message=study_text(definition, i.message)) for i in issues]


def _shown_recist(note, definition):
    """The RECIST derivation in the reader's language (a note saved before phrases were kept
    shows its English lines)."""
    if not note:
        return note
    lines = note.get("derivation_phrases") or note.get("derivation", [])
    return {**note, "derivation": [step.sentence for step in explain_stored(lines, definition)]}


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
    # Laid out from the definition in the reader's language; the slot's own stays as stored.
    shown = selectors.shown_forms(_version_id(subject, slot))
    definition = slot.forms.definition
    form, event = shown.forms[slot.form["code"]], shown.events[slot.event["code"]]
    page = build_page(
        form,
        shown.codelists,
        values,
        errors=_shown(definition, _on_term_picker(slot, extra.pop("errors", ()))),
        warnings=_shown(definition, _on_term_picker(slot, extra.pop("warnings", ()))),
        notes=extra.pop("notes", slot.instance.derived if slot.instance else {}),
        extra_rows=extra.pop("extra_rows", None),
    )
    instance = slot.instance
    context = {
        "study": subject.study,
        "subject": subject,
        "slot": slot,
        "event": event,
        "form": form,
        "instance": instance,
        "row_version": extra.pop("row_version", instance.row_version if instance else 0),
        "page": page,
        "can_edit": can_edit,
        "history": selectors.form_history(instance),
        "flags": datamanagement_selectors.item_flags(instance) if instance else None,
        "ctcae_terms": selectors.ctcae_terms() if slot.kind == "adverse_event" else [],
        "recist": _shown_recist(page.notes.get("recist"), definition),
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
        return _render(
            request, subject, slot, can_edit, slot.instance.data if slot.instance else {}
        )
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if not can_edit:
        raise PermissionDenied(gettext("your role does not allow data entry here"))
    values = _submitted(slot, request.POST)
    action = request.POST.get("action", "save")
    reason = request.POST.get("reason", "").strip()

    def again(**extra):
        """The page shown again with what was entered, nothing saved."""
        return _render(request, subject, slot, can_edit, values, reason=reason, **extra)

    extra_rows = _row_action(action, values)
    if extra_rows is not None:
        return again(extra_rows=extra_rows, row_version=request.POST.get("row_version", ""))
    try:
        row_version = int(request.POST.get("row_version", ""))
    except ValueError:
        return again(
            status=400,
            problem=gettext("The form's version marker was missing or altered; reload the form."),
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
        )
    except services.FormInvalid as exc:
        return again(
            status=400,
            errors=exc.errors,
            warnings=exc.warnings,
            problem=ngettext(
                "Nothing was saved: %(count)s problem to correct.",
                "Nothing was saved: %(count)s problems to correct.",
                len(exc.errors),
            )
            % {"count": len(exc.errors)},
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
    name = study_text(slot.forms.definition, slot.form["name"])
    facts = {"form": name, "version": instance.row_version, "count": opened}
    if action == "draft":
        saved = gettext("%(form)s saved as draft (version %(version)s)") % facts
    else:
        saved = gettext("%(form)s saved (version %(version)s)") % facts
    if opened:
        saved += ngettext("; %(count)s query opened", "; %(count)s queries opened", opened) % facts
    messages.success(request, saved + ".")
    return redirect(
        "crf-form",
        study_code=subject.study.code,
        subject_id=subject.subject_id,
        event_code=slot.event["code"],
        event_repeat=slot.event_repeat,
        form_code=slot.form["code"],
        form_repeat=slot.form_repeat,
    )


@login_required
@require_POST
def form_check(request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat):
    """Inline validation: the same checks as a save, nothing written."""
    subject, slot, _ = _slot(
        request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
    )
    checked = services.check_form(
        subject,
        slot,
        _submitted(slot, request.POST),
        complete=request.POST.get("action", "save") != "draft",
    )
    definition = slot.forms.definition
    for kind in ("errors", "warnings"):
        for issue in checked[kind]:
            issue["message"] = study_text(definition, issue["message"])
    return JsonResponse(checked)


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
