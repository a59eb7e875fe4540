"""Reads of data management state, always through the caller's Scope where they are lists.

The casebook and form pages call `form_flags` and `item_flags`; the export reads `study_lock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Collate
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.models import FormInstance
from edc.accounts.roles import GRANTS, Permission
from edc.accounts.scoping import Scope
from edc.audit.models import AuditEvent
from edc.datamanagement import content_hash
from edc.datamanagement.form_states import ICONS, ORDER, FormState, form_state
from edc.datamanagement.item_paths import query_item_path
from edc.datamanagement.models import (
    LOCK_BREADTH,
    Lock,
    LockLevel,
    Query,
    QueryMessage,
    Signature,
    SignatureLevel,
    SourceVerification,
)
from edc.datamanagement.query_states import UNRESOLVED, QueryStatus
from edc.studies.models import Study
from edc.studies.protocol import find_form
from edc.subjects.models import Subject

# ---- the export ------------------------------------------------------------------------


def dataset_snapshot(study: Study) -> tuple[str, int]:
    """The SHA-256 a study lock records (content_hash.dataset_content of every form of the
    study) and how many forms it covers. The export recomputes it to show the data unchanged."""

    def canonical(field: str):
        # Byte order, as Python sorts the same text; the database's locale collation may not.
        return Collate(F(field), "C") if connection.vendor == "postgresql" else F(field)

    rows = (
        FormInstance.objects.filter(study=study)
        .order_by(
            canonical("subject__subject_id"),
            canonical("event_code"),
            "event_repeat",
            canonical("form_code"),
            "form_repeat",
        )
        .values_list(
            "subject__subject_id",
            "event_code",
            "event_repeat",
            "form_code",
            "form_repeat",
            "status",
            "data",
        )
    )
    records = (
        content_hash.FormRecord(
            subject=subject,
            event=event,
            event_repeat=event_repeat,
            form=form,
            form_repeat=form_repeat,
            status=status,
            data=data,
        )
        for subject, event, event_repeat, form, form_repeat, status, data in rows.iterator(
            chunk_size=2000
        )
    )
    return content_hash.dataset_sha256(study.code, records)


def study_lock(study: Study) -> Lock | None:
    """The active study-level lock (with .snapshot_id, .snapshot_sha256, .locked_at), if any."""
    return Lock.objects.filter(study=study, level=LockLevel.STUDY, unlocked_at__isnull=True).first()


def get_form(scope: Scope, study: Study, form_id: int) -> FormInstance:
    """A filled form of the study in the caller's sites, else 404."""
    forms = scope.filter(FormInstance.objects.filter(study=study))
    return get_object_or_404(
        forms.select_related("subject", "site", "protocol_version"), pk=form_id
    )


# ---- casebook flags --------------------------------------------------------------------


@dataclass(frozen=True)
class FormFlags:
    locked: str | None  # the widest lock level covering the form, None when writable
    signed: bool  # a valid signature covers it (form, visit or casebook level)
    resign_required: bool  # a signature covering it was voided by an edit and not yet redone
    sdv: bool  # verified as a whole form
    sdv_items: int  # items verified one by one
    open_queries: int  # open or answered

    def as_dict(self) -> dict:
        return {
            "locked": self.locked,
            "signed": self.signed,
            "resign_required": self.resign_required,
            "sdv": self.sdv,
            "sdv_items": self.sdv_items,
            "open_queries": self.open_queries,
        }


def _signatures_over(form_ref: str = "") -> Q:
    """Signatures covering the outer form row (form, its visit, or the whole casebook)."""
    return Q(subject_id=OuterRef(f"{form_ref}subject_id")) & (
        Q(level=SignatureLevel.FORM, form_instance_id=OuterRef(f"{form_ref}pk"))
        | Q(
            level=SignatureLevel.VISIT,
            event_code=OuterRef(f"{form_ref}event_code"),
            event_repeat=OuterRef(f"{form_ref}event_repeat"),
        )
        | Q(level=SignatureLevel.CASEBOOK)
    )


