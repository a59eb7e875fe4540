"""Reads of randomization data, always through the caller's Scope.

Allocations are visible to whoever may see the subject (the trials are open label). The list,
future slots and the seed are visible only with VIEW_ALLOCATION_LIST (statisticians) for the
whole study; balance reports also to study admins, since they show only what was allocated."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, Count, F, QuerySet, Value, When
from django.http import Http404
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.definitions import study_forms
from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.studies.models import Study
from edc.studies.texts import study_text
from edc.subjects.models import Subject
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


@dataclass(frozen=True)
class Candidate:
    """A subject about to be randomized, with its study, site and the study's scheme (None
    before go-live), and the id of its allocation if it already has one."""

    subject: Subject
    scheme: RandomizationScheme | None
    allocation_id: int | None


def candidate(
    *, pk: int | None = None, study_code: str = "", subject_id: str = ""
) -> Candidate | None:
    """One query: by primary key, or by study code and study-scoped subject ID."""
    subjects = Subject.objects.select_related(
        "study", "site", "study__randomization_scheme"
    ).annotate(allocation_pk=F("allocation__id"))
    if pk is None:
        subjects = subjects.filter(study__code=study_code, subject_id=subject_id)
    else:
        subjects = subjects.filter(pk=pk)
    try:
        # get(), not first(): the lookup is unique, so the subject's default ordering (by study
        # code) would only add an ORDER BY to the allocation's first statement.
        subject = subjects.get()
    except Subject.DoesNotExist:
        return None
    try:
        scheme = subject.study.randomization_scheme
    except RandomizationScheme.DoesNotExist:
        scheme = None
    return Candidate(subject, scheme, subject.allocation_pk)


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


# ---- enrolment caps ----------------------------------------------------------------------

_CAP_MESSAGES = {
    "study": _("the study has randomized its cap of {limit} subjects"),
    "site": _("site {site} has randomized its cap of {limit} subjects"),
    "stratum": _("stratum {stratum} has randomized its cap of {limit} subjects"),
}


@dataclass(frozen=True)
class CapCheck:
    """One cap of ``randomization.caps`` that applies to an allocation: the row an allocation
    locks before counting (study, site or stratum), and the allocations counted against it."""

    cap: str
    limit: int
    row: QuerySet
    allocations: QuerySet

    @property
    def code(self) -> str:
        return f"{self.cap}_cap_reached"

    @property
    def field(self) -> str:
        return {"study": "study", "site": "site", "stratum": "strata"}[self.cap]

    def message(self, site_code: str, stratum_key: str) -> str:
        return str(_CAP_MESSAGES[self.cap]).format(
            limit=self.limit, site=site_code, stratum=stratum_key
        )


def cap_checks(study, site, scheme, stratum_key: str, definition: dict) -> list[CapCheck]:
    """The caps an allocation at ``site`` into ``stratum_key`` must stay within, in the order
    the allocation service locks them (a stratum cap only where strata have lists)."""
    from edc.studies.models import Site

    caps = definition.get("randomization", {}).get("caps", {})
    checks = []
    if caps.get("study"):
        checks.append(
            CapCheck(
                "study",
                caps["study"],
                Study.objects.filter(pk=study.pk),
                Allocation.objects.filter(study=study),
            )
        )
    if caps.get("site"):
        checks.append(
            CapCheck(
                "site",
                caps["site"],
                Site.objects.filter(pk=site.pk),
                Allocation.objects.filter(site=site),
            )
        )
    if caps.get("stratum") and scheme.method != scheme_params.MINIMIZATION:
        checks.append(
            CapCheck(
                "stratum",
                caps["stratum"],
                Stratum.objects.filter(scheme=scheme, key=stratum_key),
                Allocation.objects.filter(scheme=scheme, stratum__key=stratum_key),
            )
        )
    return checks


# ---- reports ---------------------------------------------------------------------------


@dataclass
class BalanceRow:
    """Counts by arm against what the allocation ratio expects for the row's total.
    ``imbalance`` is the largest distance from the target, max_k |N_k - n * w_k / W| (in
    subjects), so a row exactly on an unequal ratio reads 0."""

    label: str
    counts: dict[str, int]
    total: int = 0
    expected: dict[str, float] = field(default_factory=dict)
    deviation: dict[str, float] = field(default_factory=dict)
    imbalance: float = 0.0

    @property
    def cells(self) -> list[tuple[int, float, float]]:
        """(count, expected, deviation) per arm in arm order, for tables."""
        return [(n, self.expected[code], self.deviation[code]) for code, n in self.counts.items()]


@dataclass
class BalanceReport:
    arms: list[tuple[str, str]]
    ratios: dict[str, int]
    overall: BalanceRow
    by_site: list[BalanceRow] = field(default_factory=list)
    by_stratum: list[BalanceRow] = field(default_factory=list)
    by_stratum_and_site: list[BalanceRow] = field(default_factory=list)
    # Per level of each factor, over its other factors and sites: what minimization balances.
    # Left empty for stratified blocks with one factor, whose levels are its strata.
    by_factor_level: list[BalanceRow] = field(default_factory=list)

    @property
    def target(self) -> str:
        return ":".join(str(ratio) for ratio in self.ratios.values())

    @property
    def shows_subtotals(self) -> bool:
        """Whether the stratum and site subtotals are shown (table and chart alike): with one
        stratum and one site each would only repeat the overall row."""
        return len(self.by_stratum) > 1 or len(self.by_site) > 1


def balance_row(label: str, counts: dict[str, int], ratios: dict[str, int]) -> BalanceRow:
    """A row of counts against the target ratio (arm code -> ratio, in arm order)."""
    full = {code: counts.get(code, 0) for code in ratios}
    total = sum(full.values())
    ratio_sum = sum(ratios.values())
    expected = {code: total * ratio / ratio_sum for code, ratio in ratios.items()}
    deviation = {code: full[code] - expected[code] for code in ratios}
    worst = max((abs(d) for d in deviation.values()), default=0.0)
    return BalanceRow(label, full, total, expected, deviation, round(worst, 2))


def balance(study: Study) -> BalanceReport | None:
    """Counts by arm against the allocation ratio, overall, by site, by stratum, by stratum ×
    site and by factor level (one query). Every report or figure of balance reads this."""
    scheme = scheme_of(study)
    if scheme is None:
        return None
    arms = [(a["code"], study_text(study.definition, a["name"])) for a in scheme.params["arms"]]
    ratios = {a["code"]: a["ratio"] for a in scheme.params["arms"]}
    rows = (
        Allocation.objects.filter(scheme=scheme)
        .values_list("stratum__key", "site__code", "arm", "stratum_values")
        .annotate(n=Count("id"))
        .order_by()
    )
    factors = scheme.params["factors"]
    marginal = scheme.params["method"] == scheme_params.MINIMIZATION or len(factors) > 1
    by_level: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overall: dict[str, int] = defaultdict(int)
    by_site: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_stratum: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_both: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # Minimization has one pseudo-stratum and no lists: its rows are sites and factor levels.
    stratified = scheme.params["method"] != scheme_params.MINIMIZATION
    for key, site, arm, values, n in rows:
        overall[arm] += n
        for factor in factors if marginal else ():
            by_level[(factor["code"], values.get(factor["code"], ""))][arm] += n
        by_site[site][arm] += n
        if not stratified:
            continue
        # Per stratum of the factors: a site-stratified key's site part is the by-site view.
        cell = "|".join(part for part in key.split("|") if not part.startswith("site=")) or key
        by_stratum[cell][arm] += n
        by_both[(key, site)][arm] += n
    return BalanceReport(
        arms=arms,
        ratios=ratios,
        overall=balance_row(str(_("All subjects")), overall, ratios),
        by_site=[balance_row(site, by_site[site], ratios) for site in sorted(by_site)],
        by_stratum=[balance_row(key, by_stratum[key], ratios) for key in sorted(by_stratum)],
        by_stratum_and_site=[
            balance_row(
                # A site-stratified key already names its site.
                key
                if f"site={site}" in key.split("|")
                else gettext("%(stratum)s · site %(site)s") % {"stratum": key, "site": site},
                by_both[(key, site)],
                ratios,
            )
            for key, site in sorted(by_both)
        ],
        by_factor_level=[
            balance_row(
                f"{factor['code']}={level['code']}",
                by_level[(factor["code"], level["code"])],
                ratios,
            )
            for factor in (factors if marginal else ())
            for level in factor["levels"]
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
    definition = study_forms(subject.protocol_version_id).definition
    for factor in scheme.params["factors"]:
        labels = {level["code"]: level["label"] for level in factor["levels"]}
        code = levels[factor["code"]]
        # The level's label in the reader's language; the factor name is shown through the
        # study_text filter (the page's study), so it stays as stored here.
        label = study_text(definition, labels.get(code, code))
        preview.strata.append((factor["name"], f"{label} ({code})"))
    preview.strata.append((gettext("Site"), f"{subject.site.code} {subject.site.name}"))
    return preview


@dataclass
class Panel:
    allocation: Allocation | None
    arm_name: str = ""
    live: bool = False
    can_randomize: bool = False
    preview: Preview | None = None
    missing: list = field(default_factory=list)


def subject_panel(scope: Scope, subject) -> Panel:
    """The randomization box of the subject page: the allocation, or the way to one."""
    allocation = allocation_of(subject)
    if allocation is not None:
        return Panel(allocation, arm_name(allocation.scheme, allocation.arm), live=True)
    can = scope.can(Permission.RANDOMIZE, subject.study_id, subject.site_id)
    if not can:
        return Panel(None, live=live_scheme(subject.study) is not None)
    # The button is offered exactly when the allocation service would accept the subject.
    missing = missing_for_randomization(subject)
    return Panel(
        None, live=live_scheme(subject.study) is not None, can_randomize=True, missing=missing
    )


# ---- what an allocation still needs --------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """One prerequisite of an allocation not yet met: ``code`` is the refusal code the
    allocation service gives for it, ``message`` says it in words, ``link`` is where it is
    done (empty when nothing on a page does it)."""

    code: str
    message: str
    link: str = ""
    link_text: str = ""


def _form_url(subject, form_code: str) -> str:
    from django.urls import reverse

    from crf.definitions import study_forms

    forms = study_forms(subject.protocol_version_id)
    for event_code in forms.event_order:
        if form_code in forms.events[event_code].get("forms", []):
            return reverse(
                "crf-form",
                args=[subject.study.code, subject.subject_id, event_code, 1, form_code, 1],
            )
    return ""


def missing_for_randomization(subject) -> list[Missing]:
    """Every prerequisite of ``randomization.services.randomize`` the subject does not meet
    yet, in the order the service checks them (so the first is what it would refuse with);
    empty when an allocation can be made. The caller's right to randomize is not checked here:
    the page offers the button only to those who have it."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from crf.selectors import eligibility_state
    from edc.errors import DomainError
    from edc.studies.models import StudyStatus
    from edc.subjects.labels import status_label
    from edc.subjects.lifecycle import Action, IllegalTransition, Status, check_transition
    from randomization.eligibility import eligibility_verdict
    from randomization.strata import crf_strata

    study, site = subject.study, subject.site
    if allocation_of(subject) is not None:
        return [Missing("already_randomized", _("The subject is already randomized."))]
    missing = []
    if study.status != StudyStatus.OPEN:
        missing.append(Missing("study_not_open", _("The study is not open for enrolment.")))
    if not site.is_active:
        missing.append(Missing("site_inactive", _("This site is not active in the study.")))
    scheme = live_scheme(study)
    if scheme is None:
        missing.append(
            Missing("randomization_not_live", _("Randomization has not gone live for this study."))
        )
    model = study.definition.get("enrolment_model", "enrol_after_induction")
    try:
        check_transition(subject.status, Status.RANDOMIZED, model)
    except IllegalTransition:

        def action_url(action: Action) -> str:
            return reverse("subject-action", args=[study.code, subject.subject_id, action.value])

        if subject.status == Status.SCREENING:
            missing.append(
                Missing(
                    "illegal_transition",
                    _("Register the subject first."),
                    action_url(Action.REGISTER),
                    _("Register"),
                )
            )
        elif subject.status == Status.REGISTERED:
            missing.append(
                Missing(
                    "illegal_transition",
                    _("Induction comes first: responders are randomized after it."),
                    action_url(Action.START_INDUCTION),
                    _("Start induction"),
                )
            )
        else:
            # Past the point of randomization (or out of the study): nothing else matters.
            return missing + [
                Missing(
                    "illegal_transition",
                    _("A subject whose status is “%(status)s” cannot be randomized.")
                    % {"status": status_label(subject.status)},
                )
            ]
    eligibility = f"{reverse('crf-eligibility', args=[study.code, subject.subject_id])}"
    if not eligibility_verdict(subject).allowed:
        blocking = len(eligibility_state(subject, "randomization").blocking)
        if blocking:
            message = _("%(count)s eligibility criteria are not met or not yet answered.") % {
                "count": blocking
            }
        else:
            message = _("Eligibility has not been confirmed by an investigator.")
        missing.append(
            Missing(
                "not_eligible",
                message,
                f"{eligibility}?point=randomization",
                _("Eligibility"),
            )
        )
    if scheme is not None:
        try:
            levels = crf_strata(subject, scheme.params)
        except DomainError as exc:
            factors = scheme.params["factors"]
            names = {f["code"]: f["name"] for f in factors}
            unanswered = [
                names.get(d["field"].removeprefix("strata."), "") for d in exc.details
            ] or [names.get(exc.field.removeprefix("strata."), "")]
            missing.append(
                Missing(
                    exc.code,
                    _("Complete the randomization form: %(items)s.")
                    % {"items": ", ".join(n for n in unanswered if n)},
                    _form_url(subject, factors[0]["source"]["form"]),
                    _("Randomization form"),
                )
            )
        else:
            key = scheme_params.stratum_key(scheme.params, levels, site.code)
            definition = study_forms(study.current_version_id).definition
            for check in cap_checks(study, site, scheme, key, definition):
                if check.allocations.count() >= check.limit:
                    missing.append(Missing(check.code, capfirst(check.message(site.code, key))))
    return missing
