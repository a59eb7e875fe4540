"""Reads for exports: which sites and data cut an export covers, and the rows of every table.

Row sources are generators over server-side cursors (`.iterator(chunk_size=...)`), ordered by
their keys so the same data always gives the same rows in the same order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, TextField, Value, When
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from crf.models import FormInstance, FormStatus
from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.audit.models import AuditEvent
from edc.datamanagement import selectors as dm_selectors
from edc.datamanagement.models import Lock, LockLevel, Query, QueryMessage
from edc.datamanagement.query_states import TRANSITIONS, QueryAction, QueryStatus
from edc.errors import DomainError
from edc.exports.codebook import FormExpander, FormSpec, StudyLayout, build_layout
from edc.exports.models import ExportJob
from edc.exports.odm_writer import OdmAudit, OdmForm
from edc.studies.models import ProtocolVersion, Site, Study
from edc.subjects.models import Subject
from randomization.models import Allocation, AllocationCorrection, Commitment, RandomizationScheme

CHUNK = 2000
UNLOCKED = "UNLOCKED"


@dataclass(frozen=True)
class Snapshot:
    """What an export holds: a locked dataset (study lock, or a lock on every site exported)
    or current unlocked data, and the instant it describes."""

    locked: bool
    snapshot_id: str
    data_cut: dt.datetime
    lock_sha256: str = ""
    # The audit trail ends with the lock's own audit rows, written just after locked_at.
    audit_cut: dt.datetime | None = None

    @property
    def audit_until(self) -> dt.datetime:
        return self.audit_cut or self.data_cut


@dataclass(frozen=True)
class ExportScope:
    study: Study
    sites: tuple[Site, ...]
    all_sites: bool

    @property
    def site_ids(self) -> list[int]:
        return [s.pk for s in self.sites]

    @property
    def site_codes(self) -> list[str]:
        return [s.code for s in self.sites]


# ---- who may export what ----------------------------------------------------------------


def require_exporter(scope: Scope, study: Study) -> None:
    """Exports are for data managers and statisticians; anyone else is refused (403)."""
    if not scope.can_anywhere(Permission.EXPORT, study.pk):
        raise PermissionDenied(gettext("only data managers and statisticians may export data"))


def export_scope(scope: Scope, study: Study, site_codes: list[str] | None = None) -> ExportScope:
    """The sites the caller may export: every site for study-wide data managers and
    statisticians, their own sites for site-limited ones, optionally narrowed to site_codes."""
    require_exporter(scope, study)
    allowed = list(scope.sites(Permission.EXPORT).filter(study=study).order_by("code"))
    all_sites = not scope.is_site_limited(study.pk, Permission.EXPORT)
    if site_codes:
        wanted = sorted(set(site_codes))
        by_code = {s.code: s for s in allowed}
        unknown = [c for c in wanted if c not in by_code]
        if unknown:
            raise DomainError(
                "unknown_site", "sites", f"no site {unknown[0]!r} you may export in this study"
            )
        all_sites = all_sites and len(wanted) == len(allowed)
        allowed = [by_code[c] for c in wanted]
    return ExportScope(study, tuple(allowed), all_sites)


def whole_study(study: Study) -> ExportScope:
    """Every site: for the command line, run by whoever operates the server."""
    return ExportScope(study, tuple(Site.objects.filter(study=study).order_by("code")), True)


def visible_jobs(scope: Scope, study: Study, user):
    """Study-wide exporters see every export of the study; site-limited ones their own."""
    jobs = ExportJob.objects.filter(study=study).select_related("study", "requested_by")
    if not scope.can_anywhere(Permission.EXPORT, study.pk):
        return jobs.none()
    if scope.is_site_limited(study.pk, Permission.EXPORT):
        return jobs.filter(requested_by=user)
    return jobs


def get_job(scope: Scope, study: Study, user, job_id: int) -> ExportJob:
    return get_object_or_404(visible_jobs(scope, study, user), pk=job_id)


# ---- data cut -----------------------------------------------------------------------------


def snapshot_for(export: ExportScope, now: dt.datetime) -> Snapshot:
    lock = dm_selectors.study_lock(export.study)
    if lock is not None:
        return Snapshot(
            True,
            str(lock.snapshot_id),
            lock.locked_at,
            lock.snapshot_sha256,
            _lock_audit_time([lock]),
        )
    site_locks = list(
        Lock.objects.filter(
            level=LockLevel.SITE, site_id__in=export.site_ids, unlocked_at__isnull=True
        ).order_by("site__code")
    )
    if export.sites and len(site_locks) == len(export.sites):
        return Snapshot(
            True,
            "SITELOCK-" + "-".join(str(lock.pk) for lock in site_locks),
            max(lock.locked_at for lock in site_locks),
            audit_cut=_lock_audit_time(site_locks),
        )
    return Snapshot(False, UNLOCKED, now)


def locked_site_codes(export: ExportScope) -> list[str]:
    return list(
        Lock.objects.filter(
            level=LockLevel.SITE, site_id__in=export.site_ids, unlocked_at__isnull=True
        )
        .order_by("site__code")
        .values_list("site__code", flat=True)
    )


def _lock_audit_time(locks: list[Lock]) -> dt.datetime | None:
    """When the locks' own audit rows were written (in the lock's transaction)."""
    return (
        AuditEvent.objects.filter(
            object_type="datamanagement.Lock",
            object_id__in=[str(lock.pk) for lock in locks],
            action="lock",
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


# ---- layout -------------------------------------------------------------------------------


def study_layout(study: Study) -> StudyLayout:
    """The union of every protocol version's definition, the current one deciding."""
    versions = list(ProtocolVersion.objects.filter(study=study).order_by("-number"))
    current = [v for v in versions if v.pk == study.current_version_id]
    ordered = current + [v for v in versions if v.pk != study.current_version_id]
    return build_layout([v.definition for v in ordered])


