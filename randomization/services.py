"""Writes: go-live with commitments, allocation, list extension and admin corrections.

Each write is one transaction with its audit rows. Allocation serialises on the stratum row
(``SELECT ... FOR UPDATE``; SQLite serialises all writers); the database's unique constraints
are the last line against a subject randomized twice or a slot used twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from crf.definitions import study_forms
from edc.accounts.roles import Permission
from edc.accounts.scoping import authorize, scope_of
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import Change, change_rows, record_changes, require_reason
from edc.errors import DomainError
from edc.localtime import stamp
from edc.reminders.services import on_randomized
from edc.studies.models import Site, Study, StudyStatus
from edc.subjects.lifecycle import Status, check_transition
from edc.subjects.models import Subject
from edc.subjects.services import StaleWrite, mark_randomized
from randomization import notifications, scheme_params, seed_vault, selectors, statements
from randomization.eligibility import require_eligible
from randomization.engine import (
    HmacDrbg,
    generate_salt,
    generate_seed,
    minimization_assign,
    minimization_assign_preserving_ratio,
)
from randomization.engine.tokens import validate_token
from randomization.models import (
    Allocation,
    AllocationCorrection,
    AllocationFollowUp,
    Commitment,
    CommitmentKind,
    CorrectionKind,
    RandomizationScheme,
    SchemeStatus,
    Seed,
    Slot,
    Stratum,
)
from randomization.strata import check_caller_strata, crf_strata, crf_strata_and_form

log = logging.getLogger(__name__)


def _refuse(code: str, field: str, message: str, status: int = 409) -> DomainError:
    return DomainError(code, field, message, status=status)


def server_seed_key() -> bytes:
    key = getattr(settings, "RANDOMIZATION_SEED_KEY", "") or settings.SECRET_KEY
    return key.encode() if isinstance(key, str) else bytes(key)


def unwrap_seed(seed_row: Seed) -> bytes:
    return seed_vault.unwrap(bytes(seed_row.wrapped), server_seed_key(), seed_row.key_id)


# ---- go-live ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GoLiveResult:
    scheme: RandomizationScheme
    commitment: Commitment
    seed: bytes
    salt: bytes


def _create_strata(scheme: RandomizationScheme, params: dict, lists: dict, sites: dict) -> int:
    """Insert the strata (and their slots) that do not exist yet; return slots inserted."""
    existing = {s.key: s for s in Stratum.objects.filter(scheme=scheme)}
    new_strata = []
    for key in scheme_params.all_stratum_keys(params):
        if key in existing:
            continue
        values = scheme_params.stratum_values(key)
        new_strata.append(
            Stratum(
                scheme=scheme,
                key=key,
                values=values,
                site=sites.get(values.get("site")),
                slots_total=len(lists.get(key, [])),
            )
        )
    Stratum.objects.bulk_create(new_strata)
    strata = {s.key: s for s in Stratum.objects.filter(scheme=scheme)}
    have = defaultdict(int)
    for stratum_id, count in _slot_counts(scheme):
        have[stratum_id] = count
    slots = []
    for key, stratum_slots in lists.items():
        stratum = strata[key]
        for slot in stratum_slots[have[stratum.pk] :]:
            slots.append(
                Slot(
                    stratum=stratum,
                    sequence=slot.sequence,
                    block_number=slot.block_number,
                    block_size=slot.block_size,
                    position_in_block=slot.position_in_block,
                    arm=slot.arm,
                )
            )
        if len(stratum_slots) != stratum.slots_total:
            stratum.slots_total = len(stratum_slots)
            stratum.save(update_fields=["slots_total"])
    Slot.objects.bulk_create(slots, batch_size=2000)
    return len(slots)


def _slot_counts(scheme):
    from django.db.models import Count

    return (
        Slot.objects.filter(stratum__scheme=scheme)
        .values("stratum_id")
        .annotate(n=Count("id"))
        .values_list("stratum_id", "n")
    )


@transaction.atomic
def go_live(
    ctx: ChangeContext,
    study: Study,
    *,
    seed: bytes | None = None,
    min_slots_per_stratum: int | None = None,
) -> GoLiveResult:
    """Generate the study's list from a fresh CSPRNG seed and commit to it, once.

    ``seed`` is for reproducible tests and drills only; production always draws a new one."""
    authorize(ctx, Permission.ADMINISTER, study.pk)
    study = (
        Study.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=study.pk)
    )
    scheme = RandomizationScheme.objects.filter(study=study).first()
    if scheme is not None and scheme.status == SchemeStatus.LIVE:
        raise _refuse(
            "already_live",
            "study",
            gettext(
                "randomization of %(study)s went live on %(when)s; the scheme cannot change (use "
                "a list extension or an audited correction)"
            )
            % {"study": study.code, "when": stamp(scheme.went_live_at)},
        )
    if not study.current_version_id or "randomization" not in study.definition:
        raise _refuse(
            "no_randomization",
            "study",
            gettext("%(study)s defines no randomization") % {"study": study.code},
        )
    sites = {s.code: s for s in Site.objects.filter(study=study, is_active=True)}
    definition = study.definition
    if definition["randomization"].get("stratify_by_site") and not sites:
        raise _refuse(
            "no_sites", "study", gettext("randomization by site needs at least one active site")
        )
    if definition["randomization"].get("stratify_by_site"):
        _require_usable_site_codes(sites)
    params = scheme_params.scheme_params(definition, list(sites), min_slots_per_stratum)
    seed = seed if seed is not None else generate_seed()
    salt = generate_salt()
    lists = scheme_params.generate_lists(seed, params)
    hashes = scheme_params.commitment_hashes(seed, salt, params, lists)
    now = timezone.now()
    if scheme is None:
        scheme = RandomizationScheme(study=study)
    scheme.protocol_version_id = study.current_version_id
    scheme.method = params["method"]
    scheme.params = params
    scheme.created_by = scheme.created_by or ctx.actor
    scheme.status = SchemeStatus.LIVE
    scheme.went_live_at = now
    scheme.save()
    key = server_seed_key()
    Seed.objects.create(
        scheme=scheme, wrapped=seed_vault.wrap(seed, key), key_id=seed_vault.key_id(key), salt=salt
    )
    slot_count = _create_strata(scheme, params, lists, sites)
    commitment = Commitment.objects.create(
        scheme=scheme,
        kind=CommitmentKind.GO_LIVE,
        generator=scheme_params.GENERATOR,
        params=params,
        slot_count=slot_count,
        created_by=ctx.actor,
        **hashes,
    )
    record_changes(
        ctx,
        "randomization_go_live",
        [
            Change("method", None, params["method"]),
            Change("params_sha256", None, hashes["params_sha256"]),
            Change("list_sha256", None, hashes["list_sha256"]),
            Change("seed_sha256", None, hashes["seed_sha256"]),
            Change("slot_count", None, slot_count),
        ],
        object_type="randomization.RandomizationScheme",
        object_id=scheme.pk,
        study=study,
    )
    return GoLiveResult(scheme, commitment, seed, salt)


def _require_usable_site_codes(codes) -> None:
    """A site code becomes part of stratum keys and of the committed parameters, where
    ``| = , : ;`` delimit fields; refuse by name rather than stop in the generator. Sites are
    created outside the study file, so check_study cannot see them."""
    for code in sorted(codes):
        try:
            validate_token("site code", code)
        except (TypeError, ValueError) as exc:
            raise _refuse(
                "invalid_site_code",
                "site",
                gettext(
                    "site code %(code)s cannot be part of a stratum key: it must not be empty, "
                    "contain any of | = , : ; or a control character, or start or end with a "
                    "space"
                )
                % {"code": repr(code)},
                status=400,
            ) from exc


@transaction.atomic
def extend_list(
    ctx: ChangeContext, study: Study, *, min_slots_per_stratum: int | None = None
) -> Commitment:
    """Add strata for sites opened after go-live and/or lengthen every list, from the same seed.

    Earlier slots are unchanged (each stratum is its own generator stream, and a longer list
    extends a shorter one); the new list gets its own commitment. Needs a reason."""
    authorize(ctx, Permission.ADMINISTER, study.pk)
    reason = require_reason(ctx)
    scheme = (
        RandomizationScheme.objects.select_for_update(of=("self",))
        .select_related("seed")
        .filter(study=study, status=SchemeStatus.LIVE)
        .first()
    )
    if scheme is None:
        raise _refuse(
            "randomization_not_live",
            "study",
            gettext("%(study)s has not gone live") % {"study": study.code},
        )
    latest = scheme.commitments.order_by("-id").first()
    params = dict(latest.params)
    if params["method"] != scheme_params.PERMUTED_BLOCKS:
        raise _refuse("not_a_list", "study", gettext("minimization has no list to extend"))
    sites = {s.code: s for s in Site.objects.filter(study=study)}
    if params["stratify_by_site"]:
        active = {code for code, site in sites.items() if site.is_active}
        _require_usable_site_codes(active)
        params["sites"] = sorted(set(params["sites"]) | active)
    if min_slots_per_stratum is not None:
        if min_slots_per_stratum < params["min_slots_per_stratum"]:
            raise _refuse(
                "list_shrink",
                "min_slots_per_stratum",
                gettext("a list can only be lengthened"),
                status=400,
            )
        params["min_slots_per_stratum"] = min_slots_per_stratum
    if params == latest.params:
        raise _refuse(
            "nothing_to_extend", "study", gettext("no new site and no longer list requested")
        )
    seed = unwrap_seed(scheme.seed)
    lists = scheme_params.generate_lists(seed, params)
    hashes = scheme_params.commitment_hashes(seed, bytes(scheme.seed.salt), params, lists)
    added = _create_strata(scheme, params, lists, sites)
    commitment = Commitment.objects.create(
        scheme=scheme,
        kind=CommitmentKind.EXTENSION,
        generator=scheme_params.GENERATOR,
        params=params,
        slot_count=sum(len(v) for v in lists.values()),
        created_by=ctx.actor,
        reason=reason,
        **hashes,
    )
    record_changes(
        ctx.with_reason(reason),
        "randomization_list_extended",
        [
            Change("list_sha256", latest.list_sha256, hashes["list_sha256"]),
            Change("slots_added", None, added),
            Change("sites", latest.params.get("sites"), params["sites"]),
        ],
        object_type="randomization.RandomizationScheme",
        object_id=scheme.pk,
        study=study,
    )
    return commitment


# ---- allocation ------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationResult:
    allocation: Allocation
    created: bool


class AlreadyRandomized(DomainError):
    status = 409

    def __init__(self, allocation: Allocation):
        super().__init__(
            "already_randomized",
            "subject",
            gettext(
                "%(subject)s was already randomized at %(when)s (sequence %(number)s); repeat "
                "the original Idempotency-Key to read that allocation"
            )
            % {
                "subject": allocation.subject.subject_id,
                "when": stamp(allocation.randomized_at),
                "number": allocation.sequence,
            },
        )


def _replay_or_refuse(existing: Allocation, idempotency_key: str) -> AllocationResult:
    if idempotency_key and existing.idempotency_key == idempotency_key:
        return AllocationResult(existing, False)
    raise AlreadyRandomized(existing)


def _existing(subject_pk: int) -> Allocation | None:
    return (
        Allocation.objects.select_related("subject", "study", "site", "scheme", "stratum")
        .filter(subject_id=subject_pk)
        .first()
    )


def _live(candidate: selectors.Candidate) -> RandomizationScheme:
    scheme = candidate.scheme
    if scheme is None or scheme.status != SchemeStatus.LIVE:
        raise _refuse(
            "randomization_not_live",
            "study",
            gettext("randomization of %(study)s has not gone live (no committed list)")
            % {"study": candidate.subject.study.code},
        )
    return scheme


def randomize(
    ctx: ChangeContext,
    subject: Subject,
    *,
    strata: dict[str, Any] | None = None,
    idempotency_key: str = "",
) -> AllocationResult:
    """Allocate the next slot of the subject's stratum, or refuse with a stable code.

    Same subject and same idempotency key again: the existing allocation (``created`` False).
    Anything else for an already randomized subject: 409 ``already_randomized``."""
    found = selectors.candidate(pk=subject.pk)
    if found is None:
        raise Subject.DoesNotExist(f"no subject {subject.pk}")
    return _randomize_candidate(ctx, found, strata, idempotency_key)


def randomize_visible(
    ctx: ChangeContext,
    scope,
    study_code: str,
    subject_id: str,
    *,
    strata: dict[str, Any] | None = None,
    idempotency_key: str = "",
) -> AllocationResult:
    """``randomize`` for a subject named by its study-scoped ID, as the API does: a subject
    outside the caller's sites is not found (404), and the lookup is the service's one read."""
    found = selectors.candidate(study_code=study_code, subject_id=subject_id)
    if found is None or not scope.can(
        Permission.VIEW_DATA, found.subject.study_id, found.subject.site_id
    ):
        raise Http404("no such subject")
    return _randomize_candidate(ctx, found, strata, idempotency_key)


def _randomize_candidate(
    ctx: ChangeContext, found: selectors.Candidate, strata: dict | None, idempotency_key: str
) -> AllocationResult:
    key = (idempotency_key or "").strip()
    if len(key) > 100:
        raise _refuse("invalid", "idempotency_key", gettext("at most 100 characters"), status=400)
    if "\x00" in key:
        # PostgreSQL text cannot hold NUL: refuse it by name rather than fail in the INSERT.
        raise _refuse(
            "invalid", "idempotency_key", gettext("must not contain a NUL character"), status=400
        )
    try:
        return _randomize(ctx, found, strata, key)
    except IntegrityError as exc:
        if "allocation_idempotency_key_unique" in str(exc):
            raise _refuse(
                "idempotency_key_reused",
                "idempotency_key",
                gettext(
                    "this Idempotency-Key was already used for another subject; use a new key "
                    "per subject"
                ),
            ) from exc
        raise


@transaction.atomic
def _randomize(
    ctx: ChangeContext, found: selectors.Candidate, sent_strata: dict | None, key: str
) -> AllocationResult:
    subject = found.subject
    study, site = subject.study, subject.site
    if ctx.user is not None and not scope_of(ctx.user).can(Permission.RANDOMIZE, study.pk, site.pk):
        raise _refuse(
            "not_site_member",
            "subject",
            gettext("you are not a member of site %(site)s with the right to randomize")
            % {"site": site.code},
            status=403,
        )
    if found.allocation_id is not None:
        return _replay_or_refuse(_existing(subject.pk), key)
    if study.status != StudyStatus.OPEN:
        raise _refuse(
            "study_not_open",
            "study",
            gettext("%(study)s is %(status)s")
            % {"study": study.code, "status": str(study.get_status_display()).lower()},
        )
    if not site.is_active:
        raise _refuse(
            "site_inactive", "site", gettext("site %(site)s is not active") % {"site": site.code}
        )
    scheme = _live(found)
    params = scheme.params
    definition = study_forms(study.current_version_id).definition
    enrolment_model = definition.get("enrolment_model", "enrol_after_induction")
    check_transition(subject.status, Status.RANDOMIZED, enrolment_model)
    verdict = require_eligible(subject)
    levels = crf_strata(subject, params)
    check_caller_strata(levels, sent_strata, params, site.code)
    stratum_key = scheme_params.stratum_key(params, levels, site.code)
    frozen_values = {**levels, "site": site.code}
    # The subject row first (a second request for the same subject waits here and then finds
    # the allocation), the stratum lock last: it is held for the slot, the inserts and the
    # commit.
    moved = mark_randomized(subject, site.today())
    if moved is None:
        existing = _existing(subject.pk)
        if existing is None:
            raise StaleWrite("subject")
        return _replay_or_refuse(existing, key)
    cap_alerts = _enrolment_caps(study, site, scheme, stratum_key, definition)
    ratio_unit = 1
    if scheme.method == scheme_params.MINIMIZATION:
        stratum = _take_sequence(scheme.pk, stratum_key)
        arm, ratio_unit = _minimization_arm(
            scheme, stratum.next_sequence - 1, study.code, levels, site.code
        )
        slot_id = None
    else:
        stratum, slot_id, arm = statements.take_next_slot(
            scheme.pk, stratum_key
        ) or _take_slot_locked(scheme.pk, stratum_key)
        while not statements.slot_still_available(slot_id):
            # The slot was withdrawn while this request waited for the stratum, whose row it
            # now holds locked: the next usable slot is certain.
            stratum, slot_id, arm = _take_slot_locked(scheme.pk, stratum_key)
    crossed = _alerts_crossed(stratum)
    allocation = Allocation.objects.create(
        subject=subject,
        study=study,
        site=site,
        scheme=scheme,
        stratum=stratum,
        slot_id=slot_id,
        sequence=stratum.next_sequence - 1,
        arm=arm,
        stratum_values=frozen_values,
        idempotency_key=key,
        randomized_by=ctx.actor,
        randomized_by_username=ctx.username,
        randomized_at=timezone.now(),
        channel=ctx.channel,
        eligibility=verdict.snapshot,
        list_alerts=crossed or None,
        cap_alerts=cap_alerts or None,
        ratio_unit=ratio_unit,
    )
    if crossed:
        Stratum.objects.filter(pk=stratum.pk).update(
            alerted_80=stratum.alerted_80, alerted_100=stratum.alerted_100
        )
    now = allocation.randomized_at
    scope = {"study_id": study.pk, "site_id": site.pk, "subject_id": subject.pk}
    AuditEvent.objects.bulk_create(
        change_rows(
            ctx,
            "transition",
            moved,
            object_type="subjects.Subject",
            object_id=subject.pk,
            at=now,
            **scope,
        )
        + change_rows(
            ctx,
            "randomize",
            # The new record in one row (as a created form is): arm, number, stratum, the
            # frozen values and what allowed it. Item-level rows are for changes to saved data.
            [
                Change(
                    "allocation",
                    None,
                    {
                        "arm": allocation.arm,
                        "sequence": allocation.sequence,
                        "stratum": stratum_key,
                        "stratum_values": frozen_values,
                        "eligibility": verdict.snapshot,
                    },
                )
            ],
            object_type="randomization.Allocation",
            object_id=allocation.pk,
            at=now,
            **scope,
        )
    )
    # Derived items, the visit calendar and e-mails follow from the committed allocation: the
    # periodic follow_up_allocations finds it pending, so the request sends nothing anywhere.
    return AllocationResult(allocation, True)


# ---- follow-up -------------------------------------------------------------------------


def follow_up_allocations(limit: int = 200) -> tuple[int, int]:
    """Do the follow-up of every allocation still pending (oldest first, at most ``limit``);
    return (done, failed). A failure is logged and the allocation stays pending for the next
    run, so one bad mail server or record does not hold up the others."""
    done = failed = 0
    for allocation_id in selectors.awaiting_follow_up().values_list("pk", flat=True)[:limit]:
        try:
            done += follow_up(allocation_id)
        except Exception:
            log.exception("follow-up of allocation %s failed; it stays pending", allocation_id)
            failed += 1
    return done, failed


# The advisory-lock class of follow-ups (the allocation's id is the second key).
FOLLOW_UP_LOCK_CLASS = 7_101


def claim_follow_up(allocation_id: int) -> bool:
    """Claim an allocation's follow-up for this transaction; False when another worker has it.
    A transaction-scoped advisory lock, not SELECT ... FOR UPDATE on the allocation: row locks
    need UPDATE privilege, which the application role lacks on the append-only allocations
    (deploy/README.md). SQLite runs one writer at a time, so there is nothing to claim."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [FOLLOW_UP_LOCK_CLASS, allocation_id]
        )
        return cursor.fetchone()[0]


