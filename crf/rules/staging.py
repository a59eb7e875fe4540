"""AJCC/UICC TNM staging of nasopharyngeal carcinoma: 9th version (2025) and 8th edition (§5).

The stage group is always derived from T, N and M; a manually entered group that differs is an error
unless an override reason is given (V6). An X category makes the group unknown unless the other
categories decide it alone (e.g. TX N3 M0 is stage III in the 9th version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TypeVar

from crf.rules.violations import Severity, Violation


class Edition(IntEnum):
    AJCC8 = 8
    AJCC9 = 9


class TCategory(StrEnum):
    TX = "TX"
    T0 = "T0"
    TIS = "Tis"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"


class NCategory(StrEnum):
    NX = "NX"
    N0 = "N0"
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"


class MCategory(StrEnum):
    MX = "MX"
    M0 = "M0"
    M1 = "M1"
    M1A = "M1a"
    M1B = "M1b"


class StageGroup(StrEnum):
    STAGE_0 = "0"
    STAGE_I = "I"
    STAGE_II = "II"
    STAGE_III = "III"
    STAGE_IVA = "IVA"
    STAGE_IVB = "IVB"


class StagingContext(StrEnum):
    INITIAL_CLINICAL = "c"
    RECURRENT = "r"
    POST_THERAPY = "yc"


class NodalExtent(StrEnum):
    NONE = "none"
    UNILATERAL_OR_RPN = "unilateral_or_RPN"
    BILATERAL = "bilateral"
    OVER_6CM_OR_BELOW_CRICOID = ">6cm_or_below_cricoid"


M_CATEGORIES_BY_EDITION: dict[Edition, frozenset[MCategory]] = {
    Edition.AJCC8: frozenset({MCategory.M0, MCategory.M1}),
    Edition.AJCC9: frozenset({MCategory.M0, MCategory.M1A, MCategory.M1B}),
}

M1A_MAX_LESIONS = 3

_Category = TypeVar("_Category", TCategory, NCategory, MCategory)

_T_ANY_EARLY = frozenset({TCategory.T0, TCategory.T1, TCategory.T2})
_N_UP_TO_2 = frozenset({NCategory.N0, NCategory.N1, NCategory.N2})
_N_UP_TO_1 = frozenset({NCategory.N0, NCategory.N1})


def _edition(edition: int) -> Edition:
    try:
        return Edition(int(edition))
    except ValueError:
        raise ValueError(f"unknown staging edition {edition!r}; expected 8 or 9") from None


def _category(kind: type[_Category], value: str) -> _Category:
    for member in kind:
        if member.value.casefold() == str(value).strip().casefold():
            return member
    raise ValueError(f"unknown {kind.__name__} {value!r}")


@dataclass(frozen=True)
class StageDerivation:
    stage: StageGroup | None
    reason: str


def stage_derivation(t: str, n: str, m: str, edition: int) -> StageDerivation:
    """Stage group with the rule that produced it (first matching rule wins, §5.3)."""
    ed = _edition(edition)
    tc, nc, mc = _category(TCategory, t), _category(NCategory, n), _category(MCategory, m)
    label = f"{tc} {nc} {mc} (AJCC {int(ed)})"
    if mc not in M_CATEGORIES_BY_EDITION[ed] and mc is not MCategory.MX:
        return StageDerivation(None, f"{label}: {mc} does not exist in this edition ⇒ no stage")
    if tc is TCategory.T0 and nc is NCategory.N0:
        return StageDerivation(None, f"{label}: T0 requires nodal disease ⇒ no stage")
    if tc is TCategory.TIS and (
        nc not in (NCategory.N0, NCategory.NX) or mc not in (MCategory.M0, MCategory.MX)
    ):
        return StageDerivation(None, f"{label}: Tis only exists as Tis N0 M0 ⇒ no stage")
    if ed is Edition.AJCC9:
        stage, rule = _derive_9th(tc, nc, mc)
    else:
        stage, rule = _derive_8th(tc, nc, mc)
    if stage is None:
        return StageDerivation(None, f"{label}: {rule} ⇒ stage unknown")
    return StageDerivation(stage, f"{label}: {rule} ⇒ stage {stage}")


def _derive_9th(t: TCategory, n: NCategory, m: MCategory) -> tuple[StageGroup | None, str]:
    if m is MCategory.M1B:
        return StageGroup.STAGE_IVB, "M1b"
    if m is MCategory.M1A:
        return StageGroup.STAGE_IVA, "M1a"
    if m is not MCategory.M0:
        return None, "M not assessed"
    if t is TCategory.T4 or n is NCategory.N3:
        return StageGroup.STAGE_III, "M0 with T4 or N3"
    if t is TCategory.TIS and n is NCategory.N0:
        return StageGroup.STAGE_0, "Tis N0 M0"
    if t is TCategory.T3 and n in _N_UP_TO_2:
        return StageGroup.STAGE_II, "T3 N0-2 M0"
    if t in _T_ANY_EARLY and n is NCategory.N2:
        return StageGroup.STAGE_II, "T0-2 N2 M0"
    if t in _T_ANY_EARLY and n in _N_UP_TO_1:
        return StageGroup.STAGE_I, "T0-2 N0-1 M0 (T0 staged as T1)"
    return None, "T or N not assessed and not decisive"


def _derive_8th(t: TCategory, n: NCategory, m: MCategory) -> tuple[StageGroup | None, str]:
    if m is MCategory.M1:
        return StageGroup.STAGE_IVB, "M1"
    if m is not MCategory.M0:
        return None, "M not assessed"
    if t is TCategory.T4 or n is NCategory.N3:
        return StageGroup.STAGE_IVA, "M0 with T4 or N3"
    if (t is TCategory.T3 and n in _N_UP_TO_2) or (t in _T_ANY_EARLY and n is NCategory.N2):
        return StageGroup.STAGE_III, "T3 N0-2 or T0-2 N2, M0"
    if (t is TCategory.T2 and n in _N_UP_TO_1) or (
        t in (TCategory.T0, TCategory.T1) and n is NCategory.N1
    ):
        return StageGroup.STAGE_II, "T2 N0-1 or T0-1 N1, M0"
    if t is TCategory.T1 and n is NCategory.N0:
        return StageGroup.STAGE_I, "T1 N0 M0"
    if t is TCategory.TIS and n is NCategory.N0:
        return StageGroup.STAGE_0, "Tis N0 M0"
    return None, "T or N not assessed and not decisive"


def derive_stage(t: str, n: str, m: str, edition: int) -> StageGroup | None:
    """Stage group, or None when unknown or the combination is invalid (see `validate_staging`)."""
    return stage_derivation(t, n, m, edition).stage


def m_category_from_lesions(
    n_distant_lesions: int, edition: int, *, innumerable: bool = False
) -> MCategory:
    """M from the count of distinct distant lesions (distant nodes included, regional nodes not).

    9th: 0 ⇒ M0, 1-3 ⇒ M1a, ≥4 or diffuse/innumerable ⇒ M1b. 8th: 0 ⇒ M0, otherwise M1.
    """
    ed = _edition(edition)
    if n_distant_lesions < 0:
        raise ValueError("the number of distant lesions cannot be negative")
    if n_distant_lesions == 0 and not innumerable:
        return MCategory.M0
    if ed is Edition.AJCC8:
        return MCategory.M1
    if innumerable or n_distant_lesions > M1A_MAX_LESIONS:
        return MCategory.M1B
    return MCategory.M1A


def n_category_from_nodes(extent: NodalExtent, advanced_ene: bool, edition: int) -> NCategory:
    """N from the nodal extent; advanced radiologic ENE makes any involved node N3 in the 9th only."""
    ed = _edition(edition)
    if ed is Edition.AJCC9 and advanced_ene and extent is not NodalExtent.NONE:
        return NCategory.N3
    return {
        NodalExtent.NONE: NCategory.N0,
        NodalExtent.UNILATERAL_OR_RPN: NCategory.N1,
        NodalExtent.BILATERAL: NCategory.N2,
        NodalExtent.OVER_6CM_OR_BELOW_CRICOID: NCategory.N3,
    }[extent]


@dataclass(frozen=True)
class StagingInput:
    """The staging form. `entered_stage` is a manual stage group (usually left empty);
    `required_edition` is the edition the trial's criteria are written in."""

    edition: int
    t: str
    n: str
    m: str
    context: StagingContext = StagingContext.INITIAL_CLINICAL
    advanced_ene: bool = False
    nodal_extent: NodalExtent | None = None
    n_distant_lesions: int | None = None
    distant_sites: frozenset[str] = frozenset()
    ebv_positive_node: bool | None = None
    entered_stage: str | None = None
    override_reason: str | None = None
    required_edition: int | None = None