def _count(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("form_instance_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _widest_lock() -> Subquery:
    covering = (
        Q(level=LockLevel.STUDY, study_id=OuterRef("study_id"))
        | Q(level=LockLevel.SITE, site_id=OuterRef("site_id"))
        | Q(level=LockLevel.SUBJECT, subject_id=OuterRef("subject_id"))
        | Q(level=LockLevel.FORM, form_instance_id=OuterRef("pk"))
    )
    return Subquery(
        Lock.objects.filter(covering, unlocked_at__isnull=True)
        .order_by(LOCK_BREADTH)
        .values("level")[:1]
    )


def _flag_annotations() -> dict:
    return dict(
        dm_lock=_widest_lock(),
        dm_signed=Exists(Signature.objects.filter(_signatures_over(), voided_at__isnull=True)),
        dm_resign=Exists(Signature.objects.filter(_signatures_over(), resign_required=True)),
        dm_sdv=Exists(
            SourceVerification.objects.filter(
                form_instance_id=OuterRef("pk"), item_code="", cleared_at__isnull=True
            )
        ),
        dm_sdv_items=_count(
            SourceVerification.objects.filter(
                form_instance_id=OuterRef("pk"), cleared_at__isnull=True
            ).exclude(item_code="")
        ),
        dm_queries=_count(
            Query.objects.filter(form_instance_id=OuterRef("pk"), status__in=UNRESOLVED)
        ),
        dm_study_status=Subquery(Study.objects.filter(pk=OuterRef("study_id")).values("status")),
    )


def flags_for_forms(forms: QuerySet) -> dict[int, FormFlags]:
    """Lock, signature, SDV and query state of each form of the queryset. ONE query."""
    rows = forms.order_by().annotate(**_flag_annotations())
    flags = {}
    for pk, lock, signed, resign, sdv, sdv_items, queries, study_status in rows.values_list(
        "pk",
        "dm_lock",
        "dm_signed",
        "dm_resign",
        "dm_sdv",
        "dm_sdv_items",
        "dm_queries",
        "dm_study_status",
    ):
        if lock is None and study_status == "locked":
            lock = LockLevel.STUDY.value
        flags[pk] = FormFlags(lock, signed, resign and not signed, sdv, sdv_items, queries)
    return flags


def form_flags(subject: Subject) -> dict[int, FormFlags]:
    """{form_instance_id: FormFlags} for every form of the subject. ONE query."""
    return flags_for_forms(FormInstance.objects.filter(subject_id=subject.pk))


@dataclass
class ItemFlags:
    sdv: bool = False
    open_queries: list[Query] = field(default_factory=list)


@dataclass
class FormDetailFlags:
    form_sdv: SourceVerification | None
    items: dict[str, ItemFlags]

    def item(self, code: str) -> ItemFlags:
        return self.items.get(code, ItemFlags())


def item_flags(form: FormInstance) -> FormDetailFlags:
    """Per-item SDV state and unresolved queries of one form, for its page. TWO queries."""
    verifications = list(
        SourceVerification.objects.filter(form_instance_id=form.pk, cleared_at__isnull=True)
    )
    items: dict[str, ItemFlags] = {}
    form_sdv = None
    for row in verifications:
        if row.item_code:
            items.setdefault(row.item_code, ItemFlags()).sdv = True
        else:
            form_sdv = row
    for query in Query.objects.filter(form_instance_id=form.pk, status__in=UNRESOLVED).order_by(
        "created_at"
    ):
        items.setdefault(query.item_code, ItemFlags()).open_queries.append(query)
    return FormDetailFlags(form_sdv, items)


def signatures_of(subject: Subject) -> list[Signature]:
    """Every signature of the subject, valid and voided, oldest first: name, time and meaning
    are shown wherever a signed record is rendered (21 CFR 11.50)."""
    return list(
        Signature.objects.filter(subject_id=subject.pk)
        .select_related("form_instance")
        .order_by("signed_at", "pk")
    )


def signature_matches_content(signature: Signature) -> bool:
    """Recompute the hash of what the signature covers now and compare it with the stored one."""
    subject = signature.subject
    forms = FormInstance.objects.filter(subject_id=subject.pk)
    label = subject.subject_id
    if signature.level == SignatureLevel.FORM:
        form = signature.form_instance
        forms = forms.filter(pk=form.pk)
        label = content_hash.target_label(
            subject.subject_id, form.event_code, form.event_repeat, form.form_code, form.form_repeat
        )
    elif signature.level == SignatureLevel.VISIT:
        forms = forms.filter(event_code=signature.event_code, event_repeat=signature.event_repeat)
        label = content_hash.target_label(
            subject.subject_id, signature.event_code, signature.event_repeat
        )
    content = content_hash.signed_content(
        signature.level, label, [content_hash.form_record(f, subject.subject_id) for f in forms]
    )
    return content_hash.sha256_hex(content) == signature.content_sha256


# ---- queries ---------------------------------------------------------------------------


def visible_queries(scope: Scope, study: Study) -> QuerySet:
    return scope.filter(Query.objects.filter(study=study)).select_related(
        "site", "subject", "form_instance", "assignee", "raised_by"
    )


def filter_queries(
    queries: QuerySet,
    *,
    status: str = "",
    site_code: str = "",
    subject_id: str = "",
    assignee=None,
    form_id: int | None = None,
) -> QuerySet:
    if status == "unresolved":
        queries = queries.filter(status__in=UNRESOLVED)
    elif status:
        queries = queries.filter(status=status)
    if site_code:
        queries = queries.filter(site__code=site_code)
    if subject_id:
        queries = queries.filter(subject__subject_id=subject_id)
    if assignee is not None:
        queries = queries.filter(Q(assignee=assignee) | Q(assignee__isnull=True))
    if form_id is not None:
        queries = queries.filter(form_instance_id=form_id)
    return queries


def get_query(scope: Scope, study: Study, pk: int) -> Query:
    """A query outside the caller's sites is simply not found (404)."""
    return get_object_or_404(visible_queries(scope, study), pk=pk)


def query_thread(query: Query) -> list:
    return list(query.messages.select_related("author").order_by("created_at", "pk"))


def age_days(query: Query, now=None) -> int:
    end = query.closed_at or now or timezone.now()
    return (end - query.created_at).days


@dataclass(frozen=True)
class SiteQueryCounts:
    site_code: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def unresolved(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in UNRESOLVED)


def query_counts(scope: Scope, study: Study) -> list[SiteQueryCounts]:
    """Queries per visible site and status, every status present (zeros included). TWO queries."""
    counted = (
        scope.filter(Query.objects.filter(study=study))
        .order_by()
        .values_list("site__code", "status")
        .annotate(n=Count("pk"))
    )
    by_site: dict[str, dict[str, int]] = {
        code: {s.value: 0 for s in QueryStatus}
        for code in scope.sites().filter(study=study).values_list("code", flat=True)
    }
    for site_code, status, n in counted:
        by_site.setdefault(site_code, {s.value: 0 for s in QueryStatus})[status] = n
    return [SiteQueryCounts(code, counts) for code, counts in sorted(by_site.items())]


def users_who_answer(study_id: int, site_id: int) -> QuerySet:
    """Active members of the site (or of every site) whose role answers queries: assignees."""
    roles = [role.value for role, granted in GRANTS.items() if Permission.ANSWER_QUERY in granted]
    return (
        get_user_model()
        .objects.filter(
            Q(memberships__site_id=site_id) | Q(memberships__site__isnull=True),
            memberships__study_id=study_id,
            memberships__is_active=True,
            memberships__role__in=roles,
            is_active=True,
        )
        .distinct()
        .order_by("username")
    )


# ---- locks -----------------------------------------------------------------------------


def locks_of(scope: Scope, study: Study) -> QuerySet:
    """Every lock of the study the caller may see, active first, newest first."""
    visible = Q(level=LockLevel.STUDY) | scope.site_filter()
    return (
        Lock.objects.filter(study=study)
        .filter(visible)
        .select_related("site", "subject", "form_instance", "locked_by", "unlocked_by")
        .order_by("-unlocked_at", "-locked_at", "-pk")
    )


def lockable_subject_ids(scope: Scope, study: Study) -> list[str]:
    """Subject IDs at the sites where the caller may lock, for the lock page's choice."""
    return list(
        scope.filter(Subject.objects.filter(study=study), permission=Permission.LOCK)
        .order_by("subject_id")
        .values_list("subject_id", flat=True)
    )


def subject_id_of_form(scope: Scope, study: Study, form_id: int) -> str:
    found = (
        scope.filter(FormInstance.objects.filter(study=study, pk=form_id))
        .values_list("subject__subject_id", flat=True)
        .first()
    )
    return found or ""


def form_choices(scope: Scope, study: Study, subject_id: str) -> list[tuple[int, str]]:
    """(form id, "Visit #n · Form name") of one subject's saved forms, in schedule order."""
    from crf.definitions import study_forms

    forms = list(
        scope.filter(FormInstance.objects.filter(study=study), permission=Permission.LOCK)
        .filter(subject__subject_id=subject_id)
        .exclude(status="removed")
        .values_list(
            "pk", "protocol_version_id", "event_code", "event_repeat", "form_code", "form_repeat"
        )
    )
    choices = []
    for pk, version, event, repeat, code, form_repeat in forms:
        index = study_forms(version)
        order = (
            index.event_order.index(event) if event in index.event_order else len(index.event_order)
        )
        event_name = index.events.get(event, {}).get("name", event)
        form_name = index.forms.get(code, {}).get("name", code)
        label = f"{event_name} #{repeat} · {form_name}" + (
            f" #{form_repeat}" if form_repeat > 1 else ""
        )
        choices.append(((order, repeat, event, code, form_repeat), (pk, label)))
    return [choice for _, choice in sorted(choices)]


def get_lock(scope: Scope, study: Study, pk: int) -> Lock:
    return get_object_or_404(locks_of(scope, study), pk=pk)


# ---- the audit trail -------------------------------------------------------------------


def audit_trail(
    scope: Scope,
    study: Study,
    *,
    subject_id: str = "",
    object_type: str = "",
    object_id: str = "",
    after_id: int = 0,
    limit: int = 200,
) -> list[AuditEvent]:
    """Audit rows of a study in order, for callers who may lock or export there.

    Site-limited callers see their sites' rows only. Rows about randomization are left out for
    callers who may not see allocations, because their values can name the arm.
    """
    rows = AuditEvent.objects.filter(study=study, id__gt=after_id)
    if scope.is_site_limited(study.pk, Permission.EXPORT) and scope.is_site_limited(
        study.pk, Permission.LOCK
    ):
        rows = rows.filter(site__in=scope.sites().filter(study=study))
    if not scope.can_anywhere(Permission.VIEW_ALLOCATION_LIST, study.pk):
        rows = rows.exclude(object_type__startswith="randomization.")
    if subject_id:
        rows = rows.filter(subject__subject_id=subject_id)
    if object_type:
        rows = rows.filter(object_type=object_type)
    if object_id:
        rows = rows.filter(object_id=object_id)
    return list(rows.order_by("id")[: max(1, min(limit, 1000))])


# ---- the site status grid --------------------------------------------------------------

GRID_PAGE_SIZE = 25


@dataclass(frozen=True)
class GridForm:
    form_code: str
    name: str
    event_repeat: int
    form_repeat: int
    state: FormState

    @property
    def icon(self) -> str:
        return ICONS[self.state]

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])