@transaction.atomic
def follow_up(allocation_id: int) -> bool:
    """The randomization form's derived items, the arm's visit calendar, then the e-mails, and
    the mark that they are done, in one transaction that holds the allocation's claim, so two
    workers never follow up the same allocation. False when it is not (or no longer) pending."""
    if not claim_follow_up(allocation_id):
        return False
    allocation = (
        Allocation.objects.select_related(
            "subject__site", "subject__study", "randomized_by", "scheme", "stratum"
        )
        .filter(pk=allocation_id, follow_up__isnull=True)
        .first()
    )
    if allocation is None:
        return False
    derive_and_announce(allocation)
    AllocationFollowUp.objects.create(allocation=allocation, done_at=timezone.now())
    return True


def derive_and_announce(allocation: Allocation) -> None:
    """The follow-up work itself; a repeated run (after a crash before the mark was written)
    changes no form or calendar again and repeats at most the e-mails."""
    subject = allocation.subject
    ctx = ChangeContext(allocation.randomized_by, allocation.channel)
    _write_to_randomization_form(ctx, allocation)
    on_randomized(ctx, subject, allocation.arm, subject.randomization_date)
    notifications.allocation_made(allocation.pk, list(allocation.list_alerts or []))
    notifications.cap_reached(allocation.pk, list(allocation.cap_alerts or []))


