"""Writes of data management: locks, signatures, source data verification and queries.

Every public write is one transaction with its audit rows. The CRF save path calls three of
these inside its own transaction, in this order, with a small fixed number of queries:

1. `assert_form_writable(form_or_subject)` once it holds the row lock on the form (an existing
   form) or on the subject (a new form). `lock()` takes the same row locks, so no save can pass
   its check and then commit into data that was locked meanwhile.
2. `after_form_change(ctx, form, changed_items)` after writing changed data or status.
3. `open_automatic_queries(ctx, form, warnings)` for soft edit-check warnings the user confirmed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from crf.models import FormInstance, FormStatus
from edc.accounts import signing
from edc.accounts.models import Membership
from edc.accounts.roles import Permission, permissions_of
from edc.accounts.scoping import authorize, scope_of
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import audit_row, require_reason
from edc.datamanagement import content_hash, query_emails, selectors
from edc.datamanagement.item_paths import item_and_row, query_item_path
from edc.datamanagement.models import (
    LOCK_BREADTH,
    Lock,
    LockLevel,
    Query,
    QueryChange,
    QueryEmailMode,
    QueryMessage,
    QueryNotice,
    Signature,
    SignatureLevel,
    SiteQuerySettings,
    SourceVerification,
)
from edc.datamanagement.query_states import (
    REQUIRED_PERMISSION,
    TEXT_REQUIRED,
    UNRESOLVED,
    QueryAction,
    QuerySource,
    QueryStatus,
    next_status,
)
from edc.errors import DomainError
from edc.studies.models import Site, Study, StudyStatus
from edc.studies.protocol import find_form, form_items
from edc.subjects.models import Subject
from edc.text_limits import MESSAGE_MAX_LENGTH, check_length


class Locked(DomainError):
    status = 423

    def __init__(self, message: str):
        super().__init__("locked", "form", message)


class Conflict(DomainError):
    status = 409


# ---- audit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Audit:
    action: str
    object_type: str
    object_id: Any
    item: str
    old: Any
    new: Any
    study_id: int | None
    site_id: int | None = None
    subject_id: int | None = None


def _audit(ctx: ChangeContext, entries: Iterable[_Audit]) -> list[AuditEvent]:
    """One INSERT for audit rows about several objects (record_changes covers one object)."""
    now = timezone.now()
    rows = [
        audit_row(
            ctx,
            e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            item=e.item,
            old=e.old,
            new=e.new,
            at=now,
            study_id=e.study_id,
            site_id=e.site_id,
            subject_id=e.subject_id,
        )
        for e in entries
    ]
    if rows:
        AuditEvent.objects.bulk_create(rows)
    return rows


def _text(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError("required", field, gettext("%(what)s is required") % {"what": what})
    return check_length(text, field, MESSAGE_MAX_LENGTH)


def _display_name(user) -> str:
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()


# ---- locks: the check the save path makes ------------------------------------------------


def _covering_locks(study_id: int, site_id: int, subject_id: int, form_ids: Sequence[int]) -> Q:
    covering = (
        Q(level=LockLevel.STUDY, study_id=study_id)
        | Q(level=LockLevel.SITE, site_id=site_id)
        | Q(level=LockLevel.SUBJECT, subject_id=subject_id)
    )
    if form_ids:
        covering |= Q(level=LockLevel.FORM, form_instance_id__in=list(form_ids))
    return covering


def _raise_if_locked(study_id: int, site_id: int, subject_id: int, form_ids: Sequence[int]):
    """ONE query: the study's status and the widest active lock covering the target."""
    widest = (
        Lock.objects.filter(_covering_locks(study_id, site_id, subject_id, form_ids))
        .filter(unlocked_at__isnull=True)
        .order_by(LOCK_BREADTH)
        .values("level")[:1]
    )
    row = Study.objects.filter(pk=study_id).values_list("status", Subquery(widest)).first()
    if row is None:
        return
    study_status, level = row
    if level is not None:
        raise Locked(
            gettext(
                "this data is locked (%(level)s lock); a data manager must unlock it, with a "
                "reason, before it can change"
            )
            % {"level": level}
        )
    if study_status == StudyStatus.LOCKED:
        raise Locked(gettext("the study is locked; its data can no longer change"))


def assert_form_writable(target: FormInstance | Subject) -> None:
    """Raise Locked (423) if a form, subject, site or study lock covers the target. ONE query.

    A FormInstance is checked at all four levels (an unsaved one, pk None, like its subject);
    a Subject at subject, site and study level, for a form about to be created.
    """
    if isinstance(target, FormInstance):
        form_ids = [target.pk] if target.pk else []
        _raise_if_locked(target.study_id, target.site_id, target.subject_id, form_ids)
    else:
        _raise_if_locked(target.study_id, target.site_id, target.pk, [])


