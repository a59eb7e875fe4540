"""RECIST 1.1 response calculator (domain spec §2) in exact integer arithmetic.

Every size is an integer number of tenths of a millimetre: binary floating point gets the 30 % and 20 %
boundaries wrong (e.g. 46.0 -> 32.2 mm is exactly -30 % but evaluates to -29.999999999999993 % in doubles).
Use `mm()` to convert user input; floats are rejected on purpose.

Entry points:
* `classify_lesion`, `propose_targets`, `validate_baseline` for the baseline form;
* `evaluate_series` for a patient's episode (baseline + follow-up assessments), which folds
  `evaluate_timepoint` over the assessments and derives BOR, PD date, PFS days and site of progression;
* `combine_overall` and `best_overall_response` for callers that already hold the component responses.

Every computed result carries `derivation` lines explaining how it was obtained, for display on the form.

This module holds follow-up observations, the time-point engine and the series; baseline handling,
response tables, BOR, sites and size arithmetic live in the sibling `recist_*` modules and are
re-exported here so callers need a single import path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from crf.rules.exact_numbers import round_half_up
from crf.rules.recist_baseline import (
    Baseline,
    BaselineLesion,
    BaselineViolationCode,
    DiseaseStatus,
    LesionCategory,
    LesionClassification,
    Modality,
    TargetProposal,
    classify_lesion,
    measurable_threshold_tenths,
    propose_targets,
    validate_baseline,
)
from crf.rules.recist_bor import (
    BestResponse,
    DatedResponse,
    OverallAtDate,
    best_overall_response,
    is_disease_control,
    is_objective_response,
)
from crf.rules.recist_lesion_changes import (
    Coalescence,
    LesionNote,
    Split,
    coalesced_phrase,
    split_phrase,
)
from crf.rules.recist_parameters import DEFAULT_PARAMETERS, RecistParameters
from crf.rules.recist_responses import NewLesionFinding, Response, ReviewFlag, combine_overall
from crf.rules.recist_sites import (
    SITE_CATEGORY,
    ProgressionClass,
    SiteCategory,
    SiteCode,
    classify_progression,
)
from crf.rules.recist_sizes import (
    NODE_PATHOLOGICAL_FROM_TENTHS,
    TOO_SMALL_TO_MEASURE_TENTHS,
    format_change_mm,
    format_mm,
    format_percent_change,
    format_tenths,
    meets_pd,
    meets_pr,
    mm,
    percent_change,
)
from edc.phrases import Phrase, gettext_noop, phrase

__all__ = [
    "DEFAULT_PARAMETERS",
    "SITE_CATEGORY",
    "Assessment",
    "Baseline",
    "BaselineLesion",
    "BaselineViolationCode",
    "BestResponse",
    "Coalescence",
    "DatedResponse",
    "DiseaseStatus",
    "LesionNote",
    "LesionCategory",
    "LesionClassification",
    "Modality",
    "NewLesion",
    "NewLesionCertainty",
    "NewLesionFinding",
    "NonTargetObservation",
    "NonTargetStatus",
    "OverallAtDate",
    "ProgressionClass",
    "RecistParameters",
    "Response",
    "ReviewFlag",
    "SeriesResult",
    "SiteCategory",
    "SiteCode",
    "Split",
    "TargetMeasurement",
    "TargetProposal",
    "TargetStatus",
    "TimepointResult",
    "best_overall_response",
    "classify_lesion",
    "classify_progression",
    "combine_overall",
    "confirmed_new_lesion_ids",
    "days_to_months",
    "evaluate_series",
    "evaluate_timepoint",
    "format_mm",
    "is_disease_control",
    "is_objective_response",
    "measurable_threshold_tenths",
    "meets_pd",
    "meets_pr",
    "mm",
    "percent_change",
    "pfs_days",
    "propose_targets",
    "validate_baseline",
]


class TargetStatus(StrEnum):
    MEASURED = "measured"
    TOO_SMALL_TO_MEASURE = "too_small_to_measure"
    NOT_EVALUATED = "NE"


@dataclass(frozen=True)
class TargetMeasurement:
    """Follow-up value of one target lesion.

    Disappeared: measured 0. Present but too small to measure: status TOO_SMALL_TO_MEASURE (counts as
    5 mm; a measurable value below 5 mm is recorded as measured). Split lesion: the sum of the fragments
    (`from_fragments`). Coalesced lesions: the mass on one lesion, 0 on the others. Not imaged or not
    evaluable: NOT_EVALUATED, which is never read as 0 and never carried forward.
    """

    lesion_id: str
    size_tenths: int | None
    status: TargetStatus = TargetStatus.MEASURED
    scan_date: date | None = None

    def __post_init__(self) -> None:
        if self.status is TargetStatus.MEASURED:
            if self.size_tenths is None or self.size_tenths < 0:
                raise ValueError(f"{self.lesion_id}: a measured target needs a size >= 0")
        elif self.size_tenths is not None:
            raise ValueError(f"{self.lesion_id}: status {self.status} carries no size")

    @classmethod
    def not_evaluated(cls, lesion_id: str, scan_date: date | None = None) -> TargetMeasurement:
        return cls(lesion_id, None, TargetStatus.NOT_EVALUATED, scan_date)

    @classmethod
    def too_small(cls, lesion_id: str, scan_date: date | None = None) -> TargetMeasurement:
        return cls(lesion_id, None, TargetStatus.TOO_SMALL_TO_MEASURE, scan_date)

    @classmethod
    def from_fragments(
        cls, lesion_id: str, fragments_tenths: Sequence[int], scan_date: date | None = None
    ) -> TargetMeasurement:
        return cls(lesion_id, sum(fragments_tenths), TargetStatus.MEASURED, scan_date)

    @property
    def effective_tenths(self) -> int | None:
        if self.status is TargetStatus.TOO_SMALL_TO_MEASURE:
            return TOO_SMALL_TO_MEASURE_TENTHS
        return self.size_tenths


class NonTargetStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    NOT_EVALUATED = "NE"


@dataclass(frozen=True)
class NonTargetObservation:
    """The reader's explicit choice for one non-target lesion (or grouped organ entry)."""

    lesion_id: str
    status: NonTargetStatus
    scan_date: date | None = None