DERIVED_ITEMS = ("RNDDAT", "RNDNO", "RNDARM")


def _write_to_randomization_form(ctx: ChangeContext, allocation: Allocation) -> None:
    """Copy date, randomization number and arm into the derived items (RNDDAT, RNDNO, RNDARM)
    of the randomization form the strata were read from, where the form has them."""
    from crf.services import set_derived_items
    from edc.studies.protocol import form_items

    subject = allocation.subject
    try:
        _, location = crf_strata_and_form(subject, allocation.scheme.params)
    except DomainError as exc:
        log.warning("allocation %s: no randomization form to copy to (%s)", allocation.pk, exc)
        return
    if location is None:
        return
    event_code, event_repeat, form_code, form_repeat = location
    form = study_forms(subject.protocol_version_id).forms.get(form_code, {})
    derived = {code for code, item in form_items(form).items() if item.get("derived")}
    if not derived & set(DERIVED_ITEMS):
        return
    ordinal = Stratum.objects.filter(
        scheme_id=allocation.scheme_id, pk__lte=allocation.stratum_id
    ).count()
    values = {
        "RNDDAT": subject.randomization_date.isoformat() if subject.randomization_date else None,
        "RNDNO": f"{ordinal:02d}-{allocation.sequence:03d}",
        "RNDARM": allocation.arm,
    }
    wanted = {code: value for code, value in values.items() if code in derived and value}
    if wanted:
        try:
            set_derived_items(
                ctx, subject, event_code, event_repeat, form_code, form_repeat, wanted
            )
        except DomainError as exc:
            # The allocation is the record and stands; the copy is for the casebook (e.g. a
            # form locked by data management keeps its values), so it is logged, not retried.
            log.warning("allocation %s: derived items not written (%s)", allocation.pk, exc)