# ---- what an edit of form data does to signatures and verification -----------------------


def _signatures_covering(form: FormInstance) -> Q:
    return Q(subject_id=form.subject_id) & (
        Q(level=SignatureLevel.FORM, form_instance_id=form.pk)
        | Q(level=SignatureLevel.VISIT, event_code=form.event_code, event_repeat=form.event_repeat)
        | Q(level=SignatureLevel.CASEBOOK)
    )


def _item_path(change: Any) -> str:
    return change if isinstance(change, str) else change.item


def after_form_change(
    ctx: ChangeContext, form_instance: FormInstance, changed_items: Iterable[Any]
) -> list[AuditEvent]:
    """Void every valid signature covering the form (form, its visit, the casebook) and mark it
    as needing re-signature; clear the form's whole-form verification and the item
    verifications of the changed items. Call it inside the save's transaction whenever the
    form's data or status changed (a status-only change passes no items).

    Items are item paths ("ITEM", "GROUP[row].ITEM") or objects with an `.item` path (the CRF's
    ItemChange). Returns the audit rows it wrote.
    Queries: 1 when nothing was signed or verified, at most 4.
    """
    form = form_instance
    codes = sorted({item_and_row(_item_path(c))[0] for c in changed_items})
    signatures = (
        Signature.objects.filter(_signatures_covering(form), voided_at__isnull=True)
        .annotate(kind=Value("signature"), key=F("level"))
        .values_list("pk", "kind", "key")
        .order_by()  # SQLite refuses ORDER BY inside a compound statement's parts
    )
    verifications = (
        SourceVerification.objects.filter(form_instance_id=form.pk, cleared_at__isnull=True)
        .filter(Q(item_code="") | Q(item_code__in=codes))
        .annotate(kind=Value("sdv"), key=F("item_code"))
        .values_list("pk", "kind", "key")
        .order_by()
    )
    found = list(signatures.union(verifications, all=True))
    if not found:
        return []
    now = timezone.now()
    where = f"{form.form_code} at {form.event_code}#{form.event_repeat} changed"
    void_reason = f"{where}: {ctx.reason}" if ctx.reason else where
    signature_ids = [pk for pk, kind, _ in found if kind == "signature"]
    sdv_ids = [pk for pk, kind, _ in found if kind == "sdv"]
    if signature_ids:
        Signature.objects.filter(pk__in=signature_ids).update(
            voided_at=now, void_reason=void_reason, resign_required=True
        )
    if sdv_ids:
        SourceVerification.objects.filter(pk__in=sdv_ids).update(
            cleared_at=now, cleared_reason=where[:200]
        )
    scope = {"study_id": form.study_id, "site_id": form.site_id, "subject_id": form.subject_id}
    return _audit(
        ctx,
        [
            _Audit(
                "signature_voided",
                "datamanagement.Signature",
                pk,
                f"{key} signature",
                "valid",
                "voided, re-signature needed",
                **scope,
            )
            if kind == "signature"
            else _Audit(
                "sdv_cleared",
                "datamanagement.SourceVerification",
                pk,
                key or "form",
                "verified",
                "not verified",
                **scope,
            )
            for pk, kind, key in found
        ],
    )


# ---- queries ---------------------------------------------------------------------------

EDIT_CHECK_AUTHOR = "edit check"


def _query_audit(query: Query, action: str, item: str, old: Any, new: Any) -> _Audit:
    return _Audit(
        action,
        "datamanagement.Query",
        query.pk,
        item,
        old,
        new,
        query.study_id,
        query.site_id,
        query.subject_id,
    )


def _warning(warning: Any) -> tuple[str, int | None, str]:
    if isinstance(warning, tuple):
        item, row = item_and_row(warning[0])
        if len(warning) > 2 and warning[2] is not None:
            row = int(warning[2])
        return item, row, warning[1]
    return item_and_row(warning.path) + (warning.message,)


