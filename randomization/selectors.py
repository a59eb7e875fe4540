"""Reads of randomization data, always through the caller's Scope.

Allocations are visible to whoever may see the subject (the trials are open label). The list,
future slots and the seed are visible only with VIEW_ALLOCATION_LIST (statisticians) for the
whole study; balance reports also to study admins, since they show only what was allocated."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, Count, QuerySet, Value, When
from django.http import Http404
from django.utils.translation import gettext

from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.studies.models import Study
from edc.studies.texts import study_text
from edc.subjects.selectors import get_study, get_subject
from randomization import scheme_params
from randomization.models import (
    Allocation,
    AllocationCorrection,
    Commitment,
    RandomizationScheme,
    SchemeStatus,
    Slot,
    Stratum,
)


def scheme_of(study: Study) -> RandomizationScheme | None:
    return RandomizationScheme.objects.filter(study=study).first()


def live_scheme(study: Study) -> RandomizationScheme | None:
    return RandomizationScheme.objects.filter(study=study, status=SchemeStatus.LIVE).first()


def awaiting_follow_up() -> QuerySet[Allocation]:
    """Allocations whose follow-up (derived items, calendar, e-mails) is not done, oldest first."""
    return Allocation.objects.filter(follow_up__isnull=True).order_by("pk")


def arm_name(scheme: RandomizationScheme, code: str) -> str:
    """The arm's name in the reader's language (the study's text for it)."""
    name = scheme_params.arm_names(scheme.params).get(code, code)
    return study_text(scheme.study.definition, name)


def subject_allocation(scope: Scope, study_code: str, subject_id: str) -> Allocation:
    """The allocation of a subject the caller can see; 404 when not visible or not randomized."""
    subject = get_subject(scope, study_code, subject_id)
    allocation = (
        Allocation.objects.select_related("subject", "site", "study", "stratum", "scheme")
        .filter(subject=subject)
        .first()
    )
    if allocation is None:
        raise Http404("not randomized")
    return allocation


def allocation_of(subject) -> Allocation | None:
    return (
        Allocation.objects.select_related("scheme", "stratum").filter(subject_id=subject.pk).first()
    )


def require_list_access(scope: Scope, study: Study) -> None:
    """The list, future slots and the seed: statisticians with study-wide membership only."""
    if not scope.can(Permission.VIEW_ALLOCATION_LIST, study.pk):
        raise PermissionDenied(
            gettext("only the study statistician may see the randomization list")
        )


def can_view_reports(scope: Scope, study: Study) -> bool:
    return scope.can(Permission.VIEW_ALLOCATION_LIST, study.pk) or scope.can(
        Permission.ADMINISTER, study.pk
    )


def require_report_access(scope: Scope, study: Study) -> None:
    if not can_view_reports(scope, study):
        raise PermissionDenied(
            gettext("randomization reports are for the statistician and study admin")
        )


def study_for_reports(scope: Scope, study_code: str) -> Study:
    study = get_study(scope, study_code)
    require_report_access(scope, study)
    return study


def study_for_list(scope: Scope, study_code: str) -> Study:
    study = get_study(scope, study_code)
    require_list_access(scope, study)
    return study


def commitments(study: Study):
    return Commitment.objects.filter(scheme__study=study).order_by("id")


def allocation_list(study: Study):
    """Every slot of every stratum, with the subject that used it (statistician view)."""
    return (
        Slot.objects.filter(stratum__scheme__study=study)
        .select_related("stratum", "allocation__subject")
        .order_by("stratum__key", "sequence")
    )


def corrections(study: Study):
    return AllocationCorrection.objects.filter(scheme__study=study).select_related(
        "allocation__subject", "slot__stratum", "created_by"
    )


def with_arm_names(subjects, study: Study):
    """Annotate a Subject queryset with ``arm_code`` and ``arm_name`` in the same query (for
    subject lists); subjects not randomized get empty strings."""
    scheme = scheme_of(study)
    names = scheme_params.arm_names(scheme.params) if scheme is not None else {}
    return subjects.annotate(
        arm_code=Case(
            When(allocation__isnull=False, then="allocation__arm"),
            default=Value(""),
            output_field=CharField(),
        ),
        arm_name=Case(
            *[When(allocation__arm=code, then=Value(name)) for code, name in names.items()],
            default=Value(""),
            output_field=CharField(),
        ),
    )


# ---- reports ---------------------------------------------------------------------------


@dataclass
class BalanceRow:
    label: str
    counts: dict[str, int]
    total: int = 0
    imbalance: int = 0


@dataclass
class BalanceReport:
    arms: list[tuple[str, str]]
    overall: BalanceRow
    by_site: list[BalanceRow] = field(default_factory=list)
    by_stratum: list[BalanceRow] = field(default_factory=list)
    by_stratum_and_site: list[BalanceRow] = field(default_factory=list)


def _row(label: str, counts: dict[str, int], arm_codes: list[str]) -> BalanceRow:
    full = {code: counts.get(code, 0) for code in arm_codes}
    values = list(full.values())
    return BalanceRow(label, full, sum(values), max(values) - min(values) if values else 0)


def balance(study: Study) -> BalanceReport | None:
    """Counts by arm overall, by site, by stratum and by stratum × site (one query)."""
    scheme = scheme_of(study)
    if scheme is None:
        return None
    arms = [(a["code"], study_text(study.definition, a["name"])) for a in scheme.params["arms"]]
    codes = [code for code, _ in arms]
    rows = (
        Allocation.objects.filter(scheme=scheme)
        .values_list("stratum__key", "site__code", "arm")
        .annotate(n=Count("id"))
        .order_by()
    )
    overall: dict[str, int] = defaultdict(int)
    by_site: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_stratum: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_both: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, site, arm, n in rows:
        overall[arm] += n
        by_site[site][arm] += n
        by_stratum[key][arm] += n
        by_both[(key, site)][arm] += n
    return BalanceReport(
        arms=arms,
        overall=_row(gettext("All subjects"), overall, codes),
        by_site=[_row(site, by_site[site], codes) for site in sorted(by_site)],
        by_stratum=[_row(key, by_stratum[key], codes) for key in sorted(by_stratum)],
        by_stratum_and_site=[
            _row(
                gettext("%(stratum)s · site %(site)s") % {"stratum": key, "site": site},
                by_both[(key, site)],
                codes,
            )
            for key, site in sorted(by_both)
        ],
    )


@dataclass(frozen=True)
class StratumUse:
    key: str
    used: int
    total: int
    withdrawn: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0


def list_use(study: Study) -> list[StratumUse]:
    strata = (
        Stratum.objects.filter(scheme__study=study)
        .annotate(withdrawn=Count("slots", filter=_withdrawn_filter()))
        .order_by("key")
    )
    return [StratumUse(s.key, s.next_sequence - 1, s.slots_total, s.withdrawn) for s in strata]


def _withdrawn_filter():
    from django.db.models import Q

    return Q(slots__available=False)


# ---- subject page ----------------------------------------------------------------------


@dataclass
class Preview:
    """What the confirmation step shows before an allocation."""

    live: bool
    strata: list[tuple[str, str]] = field(default_factory=list)
    problem: str = ""
    eligible: bool = False
    eligibility_reasons: list[str] = field(default_factory=list)
    confirmation: dict = field(default_factory=dict)


def randomization_preview(subject) -> Preview:
    from edc.errors import DomainError
    from randomization.eligibility import eligibility_verdict
    from randomization.strata import crf_strata

    scheme = live_scheme(subject.study)
    if scheme is None:
        return Preview(
            live=False, problem=gettext("Randomization has not gone live for this study.")
        )
    verdict = eligibility_verdict(subject)
    preview = Preview(
        live=True,
        eligible=verdict.allowed,
        eligibility_reasons=verdict.reasons,
        confirmation=verdict.snapshot,
    )
    try:
        levels = crf_strata(subject, scheme.params)
    except DomainError as exc:
        preview.problem = exc.message
        return preview
    definition = subject.study.definition
    for factor in scheme.params["factors"]:
        labels = {level["code"]: level["label"] for level in factor["levels"]}
        code = levels[factor["code"]]
        preview.strata.append(
            (
                study_text(definition, factor["name"]),
                f"{study_text(definition, labels.get(code, code))} ({code})",
            )
        )
    preview.strata.append((gettext("Site"), f"{subject.site.code} {subject.site.name}"))
    return preview


@dataclass
class Panel:
    allocation: Allocation | None
    arm_name: str = ""
    live: bool = False
    can_randomize: bool = False
    preview: Preview | None = None


def subject_panel(scope: Scope, subject) -> Panel:
    """The randomization box of the subject page: the allocation, or the way to one."""
    allocation = allocation_of(subject)
    if allocation is not None:
        return Panel(allocation, arm_name(allocation.scheme, allocation.arm), live=True)
    can = scope.can(Permission.RANDOMIZE, subject.study_id, subject.site_id)
    if not can:
        return Panel(None, live=live_scheme(subject.study) is not None)
    preview = randomization_preview(subject)
    return Panel(None, live=preview.live, can_randomize=True, preview=preview)