def _take_sequence(scheme_id: int, stratum_key: str) -> Stratum:
    """For minimization, which has no list: the stratum, its row locked until the transaction
    ends, with its cursor moved on by one (the allocation's sequence is ``next_sequence - 1``)."""
    stratum = (
        Stratum.objects.select_for_update()
        .defer("values")
        .filter(scheme_id=scheme_id, key=stratum_key)
        .first()
    )
    if stratum is None:
        raise _stratum_not_available(stratum_key)
    Stratum.objects.filter(pk=stratum.pk).update(next_sequence=F("next_sequence") + 1)
    stratum.next_sequence += 1
    return stratum


def _take_slot_locked(scheme_id: int, stratum_key: str) -> tuple[Stratum, int, str]:
    """Lock the stratum, then move its cursor past the first usable slot: with the row locked
    first, nothing waits and the slots are read as they are now."""
    slots_total = (
        Stratum.objects.select_for_update()
        .filter(scheme_id=scheme_id, key=stratum_key)
        .values_list("slots_total", flat=True)
        .first()
    )
    if slots_total is None:
        raise _stratum_not_available(stratum_key)
    taken = statements.take_next_slot(scheme_id, stratum_key)
    if taken is None:
        raise _refuse(
            "list_exhausted",
            "strata",
            gettext(
                "the list of stratum %(stratum)s is used up (%(count)s slots); the study admin "
                "was told when it ran out"
            )
            % {"stratum": stratum_key, "count": slots_total},
        )
    return taken