def open_automatic_queries(
    ctx: ChangeContext, form_instance: FormInstance, warnings: Iterable[Any]
) -> list[Query]:
    """Open an edit-check query for each confirmed soft warning. A warning is (path, message),
    (path, message, group_row) or an object with `.path` and `.message` (the CRF's Issue); the
    path is "ITEM" or "GROUP[row].ITEM". An item (and row) that already has an unresolved
    edit-check query gets no second one.
    Queries: 0 without warnings, 1 when all exist already, else 4.
    """
    form = form_instance
    wanted: dict[tuple[str, int | None], str] = {}
    for warning in warnings:
        item, row, message = _warning(warning)
        wanted.setdefault((item, row), message)
    if not wanted:
        return []
    existing = set(
        Query.objects.filter(
            form_instance_id=form.pk, source=QuerySource.EDIT_CHECK, status__in=UNRESOLVED
        ).values_list("item_code", "group_row")
    )
    new = [(key, text) for key, text in wanted.items() if key not in existing]
    if not new:
        return []
    now = timezone.now()
    queries = Query.objects.bulk_create(
        [
            Query(
                study_id=form.study_id,
                site_id=form.site_id,
                subject_id=form.subject_id,
                form_instance_id=form.pk,
                item_code=item,
                group_row=row,
                source=QuerySource.EDIT_CHECK,
                status=QueryStatus.OPEN,
                created_at=now,
                updated_at=now,
            )
            for (item, row), _ in new
        ]
    )
    QueryMessage.objects.bulk_create(
        [
            QueryMessage(
                query=query,
                action="raise",
                text=text,
                author_name=EDIT_CHECK_AUTHOR,
                created_at=now,
            )
            for query, (_, text) in zip(queries, new, strict=True)
        ]
    )
    _audit(
        ctx,
        [
            _query_audit(query, "query_opened", query.item_code, None, QueryStatus.OPEN.value)
            for query in queries
        ],
    )
    return queries


def _form_definition(form: FormInstance) -> dict:
    definition = find_form(form.protocol_version.definition, form.form_code)
    if definition is None:
        raise DomainError(
            "unknown_form",
            "form",
            gettext("form %(form)s is not in the protocol") % {"form": form.form_code},
        )
    return definition


def _group_of(definition: dict, item_code: str) -> str | None:
    for group in definition.get("groups", []):
        if any(item["code"] == item_code for item in group.get("items", [])):
            return group["code"]
    return None


def _check_item(form: FormInstance, item_code: str, group_row: int | None) -> None:
    definition = _form_definition(form)
    if item_code not in form_items(definition):
        raise DomainError(
            "unknown_item",
            "item_code",
            gettext("%(item)s is not an item of %(form)s")
            % {"item": repr(item_code), "form": form.form_code},
        )
    if group_row is None:
        return
    group = _group_of(definition, item_code)
    if group is None:
        raise DomainError(
            "not_in_group",
            "group_row",
            gettext("%(item)s is not in a repeating group: leave the row empty")
            % {"item": item_code},
        )
    rows = form.data.get(group) or []
    if not 1 <= group_row <= len(rows):
        raise DomainError(
            "no_such_row",
            "group_row",
            gettext("%(group)s has %(count)s row(s); row %(row)s does not exist")
            % {"group": group, "count": len(rows), "row": group_row},
        )


def _check_assignee(assignee, study_id: int, site_id: int) -> None:
    roles = Membership.objects.filter(
        Q(site_id=site_id) | Q(site__isnull=True), user=assignee, study_id=study_id, is_active=True
    ).values_list("role", flat=True)
    if Permission.ANSWER_QUERY not in permissions_of(set(roles)):
        raise DomainError(
            "invalid_assignee",
            "assignee",
            gettext("the assignee must be a member of this site who answers queries"),
        )


@transaction.atomic
def raise_query(
    ctx: ChangeContext,
    form_instance: FormInstance,
    *,
    item_code: str,
    text: str,
    group_row: int | None = None,
    assignee=None,
) -> Query:
    """A monitor or data manager asks the site about one item (and row) of a form."""
    form = FormInstance.objects.select_related("protocol_version").get(pk=form_instance.pk)
    authorize(ctx, Permission.RAISE_QUERY, form.study_id, form.site_id)
    text = _text(text, "text", gettext("the question"))
    _check_item(form, item_code, group_row)
    if assignee is not None:
        _check_assignee(assignee, form.study_id, form.site_id)
    assert_form_writable(form)
    now = timezone.now()
    raiser = ctx.actor
    query = Query.objects.create(
        study_id=form.study_id,
        site_id=form.site_id,
        subject_id=form.subject_id,
        form_instance=form,
        item_code=item_code,
        group_row=group_row,
        source=QuerySource.MANUAL,
        assignee=assignee,
        raised_by=raiser,
        created_at=now,
        updated_at=now,
    )
    QueryMessage.objects.create(
        query=query,
        action="raise",
        text=text,
        author=raiser,
        author_name=_display_name(raiser) if raiser else EDIT_CHECK_AUTHOR,
        created_at=now,
    )
    entries = [_query_audit(query, "query_opened", item_code, None, QueryStatus.OPEN.value)]
    if assignee is not None:
        entries.append(
            _query_audit(query, "query_opened", "assignee", None, assignee.get_username())
        )
    _audit(ctx, entries)
    _queue_query_notice(query)
    return query