def protocol_versions(study: Study) -> list[ProtocolVersion]:
    return list(ProtocolVersion.objects.filter(study=study).order_by("number"))


# ---- forms ----------------------------------------------------------------------------------


def _forms(export: ExportScope):
    return FormInstance.objects.filter(
        study_id=export.study.pk, site_id__in=export.site_ids
    ).exclude(status=FormStatus.REMOVED)


def _ranked(field: str, codes: list[str]) -> Case:
    """Order by position in the definition (schedule order of visits, order of forms)."""
    return Case(
        *[When(**{field: code}, then=Value(i)) for i, code in enumerate(codes)],
        default=Value(len(codes)),
        output_field=IntegerField(),
    )


def _form_order(layout: StudyLayout, with_form: bool) -> list:
    order = [
        "site__code",
        "subject__subject_id",
        _ranked("event_code", [e.code for e in layout.events]),
        "event_code",
        "event_repeat",
    ]
    if with_form:
        order += [_ranked("form_code", [f.code for f in layout.forms]), "form_code"]
    return order + ["form_repeat"]


def form_value_rows(export: ExportScope, layout: StudyLayout, form: FormSpec) -> Iterator[tuple]:
    rows = (
        _forms(export)
        .filter(form_code=form.code)
        .order_by(*_form_order(layout, with_form=False))
        .values_list(
            "site__code", "subject__subject_id", "event_code", "event_repeat", "form_repeat", "data"
        )
    )
    expander = FormExpander(form)
    study = export.study.code
    for site, subject, event, event_repeat, form_repeat, data in rows.iterator(chunk_size=CHUNK):
        yield from expander.rows((study, site, subject, event, event_repeat, form_repeat), data)


def form_counts(export: ExportScope) -> dict[str, int]:
    rows = _forms(export).order_by().values("form_code").annotate(n=Count("pk"))
    return {r["form_code"]: r["n"] for r in rows}


def _iso(moment: dt.datetime | dt.date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, dt.datetime):
        return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def form_instance_rows(export: ExportScope, layout: StudyLayout) -> Iterator[tuple]:
    rows = (
        _forms(export)
        .order_by(*_form_order(layout, with_form=True))
        .values_list(
            "site__code",
            "subject__subject_id",
            "event_code",
            "event_repeat",
            "form_code",
            "form_repeat",
            "status",
            "protocol_version__number",
            "completed_at",
        )
    )
    study = export.study.code
    for site, subject, event, erep, form, frep, status, version, done in rows.iterator(
        chunk_size=CHUNK
    ):
        yield (study, site, subject, event, erep, form, frep, status, version, _iso(done))