def _stratum_not_available(stratum_key: str) -> DomainError:
    return _refuse(
        "stratum_not_available",
        "strata",
        gettext(
            "stratum %(stratum)s has no list (a site opened after go-live needs a list extension)"
        )
        % {"stratum": stratum_key},
    )


def _alerts_crossed(stratum: Stratum) -> list[int]:
    """The list-use thresholds (80 %, 100 %) reached by the allocation that just moved the
    cursor and not alerted before; their flags are set on ``stratum`` for the caller to save.
    The stratum row is locked, so no other allocation can reach the same one."""
    crossed = []
    if stratum.slots_total:
        used = stratum.next_sequence - 1
        if not stratum.alerted_80 and used * 100 >= 80 * stratum.slots_total:
            stratum.alerted_80 = True
            crossed.append(80)
        if not stratum.alerted_100 and used >= stratum.slots_total:
            stratum.alerted_100 = True
            crossed.append(100)
    return crossed


def _minimization_arm(
    scheme: RandomizationScheme, sequence: int, study_code: str, levels: dict, site_code: str
) -> tuple[str, int]:
    """Pocock–Simon on the counts so far, over the ratio's units when the scheme preserves the
    ratio (``scheme_params.preserves_ratio``); allocation n draws from generator block n.
    The arm and the unit it was given."""
    params = scheme.params
    patient = dict(levels)
    if params["stratify_by_site"]:
        patient["site"] = site_code
    by_unit = scheme_params.preserves_ratio(params)
    counts: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    rows = Allocation.objects.filter(scheme=scheme).values_list(
        "arm", "ratio_unit", "stratum_values"
    )
    for arm, unit, values in rows:
        counted = (arm, unit) if by_unit else arm
        for factor in params["weights"]:
            by_arm = counts[factor][values.get(factor)]
            by_arm[counted] = by_arm.get(counted, 0) + 1
    drbg = HmacDrbg(unwrap_seed(scheme.seed), study_code, "minimization", block=sequence)
    assign = minimization_assign_preserving_ratio if by_unit else minimization_assign
    decision = assign(
        counts,
        patient,
        scheme_params.arms(params),
        params["weights"],
        params["p"],
        drbg=drbg,
    )
    return decision.arm, decision.unit