@transaction.atomic
def act_on_query(ctx: ChangeContext, query: Query, action: str, text: str = "") -> Query:
    """Answer, re-query, close or cancel a query: the state machine decides what is legal,
    the role decides who may (site roles answer; monitors and data managers do the rest)."""
    query = Query.objects.select_for_update().get(pk=query.pk)
    if action not in QueryAction._value2member_map_:
        next_status(query.status, action)  # raises IllegalQueryTransition naming what is allowed
    return _step(ctx, query, QueryAction(action), text, check_locks=True)


def _step(
    ctx: ChangeContext, query: Query, step: QueryAction, text: str, *, check_locks: bool
) -> Query:
    """One step of a query the caller holds the row lock on. An answer or a re-query may
    lead to a change of the form, so a lock refuses them (the save path checked already)."""
    authorize(ctx, REQUIRED_PERMISSION[step], query.study_id, query.site_id)
    target = next_status(query.status, step)
    if step in TEXT_REQUIRED:
        text = _text(
            text, "text", gettext("a message for %(action)s") % {"action": step.label.lower()}
        )
    if check_locks and step in (QueryAction.ANSWER, QueryAction.REQUERY):
        assert_form_writable(query.form_instance)
    now = timezone.now()
    old = query.status
    query.status = target.value
    query.updated_at = now
    if target in (QueryStatus.CLOSED, QueryStatus.CANCELLED):
        query.closed_at = now
    query.save(update_fields=["status", "updated_at", "closed_at"])
    author = ctx.actor
    QueryMessage.objects.create(
        query=query,
        action=step.value,
        text=(text or "").strip(),
        author=author,
        author_name=_display_name(author) if author else "system",
        created_at=now,
    )
    _audit(ctx, [_query_audit(query, f"query_{step.value}", "status", old, target.value)])
    return query


def answer_queries_on_save(
    ctx: ChangeContext,
    form_instance: FormInstance,
    answers: Mapping[int, str],
    audit_rows: Sequence[AuditEvent],
) -> list[Query]:
    """Answer queries of a form from its page as it is saved, inside the save's transaction
    (which holds the form's row lock and checked its locks). The audit row of each value the
    save changed on a queried item is linked to that query (QueryChange), so the query shows
    what was changed in answer to it. `audit_rows` must carry their ids.
    Queries: 0 without answers, else 4 at most."""
    if not answers:
        return []
    queries = list(
        Query.objects.select_for_update()
        .filter(form_instance_id=form_instance.pk, pk__in=list(answers))
        .order_by("pk")
    )
    missing = sorted(set(answers) - {q.pk for q in queries})
    if missing:
        raise DomainError(
            "unknown_query",
            "query",
            _("%(queries)s: not a query of this form")
            % {"queries": ", ".join(f"Q{pk}" for pk in missing)},
        )
    definition = find_form(form_instance.protocol_version.definition, form_instance.form_code)
    links = []
    for query in queries:
        _step(ctx, query, QueryAction.ANSWER, answers[query.pk], check_locks=False)
        path = query_item_path(definition or {}, query.item_code, query.group_row)
        links += [
            QueryChange(query=query, audit_event_id=row.pk)
            for row in audit_rows
            if row.item == path
        ]
    if links:
        QueryChange.objects.bulk_create(links)
    return queries


# ---- telling the site of new queries -----------------------------------------------------


def _queue_query_notice(query: Query) -> QueryNotice | None:
    """A pending e-mail for a new query, when its site wants one per query. The constraint
    query_notice_once_per_query makes this happen once."""
    mode = (
        SiteQuerySettings.objects.filter(site_id=query.site_id)
        .values_list("email_mode", flat=True)
        .first()
    ) or QueryEmailMode.IMMEDIATE
    if mode != QueryEmailMode.IMMEDIATE:
        return None
    return QueryNotice.objects.create(
        kind=QueryNotice.Kind.IMMEDIATE, site_id=query.site_id, query=query
    )