class StagingViolationCode(StrEnum):
    V1_ENE_REQUIRES_N3 = "V1"
    V2_T0_REQUIRES_EBV_NODE = "V2"
    V3_TIS_REQUIRES_N0_M0 = "V3"
    V4_M_VS_LESION_COUNT = "V4"
    V5_M_NOT_IN_EDITION = "V5"
    V6_STAGE_MISMATCH = "V6"
    V7_N3_EXTENT_UNDOCUMENTED = "V7"
    V8_WRONG_EDITION = "V8"


def validate_staging(data: StagingInput) -> list[Violation]:
    """Validations V1-V8 of §5.4, in that order. Raises ValueError for unknown category codes."""
    codes = StagingViolationCode
    ed = _edition(data.edition)
    t = _category(TCategory, data.t)
    n = _category(NCategory, data.n)
    m = _category(MCategory, data.m)
    found: list[Violation] = []

    if ed is Edition.AJCC9 and data.advanced_ene and n is not NCategory.N3:
        found.append(
            Violation(
                codes.V1_ENE_REQUIRES_N3,
                f"advanced radiologic ENE makes the node N3 in the 9th version, not {n}"
                + (" (N0 cannot have ENE)" if n is NCategory.N0 else ""),
                subject="N",
            )
        )
    if t is TCategory.T0 and (n is NCategory.N0 or data.ebv_positive_node is not True):
        found.append(
            Violation(
                codes.V2_T0_REQUIRES_EBV_NODE,
                "T0 requires involved node(s) (N not N0) that are EBV-positive",
                subject="T",
            )
        )
    if t is TCategory.TIS and (n is not NCategory.N0 or m is not MCategory.M0):
        found.append(
            Violation(codes.V3_TIS_REQUIRES_N0_M0, "Tis is only valid with N0 and M0", subject="T")
        )
    allowed_m = M_CATEGORIES_BY_EDITION[ed]
    if ed is Edition.AJCC9 and data.n_distant_lesions is not None and m in allowed_m:
        expected = m_category_from_lesions(data.n_distant_lesions, ed)
        if expected is not m:
            found.append(
                Violation(
                    codes.V4_M_VS_LESION_COUNT,
                    f"{data.n_distant_lesions} distant lesion(s) means {expected}, not {m}",
                    subject="M",
                )
            )
    if m not in allowed_m:
        hint = ""
        if data.n_distant_lesions is not None and m is not MCategory.MX:
            hint = f"; with {data.n_distant_lesions} distant lesion(s) it must be " + str(
                m_category_from_lesions(data.n_distant_lesions, ed)
            )
        found.append(
            Violation(
                codes.V5_M_NOT_IN_EDITION,
                f"{m} is not an M category of the AJCC {int(ed)} edition "
                f"(allowed: {_join(sorted(allowed_m))}){hint}",
                subject="M",
            )
        )
    if data.entered_stage not in (None, ""):
        derived = derive_stage(t, n, m, ed)
        entered = str(data.entered_stage).strip()
        if derived is None or entered != derived.value:
            has_reason = bool((data.override_reason or "").strip())
            shown = derived.value if derived is not None else "unknown"
            found.append(
                Violation(
                    codes.V6_STAGE_MISMATCH,
                    f"entered stage {entered} differs from derived stage {shown}"
                    + (f"; manual override: {data.override_reason}" if has_reason else ""),
                    Severity.WARNING if has_reason else Severity.ERROR,
                    subject="stage_group",
                )
            )
    supported_by_ene = ed is Edition.AJCC9 and data.advanced_ene
    if (
        n is NCategory.N3
        and not supported_by_ene
        and data.nodal_extent is not NodalExtent.OVER_6CM_OR_BELOW_CRICOID
    ):
        found.append(
            Violation(
                codes.V7_N3_EXTENT_UNDOCUMENTED,
                "N3 needs a node > 6 cm or extension below the cricoid documented"
                + (" (or advanced ENE)" if ed is Edition.AJCC9 else ""),
                Severity.WARNING,
                subject="nodal_extent",
            )
        )
    if data.required_edition is not None and _edition(data.required_edition) is not ed:
        found.append(
            Violation(
                codes.V8_WRONG_EDITION,
                f"the trial criterion requires AJCC edition {int(data.required_edition)}, "
                f"staged with edition {int(ed)}",
                subject="staging_edition",
            )
        )
    return found


def _join(values: Iterable[StrEnum]) -> str:
    return ", ".join(str(v) for v in values)
