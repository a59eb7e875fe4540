"""NPC TNM staging (AJCC/UICC 9th version and 8th edition) against domain spec §5."""

from __future__ import annotations

import pytest

from crf.rules.staging import (
    MCategory,
    NCategory,
    NodalExtent,
    StageGroup,
    StagingInput,
    StagingViolationCode,
    derive_stage,
    m_category_from_lesions,
    n_category_from_nodes,
    stage_derivation,
    validate_staging,
)
from crf.rules.violations import Severity

V = StagingViolationCode
UNKNOWN = None


def codes(data: StagingInput) -> list[str]:
    return [v.code for v in validate_staging(data)]


# --------------------------------------------------------------------------------------------------
# Test vectors S1-S14 (§5.4)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "t", "n", "m9", "m8", "stage9", "stage8"),
    [
        ("S1", "T2", "N1", "M0", "M0", "I", "II"),
        ("S2", "T3", "N1", "M0", "M0", "II", "III"),
        ("S3", "T1", "N2", "M0", "M0", "II", "III"),
        ("S5", "T4", "N0", "M0", "M0", "III", "IVA"),
        ("S6", "T1", "N3", "M0", "M0", "III", "IVA"),
        ("S9", "TX", "N3", "M0", "M0", "III", "IVA"),
        ("S10", "TX", "N1", "M0", "M0", UNKNOWN, UNKNOWN),
        ("S11", "T0", "N1", "M0", "M0", "I", "II"),
        ("S12", "T0", "N0", "M0", "M0", UNKNOWN, UNKNOWN),
    ],
)
def test_stage_vectors(
    vector: str, t: str, n: str, m9: str, m8: str, stage9: str | None, stage8: str | None
) -> None:
    assert derive_stage(t, n, m9, 9) == stage9, vector
    assert derive_stage(t, n, m8, 8) == stage8, vector


def test_s4_advanced_ene_is_n3_in_the_9th_only() -> None:
    n9 = n_category_from_nodes(NodalExtent.UNILATERAL_OR_RPN, advanced_ene=True, edition=9)
    n8 = n_category_from_nodes(NodalExtent.UNILATERAL_OR_RPN, advanced_ene=True, edition=8)
    assert (n9, n8) == (NCategory.N3, NCategory.N1)
    assert derive_stage("T2", n9, "M0", 9) == StageGroup.STAGE_III
    assert derive_stage("T2", n8, "M0", 8) == StageGroup.STAGE_II
    assert V.V1_ENE_REQUIRES_N3 in codes(StagingInput(9, "T2", "N1", "M0", advanced_ene=True))
    assert codes(StagingInput(8, "T2", "N1", "M0", advanced_ene=True)) == []


def test_s6_node_below_cricoid_is_n3_without_extent_warning() -> None:
    n = n_category_from_nodes(NodalExtent.OVER_6CM_OR_BELOW_CRICOID, advanced_ene=False, edition=9)
    assert n is NCategory.N3
    data = StagingInput(9, "T1", n, "M0", nodal_extent=NodalExtent.OVER_6CM_OR_BELOW_CRICOID)
    assert codes(data) == []


@pytest.mark.parametrize(("t", "n"), [("TX", "NX"), ("T1", "N0"), ("T4", "N3"), ("T2", "N2")])
def test_s7_three_distant_lesions(t: str, n: str) -> None:
    m9 = m_category_from_lesions(3, 9)
    m8 = m_category_from_lesions(3, 8)
    assert (m9, m8) == (MCategory.M1A, MCategory.M1)
    assert derive_stage(t, n, m9, 9) == StageGroup.STAGE_IVA
    assert derive_stage(t, n, m8, 8) == StageGroup.STAGE_IVB


@pytest.mark.parametrize(("t", "n"), [("TX", "NX"), ("T1", "N0"), ("T4", "N3")])
def test_s8_four_distant_lesions(t: str, n: str) -> None:
    m9 = m_category_from_lesions(4, 9)
    assert m9 is MCategory.M1B
    assert derive_stage(t, n, m9, 9) == StageGroup.STAGE_IVB
    assert derive_stage(t, n, m_category_from_lesions(4, 8), 8) == StageGroup.STAGE_IVB


def test_s11_t0_with_ebv_positive_node_is_valid() -> None:
    assert codes(StagingInput(9, "T0", "N1", "M0", ebv_positive_node=True)) == []
    assert codes(StagingInput(8, "T0", "N1", "M0", ebv_positive_node=True)) == []


@pytest.mark.parametrize("edition", [9, 8])
def test_s12_t0_n0_is_invalid(edition: int) -> None:
    assert V.V2_T0_REQUIRES_EBV_NODE in codes(
        StagingInput(edition, "T0", "N0", "M0", ebv_positive_node=True)
    )