class NewLesionCertainty(StrEnum):
    EQUIVOCAL = "equivocal"
    UNEQUIVOCAL = "unequivocal"


@dataclass(frozen=True)
class NewLesion:
    """A new lesion. Keep the same `lesion_id` when a later scan confirms an equivocal one.

    A PET-only finding awaiting CT/MRI confirmation is recorded as equivocal: the confirmation then
    dates the PD back to the PET scan.
    """

    lesion_id: str
    site: SiteCode
    certainty: NewLesionCertainty
    scan_date: date | None = None


@dataclass(frozen=True)
class Assessment:
    """One follow-up time point. Observations without their own `scan_date` use `scan_date`.

    A baseline target or non-target lesion missing from the assessment counts as not evaluated.
    A target that split is given by its fragments (`splits`), not in `targets`; targets that
    coalesced (`coalescences`) count 0 mm beside the lesion that carries the mass.
    """

    assessment_id: str
    scan_date: date
    targets: tuple[TargetMeasurement, ...] = ()
    non_targets: tuple[NonTargetObservation, ...] = ()
    new_lesions: tuple[NewLesion, ...] = ()
    imaging_performed: bool = True
    tumour_markers_normal: bool | None = None
    splits: tuple[Split, ...] = ()
    coalescences: tuple[Coalescence, ...] = ()

    def __post_init__(self) -> None:
        if not self.imaging_performed and (self.targets or self.non_targets or self.new_lesions):
            raise ValueError(f"{self.assessment_id}: no imaging performed but observations given")
        for group in (self.targets, self.non_targets, self.new_lesions):
            ids = [item.lesion_id for item in group]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{self.assessment_id}: duplicate lesion id in one assessment")
        measured = {m.lesion_id for m in self.targets}
        split = [s.lesion_id for s in self.splits]
        partners = [p for c in self.coalescences for p in c.partners]
        changed = split + partners + [c.into for c in self.coalescences]
        if len(changed) != len(set(changed)):
            raise ValueError(f"{self.assessment_id}: a lesion is in more than one split/merge")
        if (set(split) | set(partners)) & measured:
            raise ValueError(
                f"{self.assessment_id}: a split or coalesced-away target is also measured"
            )

    def date_of(self, observation: TargetMeasurement | NonTargetObservation | NewLesion) -> date:
        return observation.scan_date or self.scan_date

    @property
    def latest_scan_date(self) -> date:
        dates = [self.date_of(o) for o in (*self.targets, *self.non_targets, *self.new_lesions)]
        return max([self.scan_date, *dates])