@dataclass(frozen=True)
class GridCell:
    event_code: str
    event_name: str
    event_repeat: int  # the occurrence shown: the latest one with data, else 1
    occurrences: int  # how many occurrences have data
    forms: tuple[GridForm, ...]


@dataclass(frozen=True)
class GridRow:
    subject: Subject
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class StatusGrid:
    events: tuple[tuple[str, str], ...]  # (code, name) columns in schedule order
    rows: tuple[GridRow, ...]
    page: Any  # django.core.paginator.Page of subjects
    state: str  # the filter, "" for all


STATE_LABELS = {
    FormState.NOT_STARTED: _("Not started"),
    FormState.IN_PROGRESS: _("In progress"),
    FormState.COMPLETE: _("Complete"),
    FormState.OPEN_QUERY: _("Open query"),
    FormState.VERIFIED: _("Source-verified"),
    FormState.SIGNED: _("Signed"),
    FormState.LOCKED: _("Locked"),
}

# States a subject row can be filtered by: the subject has at least one form in that state.
GRID_FILTERS = tuple(s for s in ORDER if s is not FormState.NOT_STARTED)


def _subjects_with_state(state: FormState) -> Q:
    """Subjects (outer rows) with at least one form showing `state`, in SQL, so paging stays
    right. The precedence of form_state() is kept: a complete form that is signed is not
    'complete' in the grid."""
    forms = FormInstance.objects.filter(subject_id=OuterRef("pk")).exclude(status="removed")
    flagged = forms.annotate(**_flag_annotations())
    unlocked = Q(dm_lock__isnull=True) & ~Q(dm_study_status="locked")
    quiet = unlocked & Q(dm_queries=0)
    by_state = {
        FormState.LOCKED: ~unlocked,
        FormState.OPEN_QUERY: unlocked & Q(dm_queries__gt=0),
        FormState.SIGNED: quiet & Q(dm_signed=True),
        FormState.VERIFIED: quiet & Q(dm_signed=False, dm_sdv=True),
        FormState.COMPLETE: quiet
        & Q(dm_signed=False, dm_sdv=False, status__in=["complete", "not_done"]),
        FormState.IN_PROGRESS: quiet & Q(dm_signed=False, dm_sdv=False, status="in_progress"),
    }
    return Q(Exists(flagged.filter(by_state[state])))