def test_s13_n0_with_advanced_ene_is_invalid() -> None:
    violations = validate_staging(StagingInput(9, "T2", "N0", "M0", advanced_ene=True))
    assert [v.code for v in violations] == [V.V1_ENE_REQUIRES_N3]
    assert "N0" in violations[0].message


def test_s14_m1_in_the_9th_is_invalid_and_must_be_m1a() -> None:
    violations = validate_staging(StagingInput(9, "T2", "N1", "M1", n_distant_lesions=2))
    assert [v.code for v in violations] == [V.V5_M_NOT_IN_EDITION]
    assert "must be M1a" in violations[0].message
    assert derive_stage("T2", "N1", "M1", 9) is None


# --------------------------------------------------------------------------------------------------
# Full M0 grids against the stage-group table (§5.2)
# --------------------------------------------------------------------------------------------------

T_ROWS = ["T0", "T1", "T2", "T3", "T4"]
N_COLUMNS = ["N0", "N1", "N2", "N3"]
GRID_9TH = {
    "T0": [None, "I", "II", "III"],
    "T1": ["I", "I", "II", "III"],
    "T2": ["I", "I", "II", "III"],
    "T3": ["II", "II", "II", "III"],
    "T4": ["III", "III", "III", "III"],
}
GRID_8TH = {
    "T0": [None, "II", "III", "IVA"],
    "T1": ["I", "II", "III", "IVA"],
    "T2": ["II", "II", "III", "IVA"],
    "T3": ["III", "III", "III", "IVA"],
    "T4": ["IVA", "IVA", "IVA", "IVA"],
}


@pytest.mark.parametrize("t", T_ROWS)
@pytest.mark.parametrize("n", N_COLUMNS)
def test_m0_grid_9th(t: str, n: str) -> None:
    assert derive_stage(t, n, "M0", 9) == GRID_9TH[t][N_COLUMNS.index(n)]


@pytest.mark.parametrize("t", T_ROWS)
@pytest.mark.parametrize("n", N_COLUMNS)
def test_m0_grid_8th(t: str, n: str) -> None:
    assert derive_stage(t, n, "M0", 8) == GRID_8TH[t][N_COLUMNS.index(n)]


@pytest.mark.parametrize("edition", [9, 8])
def test_tis_n0_m0_is_stage_0(edition: int) -> None:
    assert derive_stage("Tis", "N0", "M0", edition) == StageGroup.STAGE_0


@pytest.mark.parametrize(
    ("t", "n", "m", "edition", "expected"),
    [
        ("T4", "NX", "M0", 9, "III"),
        ("T4", "NX", "M0", 8, "IVA"),
        ("T3", "NX", "M0", 9, None),
        ("TX", "N2", "M0", 9, None),
        ("TX", "N2", "M0", 8, None),
        ("T1", "N0", "MX", 9, None),
        ("TX", "NX", "M1b", 9, "IVB"),
        ("TX", "NX", "M1", 8, "IVB"),
        ("T1", "N0", "M1a", 8, None),
    ],
)
def test_unknown_and_decisive_categories(
    t: str, n: str, m: str, edition: int, expected: str | None
) -> None:
    assert derive_stage(t, n, m, edition) == expected


def test_derivation_explains_the_rule() -> None:
    result = stage_derivation("TX", "N3", "M0", 9)
    assert result.stage is StageGroup.STAGE_III
    assert "T4 or N3" in result.reason


def test_unknown_category_codes_are_rejected() -> None:
    with pytest.raises(ValueError):
        derive_stage("T5", "N0", "M0", 9)
    with pytest.raises(ValueError):
        derive_stage("T1", "N0", "M0", 7)


# --------------------------------------------------------------------------------------------------
# M from the distant lesion count
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "edition", "expected"),
    [
        (0, 9, MCategory.M0),
        (1, 9, MCategory.M1A),
        (3, 9, MCategory.M1A),
        (4, 9, MCategory.M1B),
        (12, 9, MCategory.M1B),
        (0, 8, MCategory.M0),
        (1, 8, MCategory.M1),
        (5, 8, MCategory.M1),
    ],
)
def test_m_category_from_lesions(count: int, edition: int, expected: MCategory) -> None:
    assert m_category_from_lesions(count, edition) is expected


def test_innumerable_distant_disease_is_m1b() -> None:
    assert m_category_from_lesions(0, 9, innumerable=True) is MCategory.M1B


def test_negative_lesion_count_is_rejected() -> None:
    with pytest.raises(ValueError):
        m_category_from_lesions(-1, 9)