def queue_query_digests(day: dt.date) -> list[int]:
    """One pending digest per site that wants a daily digest and had new queries raised by a
    person on `day` (UTC). Re-running for a day queues nothing twice (ON CONFLICT DO NOTHING
    on query_notice_once_per_site_day). Returns the ids of the notices queued now."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    counts = (
        Query.objects.filter(
            source=QuerySource.MANUAL,
            created_at__gte=start,
            created_at__lt=start + dt.timedelta(days=1),
            site_id__in=SiteQuerySettings.objects.filter(email_mode=QueryEmailMode.DAILY).values(
                "site_id"
            ),
        )
        .order_by()
        .values("site_id")
        .annotate(n=Count("pk"))
        .values_list("site_id", "n")
    )
    before = set(
        QueryNotice.objects.filter(kind=QueryNotice.Kind.DIGEST, day=day).values_list(
            "pk", flat=True
        )
    )
    QueryNotice.objects.bulk_create(
        [
            QueryNotice(kind=QueryNotice.Kind.DIGEST, site_id=site_id, day=day, items=n)
            for site_id, n in counts
        ],
        ignore_conflicts=True,
    )
    return sorted(
        set(
            QueryNotice.objects.filter(kind=QueryNotice.Kind.DIGEST, day=day).values_list(
                "pk", flat=True
            )
        )
        - before
    )


def deliver_query_notices() -> tuple[int, int]:
    """Send pending query e-mails, each in its own transaction holding its row lock, so two
    workers never send the same one and a crash before the commit leaves it pending. An SMTP
    failure raises (the task retries). Returns (sent, withheld)."""
    from django.core.mail import get_connection

    from edc.accounts.selectors import readers_of
    from edc.mail import send_to_readers
    from edc.reminders.services import site_recipients

    sent = withheld = 0
    connection = get_connection()
    try:
        while True:
            with transaction.atomic():
                notice = (
                    QueryNotice.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("site__study")
                    .filter(state=QueryNotice.State.PENDING)
                    .order_by("id")
                    .first()
                )
                if notice is None:
                    break
                queries = _noticed_queries(notice)
                to = site_recipients(notice.site)
                why = "" if queries else gettext("no query to tell of")
                why = why or ("" if to else gettext("the site has no staff e-mail address"))
                if why:
                    _close_notice(notice, QueryNotice.State.SUPPRESSED, why, [])
                    withheld += 1
                    continue
                connection.open()  # no-op once open: one SMTP session for the run
                # Each recipient reads it in their language and zone (edc.mail).
                send_to_readers(
                    readers_of(to, notice.site),
                    partial(query_emails.message, notice, queries),
                    connection=connection,
                )
                notice.items = len(queries)
                _close_notice(notice, QueryNotice.State.SENT, "", to)
                sent += 1
    finally:
        connection.close()
    return sent, withheld


def _noticed_queries(notice: QueryNotice) -> list[Query]:
    """The queries a notice tells of, read at send time: one closed or cancelled meanwhile
    needs nobody's attention and is left out."""
    queries = Query.objects.select_related("subject", "form_instance__protocol_version").filter(
        status__in=UNRESOLVED
    )
    if notice.kind == QueryNotice.Kind.IMMEDIATE:
        return list(queries.filter(pk=notice.query_id))
    start = dt.datetime.combine(notice.day, dt.time.min, tzinfo=dt.UTC)
    return list(
        queries.filter(
            site_id=notice.site_id,
            source=QuerySource.MANUAL,
            created_at__gte=start,
            created_at__lt=start + dt.timedelta(days=1),
        ).order_by("created_at", "pk")
    )


def _close_notice(notice: QueryNotice, state: str, note: str, to: list[str]) -> None:
    notice.state = state
    notice.note = note
    notice.recipients = to
    notice.sent_at = timezone.now() if state == QueryNotice.State.SENT else None
    notice.save(update_fields=["state", "note", "recipients", "sent_at", "items"])
    _audit(
        ChangeContext.system(),
        [
            _Audit(
                "query_notice_sent" if state == QueryNotice.State.SENT else "query_notice_withheld",
                "datamanagement.QueryNotice",
                notice.pk,
                f"{notice.kind} {notice.day or ''}".strip(),
                None,
                {"recipients": to} if to else {"why": note},
                notice.site.study_id,
                notice.site_id,
            )
        ],
    )


# ---- source data verification ----------------------------------------------------------


@transaction.atomic
def verify_source(
    ctx: ChangeContext, form_instance: FormInstance, items: Sequence[str] = ()
) -> list[SourceVerification]:
    """A monitor marks the whole form (no items) or some of its items as source-verified.
    Already-verified targets are left as they are; the new verifications are returned."""
    form = (
        FormInstance.objects.select_for_update(of=("self",))
        .select_related("protocol_version")
        .get(pk=form_instance.pk)
    )
    authorize(ctx, Permission.VERIFY_SOURCE, form.study_id, form.site_id)
    if ctx.user is None or not ctx.user.is_authenticated:
        raise PermissionDenied(gettext("source data verification needs a signed-in monitor"))
    assert_form_writable(form)
    if form.status != FormStatus.COMPLETE:
        raise Conflict(
            "not_complete", "form", gettext("only a complete form can be source-verified")
        )
    codes = list(dict.fromkeys(items)) or [""]
    known = form_items(_form_definition(form))
    unknown = [code for code in codes if code and code not in known]
    if unknown:
        raise DomainError(
            "unknown_item",
            "items",
            gettext("not items of %(form)s: %(items)s")
            % {"form": form.form_code, "items": ", ".join(unknown)},
        )
    current = set(
        SourceVerification.objects.filter(
            form_instance=form, cleared_at__isnull=True, item_code__in=codes
        ).values_list("item_code", flat=True)
    )
    now = timezone.now()
    made = SourceVerification.objects.bulk_create(
        [
            SourceVerification(
                study_id=form.study_id,
                site_id=form.site_id,
                subject_id=form.subject_id,
                form_instance=form,
                item_code=code,
                verified_by=ctx.user,
                verified_at=now,
            )
            for code in codes
            if code not in current
        ]
    )
    _audit(
        ctx,
        [
            _Audit(
                "sdv",
                "datamanagement.SourceVerification",
                row.pk,
                row.item_code or "form",
                "not verified",
                "verified",
                form.study_id,
                form.site_id,
                form.subject_id,
            )
            for row in made
        ],
    )
    return made