@dataclass(frozen=True)
class TimepointResult:
    """Computed responses of one assessment.

    `sum_tenths` is the SoD when every target was evaluated (else None; the evaluated-only sum is in the
    derivation). `nadir_tenths` is the reference nadir used for this time point (before it).
    `response_date` is the latest scan date of the assessment; `pd_date` the earliest scan date showing
    progression when `overall` is PD. `superseded_overall` keeps the response shown before a later scan
    confirmed an equivocal new lesion (audit trail).
    """

    assessment_id: str
    response_date: date
    target: Response
    non_target: Response
    new_lesions: NewLesionFinding
    overall: Response
    sum_tenths: int | None
    nadir_tenths: int | None
    baseline_sum_tenths: int | None
    flags: frozenset[ReviewFlag]
    derivation: tuple[Phrase, ...]
    pd_date: date | None = None
    progression_sites: frozenset[SiteCode] = frozenset()
    superseded_overall: Response | None = None
    target_sizes: tuple[tuple[str, int | None], ...] = ()
    lesion_notes: tuple[LesionNote, ...] = ()

    @property
    def fully_evaluated(self) -> bool:
        """All targets measured: only such assessments can become the nadir."""
        return self.sum_tenths is not None

    @property
    def progression_class(self) -> ProgressionClass | None:
        return classify_progression(self.progression_sites)

    @property
    def derivation_text(self) -> str:
        return "\n".join(self.derivation)


# Words inside derivation lines, translatable; as strings they keep the engine's own values.
_TERMS = {
    "present": phrase(gettext_noop("present")),
    "absent": phrase(gettext_noop("absent")),
    "unequivocal_progression": phrase(
        gettext_noop("unequivocal progression"), "unequivocal_progression"
    ),
    "NE": phrase("NE"),
    "none": phrase(gettext_noop("none")),
    "equivocal": phrase(gettext_noop("equivocal")),
    "unequivocal": phrase(gettext_noop("unequivocal")),
    "measurable": phrase(gettext_noop("measurable")),
    "non_measurable_only": phrase(
        gettext_noop("non-measurable disease only"), "non_measurable_only"
    ),
    "no_disease": phrase(gettext_noop("no disease"), "no_disease"),
    "locoregional_only": phrase(gettext_noop("locoregional only"), "locoregional_only"),
    "distant_only": phrase(gettext_noop("distant only"), "distant_only"),
    "both": phrase(gettext_noop("locoregional and distant"), "both"),
    "baseline": phrase(gettext_noop("baseline")),
}


def _term(value: str) -> Phrase | str:
    return _TERMS.get(str(value), str(value))


def _sum_comparison(reference_name: Phrase | str, current: int, reference: int) -> Phrase:
    return phrase(
        gettext_noop("SoD {current} vs {name} {reference}: {change}, {percent}"),
        current=format_mm(current),
        name=reference_name,
        reference=format_mm(reference),
        change=format_change_mm(current - reference),
        percent=format_percent_change(current, reference),
    )


@dataclass(frozen=True)
class _Nadir:
    sum_tenths: int
    label: str
    sizes: Mapping[str, int | None]


def _nadir(baseline: Baseline, previous: Sequence[TimepointResult]) -> _Nadir | None:
    baseline_sum = baseline.sum_tenths
    if baseline_sum is None:
        return None
    best = _Nadir(
        baseline_sum,
        "baseline",
        {lesion.lesion_id: lesion.size_tenths for lesion in baseline.targets},
    )
    for result in previous:
        # `<=` keeps the most recent of equal sums as the reference for "grew since the nadir".
        if result.sum_tenths is not None and result.sum_tenths <= best.sum_tenths:
            best = _Nadir(result.sum_tenths, result.assessment_id, dict(result.target_sizes))
    return best


class _PriorCR(StrEnum):
    NONE = "none"
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"


def _prior_cr(
    previous: Sequence[TimepointResult], params: RecistParameters
) -> tuple[_PriorCR, str]:
    evaluable = [r for r in previous if r.overall is not Response.NE]
    if not evaluable or evaluable[-1].overall is not Response.CR:
        return _PriorCR.NONE, ""
    last = evaluable[-1]
    for earlier in reversed(evaluable[:-1]):
        if earlier.overall is not Response.CR:
            break
        if (last.response_date - earlier.response_date).days >= params.confirm_min_days:
            return _PriorCR.CONFIRMED, phrase(
                gettext_noop("CR at {first} confirmed by CR at {later}"),
                first=earlier.assessment_id,
                later=last.assessment_id,
            )
    return _PriorCR.UNCONFIRMED, phrase(
        gettext_noop("CR at {at} not confirmed"), at=last.assessment_id
    )