def site_status_grid(
    scope: Scope, site, *, state: str = "", page: int | str = 1, per_page: int = GRID_PAGE_SIZE
) -> StatusGrid:
    """Subjects × visits of one site (the caller's Scope decides which subjects), each cell the
    forms of the visit with the state each shows. Paged. FOUR queries whatever the number of
    subjects: the count and the page of subjects (the paginator), their forms with every flag,
    and the protocol definition (once per process)."""
    from django.core.paginator import Paginator

    from crf.definitions import study_forms

    subjects = (
        scope.filter(Subject.objects.filter(site=site))
        .select_related("site")
        .order_by("subject_id")
    )
    wanted = FormState(state) if state in GRID_FILTERS else None
    if wanted is not None:
        subjects = subjects.filter(_subjects_with_state(wanted))
    shown = Paginator(subjects, per_page).get_page(page)
    ids = [s.pk for s in shown]
    rows = (
        FormInstance.objects.filter(subject_id__in=ids)
        .exclude(status="removed")
        .annotate(**_flag_annotations())
        .values_list(
            "subject_id",
            "event_code",
            "event_repeat",
            "form_code",
            "form_repeat",
            "status",
            "dm_lock",
            "dm_study_status",
            "dm_signed",
            "dm_sdv",
            "dm_queries",
        )
        if ids
        else []
    )
    saved: dict[int, dict[tuple[str, int, str, int], FormState]] = {}
    latest: dict[tuple[int, str], int] = {}
    counted: dict[tuple[int, str], set[int]] = {}
    for subject_id, event, repeat, form, form_repeat, status, lock, study_status, *marks in rows:
        signed, sdv, queries = marks
        saved.setdefault(subject_id, {})[(event, repeat, form, form_repeat)] = form_state(
            status,
            locked=lock is not None or study_status == "locked",
            signed=signed,
            verified=sdv,
            open_queries=queries,
        )
        latest[(subject_id, event)] = max(latest.get((subject_id, event), 1), repeat)
        counted.setdefault((subject_id, event), set()).add(repeat)
    forms = study_forms(site.study.current_version_id)
    events = tuple((code, forms.events[code]["name"]) for code in forms.event_order)
    grid_rows = []
    for subject in shown:
        states = saved.get(subject.pk, {})
        cells = []
        for code, name in events:
            repeat = latest.get((subject.pk, code), 1)
            cell_forms = []
            for form_code in forms.events[code]["forms"]:
                definition = forms.forms.get(form_code, {})
                repeats = sorted(
                    r for (e, er, f, r) in states if (e, er, f) == (code, repeat, form_code)
                ) or [1]
                for form_repeat in repeats:
                    found = states.get((code, repeat, form_code, form_repeat))
                    cell_forms.append(
                        GridForm(
                            form_code,
                            definition.get("name", form_code),
                            repeat,
                            form_repeat,
                            found or FormState.NOT_STARTED,
                        )
                    )
            cells.append(
                GridCell(
                    code,
                    name,
                    repeat,
                    len(counted.get((subject.pk, code), ())),
                    tuple(cell_forms),
                )
            )
        grid_rows.append(GridRow(subject, tuple(cells)))
    return StatusGrid(events, tuple(grid_rows), shown, wanted.value if wanted else "")