def odm_forms(export: ExportScope, layout: StudyLayout) -> Iterator[OdmForm]:
    rows = (
        _forms(export)
        .order_by(*_form_order(layout, with_form=True))
        .values_list(
            "subject__subject_id",
            "site__code",
            "event_code",
            "event_repeat",
            "form_code",
            "form_repeat",
            "data",
        )
    )
    for subject, site, event, erep, form, frep, data in rows.iterator(chunk_size=CHUNK):
        yield OdmForm(subject, site, event, erep, form, frep, data)


# ---- subjects, randomization --------------------------------------------------------------


def subject_rows(export: ExportScope, snapshot: Snapshot) -> Iterator[tuple]:
    rows = (
        Subject.objects.filter(study_id=export.study.pk, site_id__in=export.site_ids)
        .filter(created_at__lte=snapshot.data_cut)
        .order_by("site__code", "subject_id")
        .values_list(
            "site__code",
            "subject_id",
            "status",
            "protocol_version__number",
            "screening_date",
            "registration_date",
            "randomization_date",
            "off_study_date",
            "off_study_reason",
            "death_date",
            "treatment_consent_withdrawn",
        )
    )
    study = export.study.code
    for (
        site,
        subject,
        status,
        version,
        scr,
        reg,
        rnd,
        off,
        reason,
        death,
        withdrawn,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (study, site, subject, status, version, _iso(scr), _iso(reg), _iso(rnd),
               _iso(off), reason, _iso(death), "Y" if withdrawn else "N")  # fmt: skip


def randomization_factors(study: Study, layout: StudyLayout) -> list[tuple[str, str]]:
    """(code, name) of each stratification factor, from the frozen scheme when there is one."""
    scheme = RandomizationScheme.objects.filter(study=study).first()
    if scheme is not None:
        return [(f["code"], f.get("name", f["code"])) for f in scheme.params.get("factors", [])]
    return [(f.code, f.name) for f in layout.factors]


def randomization_rows(
    export: ExportScope, snapshot: Snapshot, factor_codes: list[str]
) -> Iterator[tuple]:
    scheme = RandomizationScheme.objects.filter(study=export.study).first()
    if scheme is None:
        return
    names = {arm["code"]: arm["name"] for arm in scheme.params.get("arms", [])}
    commitments = list(
        Commitment.objects.filter(scheme=scheme, created_at__lte=snapshot.data_cut)
        .order_by("created_at", "id")
        .values_list("created_at", "list_sha256")
    )
    corrections: dict[int, list[str]] = {}
    for allocation_id, kind in (
        AllocationCorrection.objects.filter(
            scheme=scheme, allocation__isnull=False, created_at__lte=snapshot.data_cut
        )
        .order_by("id")
        .values_list("allocation_id", "kind")
    ):
        corrections.setdefault(allocation_id, []).append(kind)
    rows = (
        Allocation.objects.filter(study=export.study, site_id__in=export.site_ids)
        .filter(randomized_at__lte=snapshot.data_cut)
        .order_by("site__code", "subject__subject_id")
        .values_list(
            "pk",
            "site__code",
            "subject__subject_id",
            "sequence",
            "arm",
            "randomized_at",
            "randomized_by_username",
            "stratum__key",
            "stratum_values",
        )
    )
    study = export.study.code
    for pk, site, subject, sequence, arm, at, by, key, values in rows.iterator(chunk_size=CHUNK):
        version = ""
        for number, (created, sha) in enumerate(commitments, start=1):
            if created <= at:
                version = f"{number}:{sha[:12]}"
        yield (
            study,
            site,
            subject,
            sequence,
            arm,
            names.get(arm, arm),
            _iso(at),
            by,
            version,
            key,
            "|".join(corrections.get(pk, [])),
            *[str(values.get(code, "")) for code in factor_codes],
        )


# ---- queries, audit ---------------------------------------------------------------------------


def _status_at_cut(messages: list[tuple]) -> tuple[str, str]:
    """Replay a query's thread up to the cut: its status then and when it was closed."""
    status, closed = QueryStatus.OPEN, ""
    for action, _, _, at in messages:
        try:
            step = QueryAction(action)
        except ValueError:
            continue
        status = TRANSITIONS.get((status, step), status)
        if status in (QueryStatus.CLOSED, QueryStatus.CANCELLED) and not closed:
            closed = _iso(at)
    return status.value, closed


def _query_batches(export: ExportScope, snapshot: Snapshot):
    queries = (
        Query.objects.filter(study_id=export.study.pk, site_id__in=export.site_ids)
        .filter(created_at__lte=snapshot.data_cut)
        .order_by("id")
        .values_list(
            "pk",
            "site__code",
            "subject__subject_id",
            "form_instance__event_code",
            "form_instance__event_repeat",
            "form_instance__form_code",
            "form_instance__form_repeat",
            "item_code",
            "group_row",
            "source",
            "raised_by__username",
            "created_at",
        )
        .iterator(chunk_size=CHUNK)
    )
    while batch := list(islice(queries, 500)):
        threads: dict[int, list[tuple]] = {q[0]: [] for q in batch}
        for query_id, action, text, author, at in (
            QueryMessage.objects.filter(query_id__in=threads, created_at__lte=snapshot.data_cut)
            .order_by("query_id", "created_at", "id")
            .values_list("query_id", "action", "text", "author_name", "created_at")
        ):
            threads[query_id].append((action, text, author, at))
        yield batch, threads


def query_rows(export: ExportScope, snapshot: Snapshot) -> Iterator[tuple]:
    study = export.study.code
    for batch, threads in _query_batches(export, snapshot):
        for pk, site, subject, event, erep, form, frep, item, row, source, by, at in batch:
            thread = threads[pk]
            status, closed = _status_at_cut(thread)
            question = next((t for a, t, _, _ in thread if a == "raise"), "")
            yield (study, site, subject, pk, event, erep, form, frep, item, row or 0, source,
                   status, by or "", _iso(at), closed, question)  # fmt: skip


def query_message_rows(export: ExportScope, snapshot: Snapshot) -> Iterator[tuple]:
    study = export.study.code
    for batch, threads in _query_batches(export, snapshot):
        for query in batch:
            for number, (action, text, author, at) in enumerate(threads[query[0]], start=1):
                yield (study, query[0], number, action, text, author, _iso(at))


def _audit_events(export: ExportScope, snapshot: Snapshot):
    events = AuditEvent.objects.filter(at__lte=snapshot.audit_until)
    if export.all_sites:
        events = events.filter(study_id=export.study.pk)
    else:
        events = events.filter(site_id__in=export.site_ids)
    return events.order_by("id")


def audit_rows(export: ExportScope, snapshot: Snapshot) -> Iterator[tuple]:
    # Old and new values leave the database as JSON text (jsonb's own normal form on
    # PostgreSQL), so they are neither parsed nor re-encoded here.
    rows = (
        _audit_events(export, snapshot)
        .annotate(old_text=Cast("old_value", TextField()), new_text=Cast("new_value", TextField()))
        .values_list(
            "pk",
            "at",
            "actor_username",
            "channel",
            "action",
            "site__code",
            "subject__subject_id",
            "object_type",
            "object_id",
            "item",
            "old_text",
            "new_text",
            "reason",
        )
    )
    study = export.study.code
    for (
        pk,
        at,
        user,
        channel,
        action,
        site,
        subject,
        otype,
        oid,
        item,
        old,
        new,
        why,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (study, pk, _iso(at), user, channel, action, site or "", subject or "", otype,
               oid, item, old or "", new or "", why)  # fmt: skip


def audit_usernames(export: ExportScope, snapshot: Snapshot) -> list[str]:
    return list(
        _audit_events(export, snapshot)
        .order_by("actor_username")
        .values_list("actor_username", flat=True)
        .distinct()
    )


def odm_audit(export: ExportScope, snapshot: Snapshot) -> Iterator[OdmAudit]:
    rows = _audit_events(export, snapshot).values_list(
        "pk", "at", "actor_username", "site__code", "action", "object_type", "object_id", "item",
        "reason",
    )  # fmt: skip
    for pk, at, user, site, action, otype, oid, item, reason in rows.iterator(chunk_size=CHUNK):
        yield OdmAudit(pk, at, user, site or "", action, otype, oid, item, reason)