# --------------------------------------------------------------------------------------------------
# Validations V1-V8 (§5.4)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (StagingInput(9, "T2", "N1", "M0", advanced_ene=True), [V.V1_ENE_REQUIRES_N3]),
        (StagingInput(9, "T2", "N0", "M0", advanced_ene=True), [V.V1_ENE_REQUIRES_N3]),
        (StagingInput(9, "T2", "N3", "M0", advanced_ene=True), []),
        (StagingInput(8, "T2", "N1", "M0", advanced_ene=True), []),
        (StagingInput(9, "T0", "N1", "M0", ebv_positive_node=False), [V.V2_T0_REQUIRES_EBV_NODE]),
        (StagingInput(9, "T0", "N1", "M0"), [V.V2_T0_REQUIRES_EBV_NODE]),
        (StagingInput(9, "T0", "N1", "M0", ebv_positive_node=True), []),
        (StagingInput(9, "Tis", "N1", "M0"), [V.V3_TIS_REQUIRES_N0_M0]),
        (StagingInput(9, "Tis", "N0", "M1a", n_distant_lesions=1), [V.V3_TIS_REQUIRES_N0_M0]),
        (StagingInput(9, "Tis", "N0", "M0"), []),
        (StagingInput(9, "T2", "N1", "M1a", n_distant_lesions=4), [V.V4_M_VS_LESION_COUNT]),
        (StagingInput(9, "T2", "N1", "M0", n_distant_lesions=1), [V.V4_M_VS_LESION_COUNT]),
        (StagingInput(9, "T2", "N1", "M1b", n_distant_lesions=3), [V.V4_M_VS_LESION_COUNT]),
        (StagingInput(9, "T2", "N1", "M1a", n_distant_lesions=3), []),
        (StagingInput(9, "T2", "N1", "M1b", n_distant_lesions=4), []),
        (StagingInput(9, "T2", "N1", "M0", n_distant_lesions=0), []),
        (StagingInput(8, "T2", "N1", "M1a"), [V.V5_M_NOT_IN_EDITION]),
        (StagingInput(9, "T2", "N1", "M1"), [V.V5_M_NOT_IN_EDITION]),
        (StagingInput(8, "T2", "N1", "M1"), []),
        (StagingInput(9, "T2", "N1", "M0", entered_stage="II"), [V.V6_STAGE_MISMATCH]),
        (StagingInput(9, "T2", "N1", "M0", entered_stage="I"), []),
        (StagingInput(9, "TX", "N1", "M0", entered_stage="I"), [V.V6_STAGE_MISMATCH]),
        (
            StagingInput(9, "T1", "N3", "M0", nodal_extent=NodalExtent.BILATERAL),
            [V.V7_N3_EXTENT_UNDOCUMENTED],
        ),
        (StagingInput(9, "T1", "N3", "M0"), [V.V7_N3_EXTENT_UNDOCUMENTED]),
        (StagingInput(8, "T1", "N3", "M0", advanced_ene=True), [V.V7_N3_EXTENT_UNDOCUMENTED]),
        (StagingInput(9, "T1", "N3", "M0", advanced_ene=True), []),
        (StagingInput(9, "T1", "N2", "M1a", n_distant_lesions=2, required_edition=9), []),
        (StagingInput(8, "T1", "N2", "M1", required_edition=9), [V.V8_WRONG_EDITION]),
    ],
)
def test_validations(data: StagingInput, expected: list[str]) -> None:
    assert codes(data) == expected


def test_v6_manual_override_with_reason_is_a_warning() -> None:
    without_reason = validate_staging(StagingInput(9, "T2", "N1", "M0", entered_stage="II"))
    blank_reason = validate_staging(
        StagingInput(9, "T2", "N1", "M0", entered_stage="II", override_reason="   ")
    )
    with_reason = validate_staging(
        StagingInput(
            9, "T2", "N1", "M0", entered_stage="II", override_reason="tumour board consensus"
        )
    )
    assert [v.severity for v in without_reason] == [Severity.ERROR]
    assert [v.severity for v in blank_reason] == [Severity.ERROR]
    assert [v.severity for v in with_reason] == [Severity.WARNING]
    assert "tumour board consensus" in with_reason[0].message


def test_v7_is_a_warning_and_v8_an_error() -> None:
    (v7,) = validate_staging(StagingInput(9, "T1", "N3", "M0"))
    (v8,) = validate_staging(StagingInput(8, "T1", "N2", "M1", required_edition=9))
    assert v7.severity is Severity.WARNING
    assert v8.severity is Severity.ERROR


def test_trial_criterion_m1a_or_m1b_is_read_from_m_not_the_stage_label() -> None:
    # T-RTV "TanyNanyM1, stage IVB (AJCC 9th)": 2 lesions give M1a / IVA and still qualify on M.
    m = m_category_from_lesions(2, 9)
    assert m in {MCategory.M1A, MCategory.M1B}
    assert derive_stage("T3", "N2", m, 9) == StageGroup.STAGE_IVA