@dataclass(frozen=True)
class _TargetOutcome:
    response: Response
    sum_tenths: int | None
    sizes: dict[str, int | None]
    grown: tuple[str, ...]
    lines: tuple[Phrase, ...]
    flags: frozenset[ReviewFlag]
    measurements: Mapping[str, TargetMeasurement] = field(default_factory=dict)
    notes: tuple[LesionNote, ...] = ()


def _apply_lesion_changes(
    assessment: Assessment, measured: dict[str, TargetMeasurement]
) -> tuple[dict[str, TargetMeasurement], list[LesionNote]]:
    """Measurements with splits summed and coalesced partners at 0 mm, and what was done."""
    measured = dict(measured)
    notes: list[LesionNote] = []
    for split in assessment.splits:
        whole = TargetMeasurement.from_fragments(
            split.lesion_id, [size for _, size in split.fragments]
        )
        measured[split.lesion_id] = whole
        notes.append(
            split_phrase(
                split.lesion_id,
                " + ".join(f"{fid} {format_mm(size)}" for fid, size in split.fragments),
                format_mm(whole.size_tenths or 0),
            )
        )
    for merged in assessment.coalescences:
        mass = measured.get(merged.into)
        partners = ", ".join(merged.partners)
        if mass is None or mass.effective_tenths is None:
            for partner in merged.partners:
                measured[partner] = TargetMeasurement.not_evaluated(partner)
            notes.append(coalesced_phrase(partners, merged.into, None))
            continue
        for partner in merged.partners:
            measured[partner] = TargetMeasurement(partner, 0, scan_date=mass.scan_date)
        notes.append(coalesced_phrase(partners, merged.into, format_mm(mass.effective_tenths)))
    return measured, notes


def _target_outcome(
    baseline: Baseline, assessment: Assessment, nadir: _Nadir | None
) -> _TargetOutcome:
    targets = baseline.targets
    if not targets or nadir is None:
        return _TargetOutcome(
            Response.NA,
            None,
            {},
            (),
            (phrase(gettext_noop("No target lesions at baseline")),),
            frozenset(),
        )
    baseline_sum = baseline.sum_tenths or 0
    known = {lesion.lesion_id for lesion in targets}
    measured, notes = _apply_lesion_changes(
        assessment, {m.lesion_id: m for m in assessment.targets}
    )
    unknown = set(measured) - known
    if unknown:
        raise ValueError(f"{assessment.assessment_id}: {sorted(unknown)} are not baseline targets")
    sizes = {
        lid: (measured[lid].effective_tenths if lid in measured else None)
        for lid in (lesion.lesion_id for lesion in targets)
    }
    lines: list[Phrase] = list(notes)
    for lid, m in measured.items():
        if m.status is TargetStatus.TOO_SMALL_TO_MEASURE:
            lines.append(
                phrase(gettext_noop("{lesion} too small to measure: counted as 5 mm"), lesion=lid)
            )
    evaluated = {lid: size for lid, size in sizes.items() if size is not None}
    evaluated_sum = sum(evaluated.values())
    grown = tuple(lid for lid, size in evaluated.items() if size > (nadir.sizes.get(lid) or 0))
    nadir_label = phrase(gettext_noop("nadir ({at})"), at=_term(nadir.label))
    terms = " + ".join(
        f"{lid} {format_tenths(size)}" if size is not None else f"{lid} NE"
        for lid, size in sizes.items()
    )
    missing = [lid for lid, size in sizes.items() if size is None]
    if missing:
        lines.append(phrase(gettext_noop("Targets: {terms}"), terms=terms))
        lines.append(
            phrase(
                gettext_noop(
                    "{lesions} not evaluated (never counted as 0); evaluated-only sum {sum}"
                ),
                lesions=", ".join(missing),
                sum=format_mm(evaluated_sum),
            )
        )
        comparison = _sum_comparison(nadir_label, evaluated_sum, nadir.sum_tenths)
        if meets_pd(evaluated_sum, nadir.sum_tenths):
            lines.append(
                phrase(
                    gettext_noop("Evaluated-only {comparison} ⇒ PD (≥ +5 mm and ≥ +20%)"),
                    comparison=comparison,
                )
            )
            return _TargetOutcome(
                Response.PD,
                None,
                sizes,
                grown,
                tuple(lines),
                frozenset({ReviewFlag.PD_ON_EVALUATED_TARGETS_ONLY}),
                measured,
                tuple(notes),
            )
        lines.append(
            phrase(
                gettext_noop("Evaluated-only {comparison}: not PD ⇒ target NE"),
                comparison=comparison,
            )
        )
        return _TargetOutcome(
            Response.NE, None, sizes, grown, tuple(lines), frozenset(), measured, tuple(notes)
        )

    total = evaluated_sum
    lines.append(phrase("SoD {sum} = {terms}", sum=format_mm(total), terms=terms))
    vs_baseline = _sum_comparison(_term("baseline"), total, baseline_sum)
    vs_nadir = _sum_comparison(nadir_label, total, nadir.sum_tenths)
    pd = meets_pd(total, nadir.sum_tenths)
    nodes = {lesion.lesion_id for lesion in targets if lesion.is_node}
    complete = all(
        size < NODE_PATHOLOGICAL_FROM_TENTHS if lid in nodes else size == 0
        for lid, size in evaluated.items()
    )
    flags: frozenset[ReviewFlag] = frozenset()
    if complete:
        if total:
            lines.append(
                phrase(
                    gettext_noop(
                        "All non-nodal targets 0 mm and every nodal target SA < 10 mm ⇒ CR "
                        "(SoD {sum} is nodal SA only)"
                    ),
                    sum=format_mm(total),
                )
            )
        else:
            lines.append(
                phrase(
                    gettext_noop(
                        "All non-nodal targets 0 mm and every nodal target SA < 10 mm ⇒ CR"
                    )
                )
            )
        if pd:
            flags = frozenset({ReviewFlag.NODAL_GROWTH_BELOW_10MM})
            lines.append(
                phrase(
                    gettext_noop(
                        "{comparison} also meets the PD arithmetic; CR takes precedence "
                        "(nodes below 10 mm are normal) - flagged for review"
                    ),
                    comparison=vs_nadir,
                )
            )
        response = Response.CR
    elif pd:
        lines.append(
            phrase(gettext_noop("{comparison} ⇒ PD (≥ +5 mm and ≥ +20%)"), comparison=vs_nadir)
        )
        response = Response.PD
    else:
        lines.append(
            phrase(
                gettext_noop("{comparison}: not PD (needs ≥ +5 mm and ≥ +20%)"),
                comparison=vs_nadir,
            )
        )
        if meets_pr(total, baseline_sum):
            lines.append(
                phrase(gettext_noop("{comparison} ⇒ PR (decrease ≥ 30%)"), comparison=vs_baseline)
            )
            response = Response.PR
        else:
            lines.append(
                phrase(gettext_noop("{comparison}: decrease < 30% ⇒ SD"), comparison=vs_baseline)
            )
            response = Response.SD
    return _TargetOutcome(
        response, total, sizes, grown, tuple(lines), flags, measured, tuple(notes)
    )