# ---- signatures ------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRef:
    """A visit of a subject: what a visit-level signature covers."""

    subject: Subject
    event_code: str
    event_repeat: int = 1


# Lazy: the sign page offers it in the signer's language; what is signed is the text submitted.
DEFAULT_MEANING = gettext_lazy(
    "I attest that I have reviewed the data recorded here and that, to the best of my knowledge, "
    "it is complete and accurate."
)

_SIGNABLE = {FormStatus.COMPLETE, FormStatus.NOT_DONE}


@dataclass(frozen=True)
class _SignTarget:
    level: SignatureLevel
    subject: Subject
    forms: Q
    label: str
    form_instance_id: int | None = None
    event_code: str = ""
    event_repeat: int | None = None

    @property
    def same_target(self) -> Q:
        if self.level == SignatureLevel.FORM:
            return Q(level=self.level, form_instance_id=self.form_instance_id)
        if self.level == SignatureLevel.VISIT:
            return Q(
                level=self.level,
                subject_id=self.subject.pk,
                event_code=self.event_code,
                event_repeat=self.event_repeat,
            )
        return Q(level=self.level, subject_id=self.subject.pk)


def _sign_target(level: str, target: Any) -> _SignTarget:
    if level not in SignatureLevel.values:
        raise DomainError(
            "invalid_level", "level", gettext("level must be form, visit or casebook")
        )
    level = SignatureLevel(level)
    if level == SignatureLevel.FORM and isinstance(target, FormInstance):
        subject = Subject.objects.get(pk=target.subject_id)
        label = content_hash.target_label(
            subject.subject_id,
            target.event_code,
            target.event_repeat,
            target.form_code,
            target.form_repeat,
        )
        return _SignTarget(level, subject, Q(pk=target.pk), label, form_instance_id=target.pk)
    if level == SignatureLevel.VISIT and isinstance(target, VisitRef):
        subject = target.subject
        return _SignTarget(
            level,
            subject,
            Q(
                subject_id=subject.pk,
                event_code=target.event_code,
                event_repeat=target.event_repeat,
            ),
            content_hash.target_label(subject.subject_id, target.event_code, target.event_repeat),
            event_code=target.event_code,
            event_repeat=target.event_repeat,
        )
    if level == SignatureLevel.CASEBOOK and isinstance(target, Subject):
        return _SignTarget(level, target, Q(subject_id=target.pk), target.subject_id)
    raise DomainError(
        "invalid_target",
        "target",
        gettext("a %(level)s signature needs a %(level)s to sign") % {"level": level},
    )


def sign(
    ctx: ChangeContext,
    *,
    level: str,
    target: Any,
    password: str,
    meaning: str,
    username: str | None = None,
    session: SessionBase | None = None,
) -> Signature:
    """The investigator signs a form (FormInstance), a visit (VisitRef) or a casebook (Subject)
    with the meaning of the signature stated, by giving the signature's components
    (edc.accounts.signing): user ID and password for the first signing of the web `session`,
    the password alone after that. A user ID given must be the signer's own.

    A wrong password or user ID is audited as a failed signature attempt (committed even though
    the signature is refused) and answered 403 (bad_credentials, wrong_user_id); a missing
    user ID is 400 user_id_required.
    """
    spec = _sign_target(level, target)
    user = ctx.user
    if user is None or not user.is_authenticated:
        raise PermissionDenied(gettext("only a signed-in investigator can sign"))
    scope_of(user).require(Permission.SIGN, spec.subject.study_id, spec.subject.site_id)
    meaning = _text(meaning, "meaning", gettext("the meaning of the signature"))
    problem = signing.signer_problem(user, username=username, password=password, session=session)
    if signing.is_failed_attempt(problem):
        _audit(
            ctx,
            [
                _Audit(
                    "signature_failed",
                    "datamanagement.Signature",
                    None,
                    spec.level.value,
                    None,
                    spec.label,
                    spec.subject.study_id,
                    spec.subject.site_id,
                    spec.subject.pk,
                )
            ],
        )
    if problem is not None:
        raise problem
    signature = _record_signature(ctx, spec, meaning)
    signing.mark_signed(session, username=username)
    return signature