# ---- the query inbox -------------------------------------------------------------------


def inbox_filter(scope: Scope, user) -> Q:
    """Queries waiting for this user: open ones at the sites where they answer (assigned to
    them or to nobody), answered ones where they raise and close queries."""
    to_answer = (
        Q(status=QueryStatus.OPEN)
        & scope.site_filter(permission=Permission.ANSWER_QUERY)
        & (Q(assignee_id=user.pk) | Q(assignee__isnull=True))
    )
    to_close = Q(status=QueryStatus.ANSWERED) & scope.site_filter(permission=Permission.RAISE_QUERY)
    return to_answer | to_close


def inbox_count(scope: Scope, user) -> int:
    """The number shown in the header on every page. ONE query (none without memberships)."""
    if not scope.grants:
        return 0
    return Query.objects.filter(inbox_filter(scope, user)).count()


def inbox(scope: Scope, user) -> QuerySet:
    """The user's waiting queries, oldest first, across their studies (the page names their
    forms with `name_forms` once it has cut a page)."""
    if not scope.grants:
        return Query.objects.none()
    return (
        Query.objects.filter(inbox_filter(scope, user))
        .select_related("study", "site", "subject", "form_instance", "raised_by", "assignee")
        .order_by("created_at", "pk")
    )


def name_forms(forms) -> None:
    """Set `form_name` and `event_name` on each form, as its protocol version names them, so
    pages show "Demographics · Screening" rather than codes. No query once the definitions
    are cached."""
    from crf.definitions import study_forms

    for form in forms:
        index = study_forms(form.protocol_version_id)
        form.form_name = index.forms.get(form.form_code, {}).get("name", form.form_code)
        event = index.events.get(form.event_code, {}).get("name", form.event_code)
        form.event_name = event if form.event_repeat == 1 else f"{event} #{form.event_repeat}"