def _enrolment_caps(
    study: Study, site: Site, scheme: RandomizationScheme, stratum_key: str, definition: dict
) -> list[dict]:
    """Refuse an allocation beyond a cap of the study file (``randomization.caps``: study,
    site, stratum), and return the 80 % and 100 % marks this allocation reaches. Each capped
    row (study, site, stratum, in that order) is locked before it is counted, so simultaneous
    allocations take turns and no cap is overshot."""
    alerts = []
    for check in selectors.cap_checks(study, site, scheme, stratum_key, definition):
        list(check.row.select_for_update().values_list("pk"))
        limit, used = check.limit, check.allocations.count()
        if used >= limit:
            raise _refuse(check.code, check.field, check.message(site.code, stratum_key))
        for percent in (80, 100):
            if used * 100 < percent * limit <= (used + 1) * 100:
                alerts.append(
                    {"cap": check.cap, "percent": percent, "used": used + 1, "limit": limit}
                )
    return alerts


# ---- corrections -----------------------------------------------------------------------


@transaction.atomic
def withdraw_slot(ctx: ChangeContext, study: Study, stratum_key: str, sequence: int) -> Slot:
    """Take a future slot out of use (e.g. a kit lost); it is skipped, never given out."""
    authorize(ctx, Permission.ADMINISTER, study.pk)
    reason = require_reason(ctx)
    stratum = (
        Stratum.objects.select_for_update(of=("self",))
        .filter(scheme__study=study, key=stratum_key)
        .select_related("scheme")
        .first()
    )
    if stratum is None:
        raise _refuse(
            "not_found",
            "stratum",
            gettext("no stratum %(stratum)s") % {"stratum": stratum_key},
            status=404,
        )
    slot = Slot.objects.filter(stratum=stratum, sequence=sequence).first()
    if slot is None:
        raise _refuse(
            "not_found",
            "sequence",
            gettext("no slot %(number)s in %(stratum)s")
            % {"number": sequence, "stratum": stratum_key},
            status=404,
        )
    if sequence < stratum.next_sequence:
        raise _refuse(
            "slot_already_passed",
            "sequence",
            gettext("only future slots can be withdrawn"),
            status=409,
        )
    if not slot.available:
        raise _refuse(
            "slot_already_withdrawn", "sequence", gettext("the slot is already withdrawn")
        )
    slot.available = False
    slot.save(update_fields=["available"])
    correction = AllocationCorrection.objects.create(
        scheme=stratum.scheme,
        kind=CorrectionKind.SLOT_WITHDRAWN,
        slot=slot,
        details={"stratum": stratum_key, "sequence": sequence},
        reason=reason,
        created_by=ctx.actor,
    )
    record_changes(
        ctx.with_reason(reason),
        "randomization_slot_withdrawn",
        [Change("available", True, False), Change("correction", None, correction.pk)],
        object_type="randomization.Slot",
        object_id=slot.pk,
        study=study,
    )
    return slot