@transaction.atomic
def _record_signature(ctx: ChangeContext, spec: _SignTarget, meaning: str) -> Signature:
    subject = spec.subject
    # Row locks as a save takes them: no edit can slip in between hashing and signing.
    list(Subject.objects.select_for_update().filter(pk=subject.pk).values("pk"))
    forms = list(FormInstance.objects.select_for_update().filter(spec.forms).order_by("pk"))
    if not forms:
        raise Conflict(
            "nothing_to_sign",
            "target",
            gettext("%(target)s has no forms to sign") % {"target": spec.label},
        )
    _raise_if_locked(subject.study_id, subject.site_id, subject.pk, [f.pk for f in forms])
    pending = [f for f in forms if f.status not in _SIGNABLE and f.status != FormStatus.REMOVED]
    if spec.level == SignatureLevel.FORM and forms[0].status not in _SIGNABLE:
        pending = forms
    if pending:
        raise Conflict(
            "not_complete",
            "target",
            gettext("only complete forms can be signed; not complete: %(forms)s")
            % {
                "forms": ", ".join(
                    f"{f.event_code}#{f.event_repeat} {f.form_code}" for f in pending
                )
            },
        )
    if Signature.objects.filter(spec.same_target, voided_at__isnull=True).exists():
        raise Conflict(
            "already_signed",
            "target",
            gettext("%(target)s is already signed") % {"target": spec.label},
        )
    digest = content_hash.sha256_hex(
        content_hash.signed_content(
            spec.level.value,
            spec.label,
            [content_hash.form_record(f, subject.subject_id) for f in forms],
        )
    )
    try:
        with transaction.atomic():
            signature = Signature.objects.create(
                level=spec.level,
                study_id=subject.study_id,
                site_id=subject.site_id,
                subject_id=subject.pk,
                form_instance_id=spec.form_instance_id,
                event_code=spec.event_code,
                event_repeat=spec.event_repeat,
                signer=ctx.user,
                signer_name=_display_name(ctx.user),
                meaning=meaning,
                content_sha256=digest,
            )
    except IntegrityError as exc:
        raise Conflict(
            "already_signed",
            "target",
            gettext("%(target)s is already signed") % {"target": spec.label},
        ) from exc
    Signature.objects.filter(spec.same_target, resign_required=True).update(resign_required=False)

    def entry(item: str, new: Any) -> _Audit:
        return _Audit(
            "sign",
            "datamanagement.Signature",
            signature.pk,
            item,
            None,
            new,
            subject.study_id,
            subject.site_id,
            subject.pk,
        )

    _audit(
        ctx,
        [
            entry("target", f"{spec.level.value} {spec.label}"),
            entry("signer", signature.signer_name),
            entry("signed_at", signature.signed_at.isoformat()),
            entry("meaning", meaning),
            entry("content_sha256", digest),
        ],
    )
    return signature


# ---- locks -----------------------------------------------------------------------------


def _lock_fields(level: LockLevel, target: Any) -> dict:
    if level == LockLevel.STUDY and isinstance(target, Study):
        return {
            "study_id": target.pk,
            "site_id": None,
            "subject_id": None,
            "form_instance_id": None,
        }
    if level == LockLevel.SITE and isinstance(target, Site):
        return {
            "study_id": target.study_id,
            "site_id": target.pk,
            "subject_id": None,
            "form_instance_id": None,
        }
    if level == LockLevel.SUBJECT and isinstance(target, Subject):
        return {
            "study_id": target.study_id,
            "site_id": target.site_id,
            "subject_id": target.pk,
            "form_instance_id": None,
        }
    if level == LockLevel.FORM and isinstance(target, FormInstance):
        return {
            "study_id": target.study_id,
            "site_id": target.site_id,
            "subject_id": target.subject_id,
            "form_instance_id": target.pk,
        }
    raise DomainError(
        "invalid_target",
        "target",
        gettext("a %(level)s lock needs a %(level)s to lock") % {"level": level},
    )


def _narrowest(fields: dict) -> tuple[str, int]:
    for key in ("form_instance_id", "subject_id", "site_id", "study_id"):
        if fields[key] is not None:
            return key, fields[key]
    raise AssertionError("a lock target always names a study")


def _covered_forms(fields: dict) -> Q:
    key, value = _narrowest(fields)
    return Q(pk=value) if key == "form_instance_id" else Q(**{key: value})


def _covered_subjects(fields: dict) -> Q:
    key, value = _narrowest(fields)
    return Q(pk=value) if key == "subject_id" else Q(**{key: value})


def _covered_queries(fields: dict) -> Q:
    key, value = _narrowest(fields)
    return Q(**{key: value})


def _lock_audit(lock: Lock, action: str, item: str, old: Any, new: Any) -> _Audit:
    return _Audit(
        action,
        "datamanagement.Lock",
        lock.pk,
        item,
        old,
        new,
        lock.study_id,
        lock.site_id,
        lock.subject_id,
    )