# ---- forms waiting for an investigator's signature -------------------------------------


def awaiting_signature(scope: Scope, site) -> QuerySet:
    """Complete forms of a site that no valid signature covers and no lock freezes, for the
    investigators who sign there (an empty queryset for anyone else)."""
    if not scope.can(Permission.SIGN, site.study_id, site.pk):
        return FormInstance.objects.none()
    return (
        FormInstance.objects.filter(site=site, status="complete")
        .annotate(
            dm_signed=Exists(Signature.objects.filter(_signatures_over(), voided_at__isnull=True)),
            dm_lock=_widest_lock(),
        )
        .filter(dm_signed=False, dm_lock__isnull=True)
        .select_related("subject")
        .order_by("subject__subject_id", "event_code", "event_repeat", "form_code")
    )


# ---- who locked, signed or verified a form ---------------------------------------------


@dataclass(frozen=True)
class FormMarks:
    """What makes a form read-only on its page, with who did it and when."""

    lock: Lock | None
    study_locked: bool
    signature: Signature | None
    verification: SourceVerification | None

    @property
    def read_only(self) -> bool:
        return bool(self.lock or self.study_locked or self.signature or self.verification)

    @property
    def locked(self) -> bool:
        return bool(self.lock or self.study_locked)


def form_marks(form: FormInstance) -> FormMarks:
    """THREE queries (four when unlocked): the widest active lock, the study's status, the
    valid signature covering the form, its whole-form verification."""
    covering = (
        Q(level=LockLevel.STUDY, study_id=form.study_id)
        | Q(level=LockLevel.SITE, site_id=form.site_id)
        | Q(level=LockLevel.SUBJECT, subject_id=form.subject_id)
        | Q(level=LockLevel.FORM, form_instance_id=form.pk)
    )
    lock = (
        Lock.objects.filter(covering, unlocked_at__isnull=True)
        .select_related("locked_by")
        .order_by(LOCK_BREADTH)
        .first()
    )
    study_locked = lock is None and Study.objects.filter(pk=form.study_id, status="locked").exists()
    signature = (
        Signature.objects.filter(
            Q(subject_id=form.subject_id)
            & (
                Q(level=SignatureLevel.FORM, form_instance_id=form.pk)
                | Q(
                    level=SignatureLevel.VISIT,
                    event_code=form.event_code,
                    event_repeat=form.event_repeat,
                )
                | Q(level=SignatureLevel.CASEBOOK)
            ),
            voided_at__isnull=True,
        )
        .order_by("-signed_at")
        .first()
    )
    verification = (
        SourceVerification.objects.filter(
            form_instance_id=form.pk, item_code="", cleared_at__isnull=True
        )
        .select_related("verified_by")
        .first()
    )
    return FormMarks(lock, study_locked, signature, verification)


