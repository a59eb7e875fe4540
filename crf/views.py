"""Browser pages for data entry. Thin: selectors read, services write, form_page lays out."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crf import lab_ranges, selectors, services
from crf.explanations import explain_stored
from crf.form_page import build_page
from crf.rules.units import display_unit
from crf.selectors import FormSlot
from crf.validation import Issue, values_from_post
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.datamanagement import selectors as datamanagement_selectors
from edc.errors import DomainError
from edc.studies.texts import study_text
from edc.subjects import selectors as subject_selectors

CONTROL_KEYS = (
    "csrfmiddlewaretoken",
    "row_version",
    "reason",
    "confirm_warnings",
    "action",
    "range_override_reason",
)
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
    notes = extra.pop("notes", slot.instance.derived if slot.instance else {})
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
        notes={**notes, "lab_range_text": _range_texts(notes)},
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
        "event": event,
        "form": form,
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
        "recist": _shown_recist(page.notes.get("recist"), definition),
        "next_form": _next_form(slot),
        "has_lab_limits": bool(lab_ranges.limit_items(slot.form)),
        **extra,
    }
    return render(request, "crf/form.html", context, status=status)


def _range_texts(notes) -> dict[str, str]:
    """What each LLN/ULN field says about the site range behind it, in the reader's language."""
    texts = {}
    for code, note in (notes or {}).get("lab_ranges", {}).items():
        params = {
            "value": note["value"],
            "unit": display_unit(note["unit"]),
            "date": note["effective_from"],
            "reason": note.get("reason", ""),
        }
        if note.get("overridden"):
            texts[code] = (
                _(
                    "Overridden: the site's range gives %(value)s %(unit)s (effective from "
                    "%(date)s); reason: %(reason)s"
                )
                % params
            )
        else:
            texts[code] = (
                _("From the site's normal range effective from %(date)s: %(value)s %(unit)s")
                % params
            )
    return texts


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
        raise PermissionDenied(gettext("your role does not allow data entry here"))
    values = _submitted(slot, request.POST)
    action = request.POST.get("action", "save")
    reason = request.POST.get("reason", "").strip()
    override_reason = request.POST.get("range_override_reason", "").strip()
    answers = _query_answers(request.POST)
    if answers and not reason:
        # A value corrected in answer to a query has the answer as its reason for change.
        reason = "; ".join(f"Q{pk}: {text}" for pk, text in sorted(answers.items()))

    def again(**extra):
        """The page shown again with what was entered, nothing saved."""
        return _render(
            request,
            subject,
            slot,
            can_edit,
            values,
            reason=reason,
            range_override_reason=override_reason,
            **extra,
        )

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
            range_override_reason=override_reason,
            query_answers=answers,
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
    if answers:
        saved += "; " + _("answered %(queries)s") % {
            "queries": ", ".join(f"Q{pk}" for pk in sorted(answers))
        }
    messages.success(request, saved)
    if action == "save_return":
        # As REDCap's "Save & Exit Form": what comes next (register, randomize...) is on the
        # subject page, one load instead of two.
        return redirect(
            "subject-detail", study_code=subject.study.code, subject_id=subject.subject_id
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
    checked = services.check_form(
        subject,
        slot,
        _submitted(slot, request.POST),
        complete=request.POST.get("action", "save") != "draft",
        range_override_reason=request.POST.get("range_override_reason", ""),
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