@transaction.atomic
def lock(ctx: ChangeContext, level: str, target: Any, reason: str = "") -> Lock:
    """Lock a form, subject, site or study (data managers). A study lock freezes the dataset:
    it records a snapshot id and the hash of every form, and marks the study locked."""
    if level not in LockLevel.values:
        raise DomainError(
            "invalid_level", "level", gettext("level must be form, subject, site or study")
        )
    level = LockLevel(level)
    fields = _lock_fields(level, target)
    authorize(ctx, Permission.LOCK, fields["study_id"], fields["site_id"])
    ctx = ctx.with_reason((reason or "").strip())
    # The row locks a save holds while it checks for locks: taking them here orders this lock
    # strictly before or after every concurrent save. Subjects before forms, as signing does.
    if level != LockLevel.FORM:
        list(Subject.objects.select_for_update().filter(_covered_subjects(fields)).values("pk"))
    list(FormInstance.objects.select_for_update().filter(_covered_forms(fields)).values("pk"))
    if Lock.objects.filter(
        level=level, unlocked_at__isnull=True, **_same_lock_target(level, fields)
    ).exists():
        raise Conflict(
            "already_locked",
            "target",
            gettext("this %(level)s is already locked") % {"level": level},
        )
    unresolved = Query.objects.filter(_covered_queries(fields), status__in=UNRESOLVED).count()
    if unresolved:
        raise Conflict(
            "open_queries",
            "target",
            ngettext(
                "%(count)s query is still open or answered here; close or cancel it first",
                "%(count)s queries are still open or answered here; close or cancel them first",
                unresolved,
            )
            % {"count": unresolved},
        )
    new = Lock(level=level, reason=ctx.reason, locked_by=ctx.actor, **fields)
    entries = []
    if level == LockLevel.STUDY:
        study = Study.objects.select_for_update().get(pk=fields["study_id"])
        new.snapshot_sha256, new.snapshot_form_count = selectors.dataset_snapshot(study)
        new.snapshot_id = uuid.uuid4()
        new.previous_study_status = study.status
        if study.status != StudyStatus.LOCKED:
            Study.objects.filter(pk=study.pk).update(status=StudyStatus.LOCKED)
            entries.append(
                _Audit(
                    "update", "studies.Study", study.pk, "status", study.status, "locked", study.pk
                )
            )
    try:
        with transaction.atomic():
            new.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(
            "already_locked",
            "target",
            gettext("this %(level)s is already locked") % {"level": level},
        ) from exc
    entries.append(_lock_audit(new, "lock", "level", None, level.value))
    if new.snapshot_id:
        entries.append(_lock_audit(new, "lock", "snapshot_id", None, str(new.snapshot_id)))
        entries.append(_lock_audit(new, "lock", "snapshot_sha256", None, new.snapshot_sha256))
        entries.append(
            _lock_audit(new, "lock", "snapshot_form_count", None, new.snapshot_form_count)
        )
    _audit(ctx, entries)
    return new


def _same_lock_target(level: LockLevel, fields: dict) -> dict:
    column = {
        LockLevel.STUDY: "study_id",
        LockLevel.SITE: "site_id",
        LockLevel.SUBJECT: "subject_id",
        LockLevel.FORM: "form_instance_id",
    }[level]
    return {column: fields[column]}


@transaction.atomic
def unlock(ctx: ChangeContext, lock: Lock, reason: str) -> Lock:
    """Release a lock (data managers); the reason is required and audited."""
    lock = Lock.objects.select_for_update().get(pk=lock.pk)
    authorize(ctx, Permission.LOCK, lock.study_id, lock.site_id)
    ctx = ctx.with_reason(reason or "")
    require_reason(ctx)
    if lock.unlocked_at is not None:
        raise Conflict("not_locked", "lock", gettext("this lock was already released"))
    lock.unlocked_at = timezone.now()
    lock.unlocked_by = ctx.actor
    lock.unlock_reason = ctx.reason.strip()
    lock.save(update_fields=["unlocked_at", "unlocked_by", "unlock_reason"])
    entries = [_lock_audit(lock, "unlock", "unlocked_at", None, lock.unlocked_at.isoformat())]
    if lock.level == LockLevel.STUDY:
        study = Study.objects.select_for_update().get(pk=lock.study_id)
        restored = lock.previous_study_status or StudyStatus.CLOSED
        if study.status == StudyStatus.LOCKED and restored != StudyStatus.LOCKED:
            Study.objects.filter(pk=study.pk).update(status=restored)
            entries.append(
                _Audit("update", "studies.Study", study.pk, "status", "locked", restored, study.pk)
            )
    _audit(ctx, entries)
    return lock