# ---- a query's item: its value now and its history -------------------------------------


def item_path(query: Query) -> str:
    """The queried item's path as the audit trail names it."""
    form = query.form_instance
    definition = find_form(form.protocol_version.definition, form.form_code) or {}
    return query_item_path(definition, query.item_code, query.group_row)


def queried_value(query: Query) -> Any:
    """The queried item's value as stored now (None when empty)."""
    data = query.form_instance.data or {}
    if query.group_row is None:
        return data.get(query.item_code)
    for value in data.values():
        if isinstance(value, list) and len(value) >= query.group_row:
            row = value[query.group_row - 1]
            if isinstance(row, dict) and query.item_code in row:
                return row[query.item_code]
    return None


@dataclass(frozen=True)
class ItemHistoryRow:
    event: AuditEvent
    answers_this_query: bool


def item_history(query: Query) -> list[ItemHistoryRow]:
    """Every audit row of the queried item, oldest first, marking those changed in answer to
    this query. TWO queries."""
    rows = list(
        AuditEvent.objects.filter(
            object_type="crf.FormInstance",
            object_id=str(query.form_instance_id),
            item=item_path(query),
        ).order_by("id")
    )
    linked = set(query.changes.values_list("audit_event_id", flat=True))
    return [ItemHistoryRow(row, row.pk in linked) for row in rows]


def threads(queries: list[Query]) -> dict[int, list]:
    """{query id: its messages in order} for several queries. ONE query."""
    found: dict[int, list] = {q.pk: [] for q in queries}
    if found:
        for message in QueryMessage.objects.filter(query_id__in=list(found)).order_by(
            "created_at", "pk"
        ):
            found[message.query_id].append(message)
    return found


@dataclass
class ItemQuery:
    """An unresolved query as its item shows it on the form page."""

    query: Query
    thread: list
    can_answer: bool
    answer: str = ""  # what the user typed, when the page is shown again


def queries_by_item_path(
    form: FormInstance, definition: dict, can_answer: bool
) -> dict[str, list[ItemQuery]]:
    """{item path: its unresolved queries with their threads} of one form. TWO queries."""
    queries = list(
        Query.objects.filter(form_instance_id=form.pk, status__in=UNRESOLVED).order_by(
            "created_at", "pk"
        )
    )
    messages = threads(queries)
    found: dict[str, list[ItemQuery]] = {}
    for query in queries:
        path = query_item_path(definition, query.item_code, query.group_row)
        found.setdefault(path, []).append(
            ItemQuery(query, messages[query.pk], can_answer and query.status == QueryStatus.OPEN)
        )
    return found
