"""Reads of data management state, always through the caller's Scope where they are lists.

The casebook and form pages call `form_flags` and `item_flags`; the export reads `study_lock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Collate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crf.models import FormInstance
from edc.accounts.roles import GRANTS, Permission
from edc.accounts.scoping import Scope
from edc.audit.models import AuditEvent
from edc.datamanagement import content_hash
from edc.datamanagement.models import (
    LOCK_BREADTH,
    Lock,
    LockLevel,
    Query,
    Signature,
    SignatureLevel,
    SourceVerification,
)
from edc.datamanagement.query_states import UNRESOLVED, QueryStatus
from edc.studies.models import Study
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


def flags_for_forms(forms: QuerySet) -> dict[int, FormFlags]:
    """Lock, signature, SDV and query state of each form of the queryset. ONE query."""
    rows = forms.order_by().annotate(
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
        rows = rows.filter(site_id__in=list(scope.sites().filter(study=study).values("pk")))
    if not scope.can_anywhere(Permission.VIEW_ALLOCATION_LIST, study.pk):
        rows = rows.exclude(object_type__startswith="randomization.")
    if subject_id:
        rows = rows.filter(subject__subject_id=subject_id)
    if object_type:
        rows = rows.filter(object_type=object_type)
    if object_id:
        rows = rows.filter(object_id=object_id)
    return list(rows.order_by("id")[: max(1, min(limit, 1000))])