@dataclass(frozen=True)
class _NonTargetOutcome:
    response: Response
    progressed: tuple[NonTargetObservation, ...]
    present: tuple[NonTargetObservation, ...]
    lines: tuple[Phrase, ...]


def _non_target_outcome(baseline: Baseline, assessment: Assessment) -> _NonTargetOutcome:
    lesions = baseline.non_targets
    if not lesions:
        return _NonTargetOutcome(
            Response.NA, (), (), (phrase(gettext_noop("No non-target lesions at baseline ⇒ NA")),)
        )
    known = {lesion.lesion_id for lesion in lesions}
    observed = {o.lesion_id: o for o in assessment.non_targets}
    unknown = set(observed) - known
    if unknown:
        raise ValueError(
            f"{assessment.assessment_id}: {sorted(unknown)} are not baseline non-target lesions"
        )
    statuses = {
        lid: (observed[lid].status if lid in observed else NonTargetStatus.NOT_EVALUATED)
        for lid in (lesion.lesion_id for lesion in lesions)
    }
    listed = {f"s{i}": _term(status) for i, status in enumerate(statuses.values())}
    summary = phrase(
        gettext_noop("Non-targets: {lesions}"),
        lesions=phrase(", ".join(f"{lid} {{s{i}}}" for i, lid in enumerate(statuses)), **listed),
    )
    progressed = tuple(
        o for o in observed.values() if o.status is NonTargetStatus.UNEQUIVOCAL_PROGRESSION
    )
    present = tuple(
        o
        for o in observed.values()
        if o.status in (NonTargetStatus.PRESENT, NonTargetStatus.UNEQUIVOCAL_PROGRESSION)
    )
    if progressed:
        ids = ", ".join(o.lesion_id for o in progressed)
        return _NonTargetOutcome(
            Response.PD,
            progressed,
            present,
            (
                summary,
                phrase(gettext_noop("Unequivocal progression of {lesions} ⇒ PD"), lesions=ids),
            ),
        )
    if NonTargetStatus.NOT_EVALUATED in statuses.values():
        return _NonTargetOutcome(
            Response.NE,
            (),
            present,
            (summary, phrase(gettext_noop("Not all non-targets evaluated, none progressed ⇒ NE"))),
        )
    if present:
        return _NonTargetOutcome(
            Response.NON_CR_NON_PD,
            (),
            present,
            (summary, phrase(gettext_noop("≥ 1 non-target persists ⇒ Non-CR/Non-PD"))),
        )
    if assessment.tumour_markers_normal is False:
        return _NonTargetOutcome(
            Response.NON_CR_NON_PD,
            (),
            (),
            (
                summary,
                phrase(
                    gettext_noop("All absent but tumour markers not normalised ⇒ Non-CR/Non-PD")
                ),
            ),
        )
    return _NonTargetOutcome(
        Response.CR, (), (), (summary, phrase(gettext_noop("All non-targets absent ⇒ CR")))
    )


