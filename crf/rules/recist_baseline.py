"""RECIST baseline: lesion classification, target selection and its validation (§2.1, §2.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from crf.rules.recist_parameters import DEFAULT_PARAMETERS, RecistParameters
from crf.rules.recist_sites import SiteCode
from crf.rules.recist_sizes import (
    CHEST_XRAY_MEASURABLE_FROM_TENTHS,
    NODE_MEASURABLE_FROM_TENTHS,
    NODE_PATHOLOGICAL_FROM_TENTHS,
    NON_NODAL_MEASURABLE_FROM_TENTHS,
    THIN_SLICE_MAX_TENTHS,
    format_mm,
    format_tenths,
)
from crf.rules.violations import Violation
from edc.phrases import gettext_noop, phrase

NODES_ORGAN_KEY = "lymph nodes"


class Modality(StrEnum):
    CT_MRI = "ct_mri"
    CALLIPER = "calliper"
    CHEST_XRAY = "chest_xray"


class LesionCategory(StrEnum):
    MEASURABLE = "measurable"
    NON_MEASURABLE = "non_measurable"
    NORMAL_NODE = "normal_node"


@dataclass(frozen=True)
class BaselineLesion:
    """One baseline lesion. `size_tenths` is the LD (non-nodal) or the short axis (node).

    `organ` groups lesions for the two-per-organ rule; every node counts as one organ "lymph nodes"
    whatever `organ` says. `non_measurable_type` marks lesions RECIST never measures (blastic bone,
    effusion, ascites, leptomeningeal or lymphangitic disease, ...). A previously irradiated lesion is
    measurable only if progression in it has been demonstrated (`progressed_after_irradiation`).
    `scan_date` overrides the baseline's scan date when this lesion was imaged on another day.
    """

    lesion_id: str
    organ: str
    site: SiteCode
    is_node: bool
    size_tenths: int | None
    is_target: bool = False
    modality: Modality = Modality.CT_MRI
    slice_thickness_tenths: int | None = None
    non_measurable_type: bool = False
    previously_irradiated: bool = False
    progressed_after_irradiation: bool = False
    cystic: bool = False
    scan_date: date | None = None

    def __post_init__(self) -> None:
        if self.size_tenths is not None and self.size_tenths < 0:
            raise ValueError(f"{self.lesion_id}: size must not be negative")

    @property
    def organ_key(self) -> str:
        return NODES_ORGAN_KEY if self.is_node else self.organ.strip().casefold()


@dataclass(frozen=True)
class LesionClassification:
    category: LesionCategory
    reason: str


def measurable_threshold_tenths(lesion: BaselineLesion) -> int:
    """Smallest size that makes the lesion measurable given node status and modality."""
    if lesion.is_node:
        return NODE_MEASURABLE_FROM_TENTHS
    if lesion.modality is Modality.CHEST_XRAY:
        return CHEST_XRAY_MEASURABLE_FROM_TENTHS
    slice_tenths = lesion.slice_thickness_tenths
    if lesion.modality is Modality.CT_MRI and slice_tenths and slice_tenths > THIN_SLICE_MAX_TENTHS:
        return 2 * slice_tenths
    return NON_NODAL_MEASURABLE_FROM_TENTHS


def classify_lesion(lesion: BaselineLesion) -> LesionClassification:
    """Measurable / non-measurable / normal node at baseline (§2.1)."""
    size = lesion.size_tenths
    if lesion.is_node and size is not None and size < NODE_PATHOLOGICAL_FROM_TENTHS:
        return LesionClassification(
            LesionCategory.NORMAL_NODE,
            phrase(
                gettext_noop("node SA {size} < 10 mm: normal, not recorded as disease"),
                size=format_mm(size),
            ),
        )
    if lesion.non_measurable_type:
        return LesionClassification(
            LesionCategory.NON_MEASURABLE,
            phrase(gettext_noop("lesion type is never measurable under RECIST")),
        )
    if lesion.previously_irradiated and not lesion.progressed_after_irradiation:
        return LesionClassification(
            LesionCategory.NON_MEASURABLE,
            phrase(gettext_noop("previously irradiated without demonstrated progression")),
        )
    if size is None:
        return LesionClassification(
            LesionCategory.NON_MEASURABLE, phrase(gettext_noop("no measurement recorded"))
        )
    threshold = measurable_threshold_tenths(lesion)
    axis = "SA" if lesion.is_node else "LD"
    if size >= threshold:
        return LesionClassification(
            LesionCategory.MEASURABLE,
            phrase(
                "{axis} {size} ≥ {threshold}",
                axis=axis,
                size=format_mm(size),
                threshold=format_mm(threshold),
            ),
        )
    return LesionClassification(
        LesionCategory.NON_MEASURABLE,
        phrase(
            "{axis} {size} < {threshold}",
            axis=axis,
            size=format_mm(size),
            threshold=format_mm(threshold),
        ),
    )


class DiseaseStatus(StrEnum):
    MEASURABLE = "measurable"
    NON_MEASURABLE_ONLY = "non_measurable_only"
    NO_DISEASE = "no_disease"


@dataclass(frozen=True)
class Baseline:
    """The reference scan set of one RECIST episode; targets are those with `is_target`."""

    scan_date: date
    lesions: tuple[BaselineLesion, ...] = ()
    treatment_start: date | None = None

    def __post_init__(self) -> None:
        ids = [lesion.lesion_id for lesion in self.lesions]
        if len(ids) != len(set(ids)):
            raise ValueError("baseline lesion ids must be unique")

    @property
    def targets(self) -> tuple[BaselineLesion, ...]:
        return tuple(lesion for lesion in self.lesions if lesion.is_target)

    @property
    def non_targets(self) -> tuple[BaselineLesion, ...]:
        return tuple(
            lesion
            for lesion in self.lesions
            if not lesion.is_target
            and classify_lesion(lesion).category is not LesionCategory.NORMAL_NODE
        )

    @property
    def sum_tenths(self) -> int | None:
        if not self.targets:
            return None
        return sum(lesion.size_tenths or 0 for lesion in self.targets)

    @property
    def disease(self) -> DiseaseStatus:
        if self.targets:
            return DiseaseStatus.MEASURABLE
        if self.non_targets:
            return DiseaseStatus.NON_MEASURABLE_ONLY
        return DiseaseStatus.NO_DISEASE

    def scan_date_of(self, lesion: BaselineLesion) -> date:
        return lesion.scan_date or self.scan_date


class BaselineViolationCode(StrEnum):
    TOO_MANY_TARGETS = "too_many_targets"
    TOO_MANY_TARGETS_IN_ORGAN = "too_many_targets_in_organ"
    NODAL_TARGET_TOO_SMALL = "nodal_target_too_small"
    NON_NODAL_TARGET_TOO_SMALL = "non_nodal_target_too_small"
    TARGET_WITHOUT_MEASUREMENT = "target_without_measurement"
    TARGET_NOT_MEASURABLE = "target_not_measurable"
    BASELINE_SCAN_OUTSIDE_WINDOW = "baseline_scan_outside_window"


def validate_baseline(
    baseline: Baseline, params: RecistParameters = DEFAULT_PARAMETERS
) -> list[Violation]:
    """Hard errors of target selection and baseline timing (§2.2)."""
    codes = BaselineViolationCode
    violations: list[Violation] = []
    targets = baseline.targets
    if len(targets) > params.max_targets:
        violations.append(
            Violation(
                codes.TOO_MANY_TARGETS,
                phrase(
                    gettext_noop("{count} target lesions selected; at most {allowed} allowed"),
                    count=len(targets),
                    allowed=params.max_targets,
                ),
            )
        )
    per_organ: dict[str, list[str]] = {}
    for lesion in targets:
        per_organ.setdefault(lesion.organ_key, []).append(lesion.lesion_id)
    for organ, ids in per_organ.items():
        if len(ids) > params.max_targets_per_organ:
            violations.append(
                Violation(
                    codes.TOO_MANY_TARGETS_IN_ORGAN,
                    phrase(
                        gettext_noop(
                            "{count} targets in {organ} ({lesions}); at most {allowed} per organ "
                            "(all lymph nodes count as one organ)"
                        ),
                        count=len(ids),
                        organ=phrase(gettext_noop("lymph nodes"))
                        if organ == NODES_ORGAN_KEY
                        else organ,
                        lesions=", ".join(ids),
                        allowed=params.max_targets_per_organ,
                    ),
                    subject=organ,
                )
            )
    for lesion in targets:
        violations.extend(_target_lesion_violations(lesion))
    if baseline.treatment_start is not None:
        for scan in sorted({baseline.scan_date_of(lesion) for lesion in baseline.lesions}):
            days = (baseline.treatment_start - scan).days
            if not 0 <= days <= params.baseline_window_days:
                violations.append(
                    Violation(
                        codes.BASELINE_SCAN_OUTSIDE_WINDOW,
                        phrase(
                            gettext_noop(
                                "baseline scan {scan} is {days} days before treatment start "
                                "{start}; allowed 0 to {allowed} days"
                            ),
                            scan=scan.isoformat(),
                            days=days,
                            start=baseline.treatment_start.isoformat(),
                            allowed=params.baseline_window_days,
                        ),
                        subject=scan.isoformat(),
                    )
                )
    return violations


def _target_lesion_violations(lesion: BaselineLesion) -> list[Violation]:
    codes = BaselineViolationCode
    lid = lesion.lesion_id
    if lesion.size_tenths is None:
        return [
            Violation(
                codes.TARGET_WITHOUT_MEASUREMENT,
                phrase(gettext_noop("target {lesion} has no measurement"), lesion=lid),
                subject=lid,
            )
        ]
    classification = classify_lesion(lesion)
    if classification.category is LesionCategory.MEASURABLE:
        return []
    if lesion.is_node:
        return [
            Violation(
                codes.NODAL_TARGET_TOO_SMALL,
                phrase(
                    gettext_noop("nodal target {lesion}: SA {size} < 15 mm"),
                    lesion=lid,
                    size=format_mm(lesion.size_tenths),
                ),
                subject=lid,
            )
        ]
    threshold = measurable_threshold_tenths(lesion)
    if lesion.size_tenths < threshold:
        return [
            Violation(
                codes.NON_NODAL_TARGET_TOO_SMALL,
                phrase(
                    gettext_noop("non-nodal target {lesion}: LD {size} < {threshold}"),
                    lesion=lid,
                    size=format_mm(lesion.size_tenths),
                    threshold=format_mm(threshold),
                ),
                subject=lid,
            )
        ]
    return [
        Violation(
            codes.TARGET_NOT_MEASURABLE,
            phrase(
                gettext_noop("target {lesion} is not measurable: {reason}"),
                lesion=lid,
                reason=classification.reason,
            ),
            subject=lid,
        )
    ]


@dataclass(frozen=True)
class TargetProposal:
    """Suggested split of baseline lesions; the radiologist may choose differently within the rules."""

    target_ids: tuple[str, ...]
    non_target_ids: tuple[str, ...]
    not_disease_ids: tuple[str, ...]
    sum_tenths: int
    derivation: tuple[str, ...]


def propose_targets(
    lesions: Sequence[BaselineLesion], params: RecistParameters = DEFAULT_PARAMETERS
) -> TargetProposal:
    """Largest measurable lesions first (non-cystic preferred), at most 2 per organ and 5 in total.

    Ties keep input order. `target_ids` are listed in selection order.
    """
    lines: list[str] = []
    not_disease: list[str] = []
    measurable: list[tuple[int, BaselineLesion]] = []
    for index, lesion in enumerate(lesions):
        classification = classify_lesion(lesion)
        if classification.category is LesionCategory.NORMAL_NODE:
            not_disease.append(lesion.lesion_id)
            lines.append(f"{lesion.lesion_id}: {classification.reason}")
        elif classification.category is LesionCategory.NON_MEASURABLE:
            lines.append(f"{lesion.lesion_id}: non-target ({classification.reason})")
        else:
            measurable.append((index, lesion))
    measurable.sort(key=lambda item: (item[1].cystic, -(item[1].size_tenths or 0), item[0]))
    chosen: list[BaselineLesion] = []
    per_organ: dict[str, int] = {}
    for _, lesion in measurable:
        organ = lesion.organ_key
        if len(chosen) >= params.max_targets:
            lines.append(f"{lesion.lesion_id}: non-target (already {params.max_targets} targets)")
        elif per_organ.get(organ, 0) >= params.max_targets_per_organ:
            lines.append(
                f"{lesion.lesion_id}: non-target (already {params.max_targets_per_organ} "
                f"targets in {organ})"
            )
        else:
            chosen.append(lesion)
            per_organ[organ] = per_organ.get(organ, 0) + 1
            lines.append(
                f"{lesion.lesion_id}: target #{len(chosen)} "
                f"({organ}, {format_mm(lesion.size_tenths or 0)})"
            )
    chosen_ids = tuple(lesion.lesion_id for lesion in chosen)
    total = sum(lesion.size_tenths or 0 for lesion in chosen)
    if chosen:
        lines.append(
            "Baseline SoD = "
            + " + ".join(format_tenths(lesion.size_tenths or 0) for lesion in chosen)
            + f" = {format_mm(total)}"
        )
    non_target_ids = tuple(
        lesion.lesion_id
        for lesion in lesions
        if lesion.lesion_id not in chosen_ids and lesion.lesion_id not in not_disease
    )
    return TargetProposal(chosen_ids, non_target_ids, tuple(not_disease), total, tuple(lines))