@transaction.atomic
def flag_randomized_in_error(ctx: ChangeContext, allocation: Allocation) -> AllocationCorrection:
    """Record that a subject should not have been randomized. Irreversible; the slot stays used
    and the subject is analysed as randomized (intention to treat)."""
    authorize(ctx, Permission.ADMINISTER, allocation.study_id)
    reason = require_reason(ctx)
    if allocation.corrections.filter(kind=CorrectionKind.RANDOMIZED_IN_ERROR).exists():
        raise _refuse(
            "already_flagged", "allocation", gettext("already recorded as randomized in error")
        )
    correction = AllocationCorrection.objects.create(
        scheme=allocation.scheme,
        kind=CorrectionKind.RANDOMIZED_IN_ERROR,
        allocation=allocation,
        details={"arm": allocation.arm, "sequence": allocation.sequence},
        reason=reason,
        created_by=ctx.actor,
    )
    record_changes(
        ctx.with_reason(reason),
        "randomized_in_error",
        [Change("randomized_in_error", False, True)],
        object_type="randomization.Allocation",
        object_id=allocation.pk,
        study=allocation.study,
        site=allocation.site,
        subject=allocation.subject,
    )
    return correction


@transaction.atomic
def record_stratum_error(
    ctx: ChangeContext, allocation: Allocation, correct_values: dict[str, str]
) -> AllocationCorrection:
    """Document mis-stratification. The allocation keeps the values it was made with."""
    authorize(ctx, Permission.ADMINISTER, allocation.study_id)
    reason = require_reason(ctx)
    correction = AllocationCorrection.objects.create(
        scheme=allocation.scheme,
        kind=CorrectionKind.STRATUM_ERROR,
        allocation=allocation,
        details={"used": allocation.stratum_values, "correct": correct_values},
        reason=reason,
        created_by=ctx.actor,
    )
    record_changes(
        ctx.with_reason(reason),
        "randomization_stratum_error",
        [Change("stratum_values", allocation.stratum_values, correct_values)],
        object_type="randomization.Allocation",
        object_id=allocation.pk,
        study=allocation.study,
        site=allocation.site,
        subject=allocation.subject,
    )
    return correction


def reveal_seed(ctx: ChangeContext, study: Study) -> tuple[bytes, bytes]:
    """The seed and salt, for the statistician's escrow or the unblinding check. Audited."""
    if ctx.user is not None:
        scope = scope_of(ctx.user)
        if not scope.can(Permission.VIEW_ALLOCATION_LIST, study.pk):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(gettext("only the study statistician may see the seed"))
    seed_row = (
        Seed.objects.filter(scheme__study=study, scheme__status=SchemeStatus.LIVE)
        .select_related("scheme")
        .first()
    )
    if seed_row is None:
        raise _refuse("randomization_not_live", "study", f"{study.code} has not gone live")
    seed = unwrap_seed(seed_row)
    record_changes(
        ctx,
        "randomization_seed_revealed",
        [Change("seed_sha256", None, seed_vault_fingerprint(seed, bytes(seed_row.salt)))],
        object_type="randomization.Seed",
        object_id=seed_row.pk,
        study=study,
    )
    return seed, bytes(seed_row.salt)


def seed_vault_fingerprint(seed: bytes, salt: bytes) -> str:
    from randomization.engine import seed_commitment

    return seed_commitment(seed, salt)