def evaluate_timepoint(
    baseline: Baseline,
    assessment: Assessment,
    previous: Sequence[TimepointResult] = (),
    params: RecistParameters = DEFAULT_PARAMETERS,
    confirmed_new_lesion_ids: frozenset[str] = frozenset(),
) -> TimepointResult:
    """Responses of one assessment given the earlier results of the same episode (oldest first).

    `confirmed_new_lesion_ids` are ids of new lesions that a later assessment recorded as unequivocal:
    an equivocal appearance of such a lesion here becomes PD (`evaluate_series` supplies this).
    """
    baseline_sum = baseline.sum_tenths
    nadir = _nadir(baseline, previous)
    if not assessment.imaging_performed:
        return TimepointResult(
            assessment_id=assessment.assessment_id,
            response_date=assessment.scan_date,
            target=Response.NE if baseline.targets else Response.NA,
            non_target=Response.NE if baseline.non_targets else Response.NA,
            new_lesions=NewLesionFinding.NONE,
            overall=Response.NE,
            sum_tenths=None,
            nadir_tenths=nadir.sum_tenths if nadir else None,
            baseline_sum_tenths=baseline_sum,
            flags=frozenset(),
            derivation=(phrase(gettext_noop("No imaging performed ⇒ NE")),),
        )

    target = _target_outcome(baseline, assessment, nadir)
    non_target = _non_target_outcome(baseline, assessment)
    lines: list[Phrase] = [*target.lines, *non_target.lines]
    flags = set(target.flags)

    retro = tuple(
        nl
        for nl in assessment.new_lesions
        if nl.certainty is NewLesionCertainty.EQUIVOCAL and nl.lesion_id in confirmed_new_lesion_ids
    )
    unequivocal = tuple(
        nl for nl in assessment.new_lesions if nl.certainty is NewLesionCertainty.UNEQUIVOCAL
    )
    as_recorded = (
        NewLesionFinding.UNEQUIVOCAL
        if unequivocal
        else NewLesionFinding.EQUIVOCAL
        if assessment.new_lesions
        else NewLesionFinding.NONE
    )
    finding = NewLesionFinding.UNEQUIVOCAL if retro else as_recorded
    lines.extend(_new_lesion_lines(assessment, unequivocal, retro))

    overall = combine_overall(target.response, non_target.response, finding, baseline.disease)
    superseded: Response | None = None
    if retro:
        recorded_overall = combine_overall(
            target.response, non_target.response, as_recorded, baseline.disease
        )
        if recorded_overall is not overall:
            superseded = recorded_overall
        flags.add(ReviewFlag.RETRO_PD_CONFIRMED_NEW_LESION)

    reappeared = _reappeared(baseline, assessment, target, non_target)
    reappearance_drives_pd = False
    if reappeared:
        prior, prior_text = _prior_cr(previous, params)
        if prior is not _PriorCR.NONE:
            flags.add(ReviewFlag.POST_CR_REAPPEARANCE)
            names = ", ".join(lid for lid, _, _ in reappeared)
            if prior is _PriorCR.CONFIRMED:
                lines.append(
                    phrase(
                        gettext_noop("{lesions} reappeared after definitive CR ({prior}) ⇒ PD"),
                        lesions=names,
                        prior=prior_text,
                    )
                )
                reappearance_drives_pd = overall is not Response.PD
                overall = Response.PD
            else:
                lines.append(
                    phrase(
                        gettext_noop(
                            "{lesions} reappeared after CR ({prior}): not PD by itself; the reader "
                            "may reclassify the earlier CR as PR"
                        ),
                        lesions=names,
                        prior=prior_text,
                    )
                )

    if baseline.disease is DiseaseStatus.MEASURABLE:
        lines.append(
            phrase(
                gettext_noop(
                    "Overall: target {target}, non-target {non_target}, new lesions {new} ⇒ "
                    "{overall}"
                ),
                target=str(target.response),
                non_target=str(non_target.response),
                new=_term(finding),
                overall=str(overall),
            )
        )
    else:
        lines.append(
            phrase(
                gettext_noop(
                    "Overall ({disease}): non-target {non_target}, new lesions {new} ⇒ {overall}"
                ),
                disease=_term(baseline.disease),
                non_target=str(non_target.response),
                new=_term(finding),
                overall=str(overall),
            )
        )

    pd_date: date | None = None
    sites: frozenset[SiteCode] = frozenset()
    if overall is Response.PD:
        drivers = _progression_drivers(
            baseline,
            assessment,
            target,
            non_target,
            unequivocal + retro,
            reappeared if reappearance_drives_pd else (),
        )
        sites = frozenset(site for _, site, _ in drivers)
        pd_date = min(when for _, _, when in drivers) if drivers else assessment.scan_date
        lines.append(
            phrase(
                gettext_noop(
                    "Progression at {lesions}; PD date {date} (earliest scan showing progression)"
                ),
                lesions=", ".join(f"{lid} ({site})" for lid, site, _ in drivers),
                date=pd_date.isoformat(),
            )
        )
        progression = classify_progression(sites)
        if progression is not None:
            lines.append(
                phrase(gettext_noop("Site of progression: {site}"), site=_term(progression))
            )

    return TimepointResult(
        assessment_id=assessment.assessment_id,
        response_date=assessment.latest_scan_date,
        target=target.response,
        non_target=non_target.response,
        new_lesions=finding,
        overall=overall,
        sum_tenths=target.sum_tenths,
        nadir_tenths=nadir.sum_tenths if nadir else None,
        baseline_sum_tenths=baseline_sum,
        flags=frozenset(flags),
        derivation=tuple(lines),
        pd_date=pd_date,
        progression_sites=sites,
        superseded_overall=superseded,
        target_sizes=tuple(target.sizes.items()),
        lesion_notes=target.notes,
    )


def _new_lesion_lines(
    assessment: Assessment, unequivocal: Sequence[NewLesion], retro: Sequence[NewLesion]
) -> list[Phrase]:
    if not assessment.new_lesions:
        return [phrase(gettext_noop("No new lesions"))]
    lines = []
    for nl in assessment.new_lesions:
        when = assessment.date_of(nl).isoformat()
        if nl in retro:
            message = gettext_noop(
                "New lesion {lesion} ({site}) equivocal on {date}, confirmed unequivocal on a "
                "later scan ⇒ PD dated to this first equivocal scan"
            )
        elif nl in unequivocal:
            message = gettext_noop("New lesion {lesion} ({site}) unequivocal on {date} ⇒ PD")
        else:
            message = gettext_noop("New lesion {lesion} ({site}) equivocal on {date}: not PD")
        lines.append(phrase(message, lesion=nl.lesion_id, site=str(nl.site), date=when))
    return lines


def _reappeared(
    baseline: Baseline,
    assessment: Assessment,
    target: _TargetOutcome,
    non_target: _NonTargetOutcome,
) -> tuple[tuple[str, SiteCode, date], ...]:
    """Lesions visible again: non-nodal target > 0 mm, nodal target >= 10 mm, non-target present."""
    by_id = {lesion.lesion_id: lesion for lesion in baseline.lesions}
    measured = target.measurements
    found: list[tuple[str, SiteCode, date]] = []
    for lid, size in target.sizes.items():
        if size is None:
            continue
        lesion = by_id[lid]
        limit = NODE_PATHOLOGICAL_FROM_TENTHS if lesion.is_node else 1
        if size >= limit:
            found.append((lid, lesion.site, assessment.date_of(measured[lid])))
    for obs in non_target.present:
        found.append((obs.lesion_id, by_id[obs.lesion_id].site, assessment.date_of(obs)))
    return tuple(found)


def _progression_drivers(
    baseline: Baseline,
    assessment: Assessment,
    target: _TargetOutcome,
    non_target: _NonTargetOutcome,
    new_lesions: Sequence[NewLesion],
    reappeared: Sequence[tuple[str, SiteCode, date]],
) -> list[tuple[str, SiteCode, date]]:
    by_id = {lesion.lesion_id: lesion for lesion in baseline.lesions}
    drivers: list[tuple[str, SiteCode, date]] = [
        (nl.lesion_id, nl.site, assessment.date_of(nl)) for nl in new_lesions
    ]
    drivers.extend(
        (o.lesion_id, by_id[o.lesion_id].site, assessment.date_of(o)) for o in non_target.progressed
    )
    if target.response is Response.PD:
        measured = target.measurements
        drivers.extend(
            (lid, by_id[lid].site, assessment.date_of(measured[lid])) for lid in target.grown
        )
    drivers.extend(reappeared)
    return drivers


def pfs_days(randomization_date: date, event_date: date) -> int:
    """Days from randomization to the event, counting both ends (SAP convention)."""
    return (event_date - randomization_date).days + 1


def days_to_months(days: int) -> Decimal:
    """Months = days / 30.4375, rounded half-up to 2 dp for display."""
    return round_half_up(Fraction(days) / Fraction("30.4375"), 2)


@dataclass(frozen=True)
class SeriesResult:
    """One RECIST episode.

    `bor` covers time points from the reference date up to and including the first PD and not after
    the start of new non-protocol anticancer therapy. `pfs_days` counts to the first RECIST PD in that
    scope (None without PD: the caller handles death and censoring).
    """

    timepoints: tuple[TimepointResult, ...]
    bor: Response
    bor_derivation: tuple[str, ...]
    bor_flags: frozenset[ReviewFlag]
    pd_date: date | None
    pd_assessment_id: str | None
    pfs_days: int | None
    progression_sites: frozenset[SiteCode]
    progression_class: ProgressionClass | None


def confirmed_new_lesion_ids(
    assessments: Sequence[Assessment],
) -> dict[str, frozenset[str]]:
    """Per assessment id: its equivocal new lesions that a later assessment records as unequivocal."""
    result: dict[str, frozenset[str]] = {}
    for index, assessment in enumerate(assessments):
        later_unequivocal = {
            nl.lesion_id
            for later in assessments[index + 1 :]
            for nl in later.new_lesions
            if nl.certainty is NewLesionCertainty.UNEQUIVOCAL
        }
        result[assessment.assessment_id] = frozenset(
            nl.lesion_id
            for nl in assessment.new_lesions
            if nl.certainty is NewLesionCertainty.EQUIVOCAL and nl.lesion_id in later_unequivocal
        )
    return result


def evaluate_series(
    baseline: Baseline,
    assessments: Sequence[Assessment],
    params: RecistParameters = DEFAULT_PARAMETERS,
    *,
    reference_date: date | None = None,
    new_therapy_date: date | None = None,
) -> SeriesResult:
    """Evaluate every assessment in date order, then derive BOR, PD date, PFS days and sites.

    `reference_date` (randomization or first dose) defaults to the baseline's treatment start.
    Assessments dated after `new_therapy_date` (new non-protocol anticancer therapy) are evaluated but
    excluded from BOR and PD.
    """
    reference = reference_date or baseline.treatment_start
    if reference is None:
        raise ValueError("a reference date (randomization or first dose) is required")
    ordered = sorted(assessments, key=lambda a: a.scan_date)
    ids = [a.assessment_id for a in ordered]
    if len(ids) != len(set(ids)):
        raise ValueError("assessment ids must be unique")
    confirmed = confirmed_new_lesion_ids(ordered)
    results: list[TimepointResult] = []
    for assessment in ordered:
        results.append(
            evaluate_timepoint(
                baseline, assessment, results, params, confirmed[assessment.assessment_id]
            )
        )

    scope: list[TimepointResult] = []
    for result in results:
        if result.response_date < reference:
            continue
        if new_therapy_date is not None and result.response_date > new_therapy_date:
            break
        scope.append(result)
        if result.overall is Response.PD:
            break
    best = best_overall_response(scope, reference, params, baseline.disease)
    first_pd = scope[-1] if scope and scope[-1].overall is Response.PD else None
    pd_date = first_pd.pd_date if first_pd else None
    return SeriesResult(
        timepoints=tuple(results),
        bor=best.response,
        bor_derivation=best.derivation,
        bor_flags=best.flags,
        pd_date=pd_date,
        pd_assessment_id=first_pd.assessment_id if first_pd else None,
        pfs_days=pfs_days(reference, pd_date) if pd_date else None,
        progression_sites=first_pd.progression_sites if first_pd else frozenset(),
        progression_class=first_pd.progression_class if first_pd else None,
    )
