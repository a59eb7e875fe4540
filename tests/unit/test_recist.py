"""RECIST 1.1 calculator against domain spec §2 (worked example B1, scenario S-A, vectors R5-R12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from crf.rules.recist import (
    Assessment,
    Baseline,
    BaselineLesion,
    BaselineViolationCode,
    DiseaseStatus,
    LesionCategory,
    Modality,
    NewLesion,
    NewLesionCertainty,
    NewLesionFinding,
    NonTargetObservation,
    NonTargetStatus,
    OverallAtDate,
    ProgressionClass,
    RecistParameters,
    Response,
    ReviewFlag,
    SiteCode,
    TargetMeasurement,
    best_overall_response,
    classify_lesion,
    classify_progression,
    combine_overall,
    days_to_months,
    evaluate_series,
    evaluate_timepoint,
    is_disease_control,
    is_objective_response,
    meets_pd,
    meets_pr,
    mm,
    percent_change,
    pfs_days,
    propose_targets,
    validate_baseline,
)

RANDOMIZATION = date(2026, 3, 2)
MODE_A = RecistParameters(confirmation_required=False)
MODE_B = RecistParameters(confirmation_required=True)
PRESENT = NonTargetStatus.PRESENT
ABSENT = NonTargetStatus.ABSENT
UNEQUIVOCAL = NonTargetStatus.UNEQUIVOCAL_PROGRESSION
NT_NE = NonTargetStatus.NOT_EVALUATED


def day(n: int) -> date:
    return RANDOMIZATION + timedelta(days=n)


# --------------------------------------------------------------------------------------------------
# Worked baseline example B1 (§2.2)
# --------------------------------------------------------------------------------------------------

B1_TARGETS = ("L1", "L2", "L4", "N2", "N1")
B1_NON_TARGETS = ("L3", "L5", "N3", "B1")


def b1_lesions(targets: tuple[str, ...] = ()) -> tuple[BaselineLesion, ...]:
    rows = [
        ("L1", "liver", SiteCode.LIVER, False, "32"),
        ("L2", "liver", SiteCode.LIVER, False, "25"),
        ("L3", "liver", SiteCode.LIVER, False, "18"),
        ("L4", "lung", SiteCode.LUNG, False, "12"),
        ("L5", "lung", SiteCode.LUNG, False, "8"),
        ("N1", "retropharyngeal node", SiteCode.RPN, True, "16"),
        ("N2", "cervical level II node", SiteCode.CN, True, "22"),
        ("N3", "cervical level III node", SiteCode.CN, True, "12"),
        ("N4", "cervical level IV node", SiteCode.CN, True, "8"),
    ]
    lesions = [
        BaselineLesion(lid, organ, site, is_node, mm(size), is_target=lid in targets)
        for lid, organ, site, is_node, size in rows
    ]
    lesions.append(
        BaselineLesion("B1", "T10 vertebra", SiteCode.BONE, False, None, non_measurable_type=True)
    )
    return tuple(lesions)


def b1_baseline() -> Baseline:
    return Baseline(date(2026, 2, 20), b1_lesions(B1_TARGETS), treatment_start=RANDOMIZATION)


@pytest.mark.parametrize(
    ("lesion_id", "decision"),
    [
        ("L1", "target"),
        ("L2", "target"),
        ("L3", "non-target"),
        ("L4", "target"),
        ("L5", "non-target"),
        ("N1", "target"),
        ("N2", "target"),
        ("N3", "non-target"),
        ("N4", "normal"),
        ("B1", "non-target"),
    ],
)
def test_b1_proposal_matches_the_worked_example(lesion_id: str, decision: str) -> None:
    proposal = propose_targets(b1_lesions())
    actual = (
        "target"
        if lesion_id in proposal.target_ids
        else "normal"
        if lesion_id in proposal.not_disease_ids
        else "non-target"
        if lesion_id in proposal.non_target_ids
        else "missing"
    )
    assert actual == decision


def test_b1_proposal_has_five_targets_and_sod_107_mm() -> None:
    proposal = propose_targets(b1_lesions())
    assert set(proposal.target_ids) == set(B1_TARGETS)
    assert len(proposal.target_ids) == 5
    assert proposal.sum_tenths == mm(32 + 25 + 12 + 22 + 16)
    assert proposal.derivation[-1].endswith("= 107 mm")
    assert any("L3" in line and "2 targets in liver" in line for line in proposal.derivation)


def test_b1_selected_baseline_is_valid_with_sod_107_and_measurable_disease() -> None:
    baseline = b1_baseline()
    assert validate_baseline(baseline) == []
    assert baseline.sum_tenths == 1070
    assert baseline.disease is DiseaseStatus.MEASURABLE
    assert {lesion.lesion_id for lesion in baseline.non_targets} == set(B1_NON_TARGETS)


def test_proposal_stops_at_five_targets_largest_first() -> None:
    organs = ["liver", "lung", "adrenal", "spleen", "kidney", "pancreas", "peritoneum"]
    lesions = [
        BaselineLesion(f"X{i}", organ, SiteCode.OTHER, False, mm(11 + i))
        for i, organ in enumerate(organs)
    ]
    proposal = propose_targets(lesions)
    assert proposal.target_ids == ("X6", "X5", "X4", "X3", "X2")
    assert proposal.non_target_ids == ("X0", "X1")


def test_proposal_treats_all_nodes_as_one_organ() -> None:
    lesions = [
        BaselineLesion("N1", "neck", SiteCode.CN, True, mm(30)),
        BaselineLesion("N2", "mediastinum", SiteCode.DN, True, mm(25)),
        BaselineLesion("N3", "axilla", SiteCode.DN, True, mm(20)),
    ]
    assert propose_targets(lesions).target_ids == ("N1", "N2")


def test_proposal_prefers_non_cystic_lesions() -> None:
    lesions = [
        BaselineLesion("C1", "liver", SiteCode.LIVER, False, mm(40), cystic=True),
        BaselineLesion("S1", "liver", SiteCode.LIVER, False, mm(20)),
        BaselineLesion("S2", "liver", SiteCode.LIVER, False, mm(15)),
    ]
    assert propose_targets(lesions).target_ids == ("S1", "S2")


# --------------------------------------------------------------------------------------------------
# Lesion classification (§2.1)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_node", "size", "modality", "slice_mm", "extra", "expected"),
    [
        (False, "10", Modality.CT_MRI, None, {}, LesionCategory.MEASURABLE),
        (False, "9.9", Modality.CT_MRI, None, {}, LesionCategory.NON_MEASURABLE),
        (False, "10", Modality.CT_MRI, "5", {}, LesionCategory.MEASURABLE),
        (False, "11.9", Modality.CT_MRI, "6", {}, LesionCategory.NON_MEASURABLE),
        (False, "12", Modality.CT_MRI, "6", {}, LesionCategory.MEASURABLE),
        (False, "10", Modality.CALLIPER, None, {}, LesionCategory.MEASURABLE),
        (False, "19.9", Modality.CHEST_XRAY, None, {}, LesionCategory.NON_MEASURABLE),
        (False, "20", Modality.CHEST_XRAY, None, {}, LesionCategory.MEASURABLE),
        (True, "15", Modality.CT_MRI, None, {}, LesionCategory.MEASURABLE),
        (True, "14.9", Modality.CT_MRI, None, {}, LesionCategory.NON_MEASURABLE),
        (True, "10", Modality.CT_MRI, None, {}, LesionCategory.NON_MEASURABLE),
        (True, "9.9", Modality.CT_MRI, None, {}, LesionCategory.NORMAL_NODE),
        (
            False,
            "30",
            Modality.CT_MRI,
            None,
            {"non_measurable_type": True},
            LesionCategory.NON_MEASURABLE,
        ),
        (
            False,
            "30",
            Modality.CT_MRI,
            None,
            {"previously_irradiated": True},
            LesionCategory.NON_MEASURABLE,
        ),
        (
            False,
            "30",
            Modality.CT_MRI,
            None,
            {"previously_irradiated": True, "progressed_after_irradiation": True},
            LesionCategory.MEASURABLE,
        ),
        (False, None, Modality.CT_MRI, None, {}, LesionCategory.NON_MEASURABLE),
    ],
)
def test_lesion_classification(
    is_node: bool,
    size: str | None,
    modality: Modality,
    slice_mm: str | None,
    extra: dict[str, bool],
    expected: LesionCategory,
) -> None:
    lesion = BaselineLesion(
        "X",
        "organ",
        SiteCode.OTHER,
        is_node,
        mm(size) if size is not None else None,
        modality=modality,
        slice_thickness_tenths=mm(slice_mm) if slice_mm else None,
        **extra,
    )
    assert classify_lesion(lesion).category is expected


# --------------------------------------------------------------------------------------------------
# Target selection validation (§2.2)
# --------------------------------------------------------------------------------------------------


def _codes(baseline: Baseline) -> list[str]:
    return [v.code for v in validate_baseline(baseline)]


def _with(
    lesions: tuple[BaselineLesion, ...], **overrides: dict[str, object]
) -> tuple[BaselineLesion, ...]:
    return tuple(replace(lesion, **overrides.get(lesion.lesion_id, {})) for lesion in lesions)


def test_more_than_five_targets_is_an_error() -> None:
    lesions = [
        BaselineLesion(f"X{i}", f"organ{i}", SiteCode.OTHER, False, mm(20), is_target=True)
        for i in range(6)
    ]
    baseline = Baseline(RANDOMIZATION, tuple(lesions))
    assert _codes(baseline) == [BaselineViolationCode.TOO_MANY_TARGETS]


def test_third_target_in_one_organ_is_an_error() -> None:
    lesions = _with(b1_lesions(B1_TARGETS[:3]), L3={"is_target": True})
    assert _codes(Baseline(RANDOMIZATION, lesions)) == [
        BaselineViolationCode.TOO_MANY_TARGETS_IN_ORGAN
    ]


def test_three_nodal_targets_in_different_regions_exceed_the_per_organ_limit() -> None:
    lesions = (
        BaselineLesion("N1", "neck", SiteCode.CN, True, mm(30), is_target=True),
        BaselineLesion("N2", "mediastinum", SiteCode.DN, True, mm(25), is_target=True),
        BaselineLesion("N3", "axilla", SiteCode.DN, True, mm(20), is_target=True),
    )
    violations = validate_baseline(Baseline(RANDOMIZATION, lesions))
    assert [v.code for v in violations] == [BaselineViolationCode.TOO_MANY_TARGETS_IN_ORGAN]
    assert violations[0].subject == "lymph nodes"


def test_nodal_target_below_15_mm_is_an_error() -> None:
    lesions = b1_lesions(("L1", "N3"))
    assert _codes(Baseline(RANDOMIZATION, lesions)) == [
        BaselineViolationCode.NODAL_TARGET_TOO_SMALL
    ]


def test_non_nodal_target_below_10_mm_is_an_error() -> None:
    lesions = b1_lesions(("L1", "L5"))
    assert _codes(Baseline(RANDOMIZATION, lesions)) == [
        BaselineViolationCode.NON_NODAL_TARGET_TOO_SMALL
    ]


def test_non_nodal_target_below_twice_a_thick_slice_is_an_error() -> None:
    lesion = BaselineLesion(
        "L1", "liver", SiteCode.LIVER, False, mm(15), is_target=True, slice_thickness_tenths=mm(8)
    )
    violations = validate_baseline(Baseline(RANDOMIZATION, (lesion,)))
    assert [v.code for v in violations] == [BaselineViolationCode.NON_NODAL_TARGET_TOO_SMALL]
    assert "16 mm" in violations[0].message


def test_target_without_measurement_is_an_error() -> None:
    lesion = BaselineLesion("L1", "liver", SiteCode.LIVER, False, None, is_target=True)
    assert _codes(Baseline(RANDOMIZATION, (lesion,))) == [
        BaselineViolationCode.TARGET_WITHOUT_MEASUREMENT
    ]


def test_irradiated_target_without_progression_is_an_error() -> None:
    lesion = BaselineLesion(
        "P1", "nasopharynx", SiteCode.NP, False, mm(25), is_target=True, previously_irradiated=True
    )
    assert _codes(Baseline(RANDOMIZATION, (lesion,))) == [
        BaselineViolationCode.TARGET_NOT_MEASURABLE
    ]


@pytest.mark.parametrize(
    ("days_before_start", "valid"),
    [(-1, False), (0, True), (28, True), (29, False)],
)
def test_baseline_scan_window(days_before_start: int, valid: bool) -> None:
    baseline = Baseline(
        RANDOMIZATION - timedelta(days=days_before_start),
        b1_lesions(B1_TARGETS),
        treatment_start=RANDOMIZATION,
    )
    expected = [] if valid else [BaselineViolationCode.BASELINE_SCAN_OUTSIDE_WINDOW]
    assert _codes(baseline) == expected


def test_scan_window_checks_each_lesion_scan_date() -> None:
    lesions = _with(b1_lesions(B1_TARGETS), L1={"scan_date": RANDOMIZATION - timedelta(days=40)})
    baseline = Baseline(RANDOMIZATION - timedelta(days=3), lesions, treatment_start=RANDOMIZATION)
    assert _codes(baseline) == [BaselineViolationCode.BASELINE_SCAN_OUTSIDE_WINDOW]


# --------------------------------------------------------------------------------------------------
# Exact sizes
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tenths"),
    [(32, 320), ("32.2", 322), (Decimal("32.2"), 322), (Fraction(161, 5), 322), ("0", 0)],
)
def test_mm_converts_exactly_to_tenths(value: object, tenths: int) -> None:
    assert mm(value) == tenths  # type: ignore[arg-type]


def test_mm_rejects_floats_sub_tenth_precision_and_negatives() -> None:
    with pytest.raises(TypeError):
        mm(32.2)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mm("32.25")
    with pytest.raises(ValueError):
        mm("-1")


# --------------------------------------------------------------------------------------------------
# Scenario S-A (§2.11): R1-R4 with baseline B1
# --------------------------------------------------------------------------------------------------

SA_ROWS = [
    # id, date, L1, L2, L4, N2, N1, SoD, vs B %, nadir before, vs nadir %, target, overall
    ("R1", date(2026, 4, 13), 20, 15, 8, 12, 9, 64, "-40.2", 107, None, Response.PR, Response.PR),
    ("R2", date(2026, 5, 25), 14, 10, 0, 9, 8, 41, "-61.7", 64, "-35.9", Response.PR, Response.PR),
    ("R3", date(2026, 7, 6), 18, 14, 0, 9, 8, 49, "-54.2", 41, "19.5", Response.PR, Response.PR),
    ("R4", date(2026, 8, 17), 20, 14, 0, 9, 8, 51, "-52.3", 41, "24.4", Response.PD, Response.PD),
]


def sa_assessment(
    assessment_id: str,
    when: date,
    sizes: tuple[int, ...],
    new_lesions: tuple[NewLesion, ...] = (),
) -> Assessment:
    return Assessment(
        assessment_id,
        when,
        targets=tuple(
            TargetMeasurement(lid, mm(s)) for lid, s in zip(B1_TARGETS, sizes, strict=True)
        ),
        non_targets=tuple(NonTargetObservation(lid, PRESENT) for lid in B1_NON_TARGETS),
        new_lesions=new_lesions,
    )


def sa_assessments() -> list[Assessment]:
    return [sa_assessment(row[0], row[1], row[2:7]) for row in SA_ROWS]


@pytest.mark.parametrize(
    (
        "aid",
        "when",
        "l1",
        "l2",
        "l4",
        "n2",
        "n1",
        "sod",
        "vs_b",
        "nadir",
        "vs_nadir",
        "target",
        "overall",
    ),
    SA_ROWS,
)
def test_scenario_sa_rows(
    aid: str,
    when: date,
    l1: int,
    l2: int,
    l4: int,
    n2: int,
    n1: int,
    sod: int,
    vs_b: str,
    nadir: int,
    vs_nadir: str | None,
    target: Response,
    overall: Response,
) -> None:
    result = evaluate_series(b1_baseline(), sa_assessments(), MODE_A)
    tp = next(t for t in result.timepoints if t.assessment_id == aid)
    assert (l1 + l2 + l4 + n2 + n1) == sod
    assert tp.sum_tenths == mm(sod)
    assert tp.nadir_tenths == mm(nadir)
    assert percent_change(tp.sum_tenths, tp.baseline_sum_tenths or 0) == Decimal(vs_b)
    if vs_nadir is not None:
        assert percent_change(tp.sum_tenths, tp.nadir_tenths) == Decimal(vs_nadir)
    assert tp.non_target is Response.NON_CR_NON_PD
    assert tp.new_lesions is NewLesionFinding.NONE
    assert tp.target is target
    assert tp.overall is overall
    assert tp.response_date == when


def test_scenario_sa_series_outcome() -> None:
    result = evaluate_series(b1_baseline(), sa_assessments(), MODE_A)
    assert result.bor is Response.PR
    assert result.pd_date == date(2026, 8, 17)
    assert result.pd_assessment_id == "R4"
    assert result.pfs_days == 169
    assert days_to_months(169) == Decimal("5.55")
    assert result.progression_sites == frozenset({SiteCode.LIVER})
    assert result.progression_class is ProgressionClass.DISTANT_ONLY


def test_scenario_sa_bor_is_pr_with_confirmation_by_r2() -> None:
    result = evaluate_series(b1_baseline(), sa_assessments(), MODE_B)
    assert result.bor is Response.PR
    assert "R1" in result.bor_derivation[0] and "R2" in result.bor_derivation[0]


def test_scenario_sa_derivations_explain_the_numbers() -> None:
    result = evaluate_series(b1_baseline(), sa_assessments(), MODE_A)
    r3, r4 = result.timepoints[2], result.timepoints[3]
    assert "SoD 51 mm vs nadir (R2) 41 mm: +10.0 mm, +24.4% ⇒ PD" in r4.derivation_text
    assert "SoD 49 mm vs nadir (R2) 41 mm: +8.0 mm, +19.5%: not PD" in r3.derivation_text
    assert "-54.2% ⇒ PR" in r3.derivation_text
    assert all(tp.derivation for tp in result.timepoints)
    assert result.bor_derivation


def test_target_growth_vs_nadir_assessment_decides_the_site() -> None:
    # The liver target shrinks while the neck node regrows: only the node grew since the nadir.
    baseline = Baseline(
        date(2026, 2, 27),
        (
            BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(30), is_target=True),
            BaselineLesion("N2", "neck node", SiteCode.CN, True, mm(20), is_target=True),
        ),
        treatment_start=RANDOMIZATION,
    )
    assessments = [
        Assessment(
            "T1",
            day(42),
            targets=(TargetMeasurement("L1", mm(10)), TargetMeasurement("N2", mm(10))),
        ),
        Assessment(
            "T2", day(84), targets=(TargetMeasurement("L1", mm(8)), TargetMeasurement("N2", mm(20)))
        ),
    ]
    result = evaluate_series(baseline, assessments)
    assert result.timepoints[1].target is Response.PD
    assert result.progression_sites == frozenset({SiteCode.CN})
    assert result.progression_class is ProgressionClass.LOCOREGIONAL_ONLY


def test_equal_sums_take_the_most_recent_assessment_as_the_nadir_reference() -> None:
    baseline = Baseline(
        date(2026, 2, 27),
        (
            BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(30), is_target=True),
            BaselineLesion("N2", "neck node", SiteCode.CN, True, mm(20), is_target=True),
        ),
        treatment_start=RANDOMIZATION,
    )
    assessments = [
        Assessment(
            "T1",
            day(42),
            targets=(TargetMeasurement("L1", mm(35)), TargetMeasurement("N2", mm(15))),
        ),
        Assessment(
            "T2",
            day(84),
            targets=(TargetMeasurement("L1", mm(40)), TargetMeasurement("N2", mm(20))),
        ),
    ]
    result = evaluate_series(baseline, assessments)
    # SoD 50 at baseline and T1; vs T1 both lesions grew (vs baseline only the liver one did).
    assert result.timepoints[1].target is Response.PD
    assert "nadir (T1)" in result.timepoints[1].derivation_text
    assert result.progression_class is ProgressionClass.BOTH


# --------------------------------------------------------------------------------------------------
# Boundary vectors R5-R12 (§2.11)
# --------------------------------------------------------------------------------------------------


def single_target_response(baseline_mm: str, nadir_mm: str | None, current_mm: str) -> Response:
    lesion = BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(baseline_mm), is_target=True)
    baseline = Baseline(date(2026, 2, 27), (lesion,), treatment_start=RANDOMIZATION)
    assessments = []
    if nadir_mm is not None:
        assessments.append(
            Assessment("N", day(42), targets=(TargetMeasurement("L1", mm(nadir_mm)),))
        )
    assessments.append(Assessment("S", day(84), targets=(TargetMeasurement("L1", mm(current_mm)),)))
    result = evaluate_series(baseline, assessments)
    return result.timepoints[-1].target


@pytest.mark.parametrize(
    ("vector", "baseline_mm", "nadir_mm", "current_mm", "expected"),
    [
        ("R5", "50", None, "35", Response.PR),
        ("R6", "50", None, "36", Response.SD),
        ("R7", "25", None, "30", Response.PD),
        ("R8", "24.0", None, "28.8", Response.SD),
        ("R9", "20", "15", "19", Response.SD),
        ("R10", "100", "60", "72", Response.PD),
        ("R11", "46.0", None, "32.2", Response.PR),
        ("R12", "32.0", None, "38.4", Response.PD),
    ],
)
def test_boundary_vectors(
    vector: str, baseline_mm: str, nadir_mm: str | None, current_mm: str, expected: Response
) -> None:
    # Without a separate nadir the baseline is the nadir (R7, R8, R12 give only N).
    assert single_target_response(baseline_mm, nadir_mm, current_mm) is expected, vector


@pytest.mark.parametrize(
    ("b", "s", "expected"),
    [("50", "35", True), ("50", "36", False), ("46.0", "32.2", True), ("46.0", "32.3", False)],
)
def test_pr_threshold_is_inclusive_and_exact(b: str, s: str, expected: bool) -> None:
    assert meets_pr(mm(s), mm(b)) is expected


@pytest.mark.parametrize(
    ("n", "s", "expected"),
    [
        ("25", "30", True),
        ("25", "29.9", False),
        ("24.0", "28.8", False),
        ("32.0", "38.4", True),
        ("32.0", "38.3", False),
        ("0", "5", True),
        ("0", "4.9", False),
    ],
)
def test_pd_threshold_needs_both_bounds_inclusive(n: str, s: str, expected: bool) -> None:
    assert meets_pd(mm(s), mm(n)) is expected


def test_r11_naive_float_percentage_misses_the_pr_boundary() -> None:
    naive_percent = (32.2 - 46.0) / 46.0 * 100
    assert naive_percent == -29.999999999999993
    assert not naive_percent <= -30  # the naive code would say SD
    assert single_target_response("46.0", None, "32.2") is Response.PR


def test_r12_naive_float_percentage_misses_the_pd_boundary() -> None:
    naive_percent = (38.4 - 32.0) / 32.0 * 100
    assert naive_percent == 19.999999999999996
    assert not naive_percent >= 20  # the naive code would say SD
    assert single_target_response("32.0", None, "38.4") is Response.PD


# --------------------------------------------------------------------------------------------------
# Follow-up measurement rules and NE handling (§2.3, §2.4)
# --------------------------------------------------------------------------------------------------


def test_not_evaluated_target_makes_target_and_overall_ne_and_is_not_zero() -> None:
    sizes = dict(zip(B1_TARGETS, (20, 15, 8, 12, 9), strict=True))
    targets = tuple(
        TargetMeasurement.not_evaluated(lid) if lid == "L4" else TargetMeasurement(lid, mm(s))
        for lid, s in sizes.items()
    )
    assessment = Assessment(
        "R1", day(42), targets, tuple(NonTargetObservation(lid, PRESENT) for lid in B1_NON_TARGETS)
    )
    tp = evaluate_timepoint(b1_baseline(), assessment)
    # 56 mm evaluated-only would be PR (-47.7 %) if NE were read as 0: it must not be.
    assert tp.target is Response.NE
    assert tp.overall is Response.NE
    assert tp.sum_tenths is None
    assert not tp.fully_evaluated
    assert "evaluated-only sum 56 mm" in tp.derivation_text


def test_missing_target_observation_counts_as_not_evaluated() -> None:
    assessment = Assessment(
        "R1",
        day(42),
        tuple(TargetMeasurement(lid, mm(5)) for lid in B1_TARGETS[:4]),
        tuple(NonTargetObservation(lid, PRESENT) for lid in B1_NON_TARGETS),
    )
    assert evaluate_timepoint(b1_baseline(), assessment).target is Response.NE


def test_ne_assessment_does_not_update_the_nadir() -> None:
    baseline = b1_baseline()
    r1 = sa_assessment("R1", day(42), (20, 15, 8, 12, 9))  # SoD 64
    r2 = Assessment(
        "R2",
        day(84),
        (
            TargetMeasurement.not_evaluated("L1"),
            *(TargetMeasurement(lid, mm(5)) for lid in B1_TARGETS[1:]),
        ),
        tuple(NonTargetObservation(lid, PRESENT) for lid in B1_NON_TARGETS),
    )  # evaluated-only 20 mm
    r3 = sa_assessment("R3", day(126), (22, 16, 8, 14, 10))  # SoD 70: +6 mm, +9.4 % vs 64
    result = evaluate_series(baseline, [r1, r2, r3])
    assert [tp.overall for tp in result.timepoints] == [Response.PR, Response.NE, Response.PR]
    assert result.timepoints[2].nadir_tenths == mm(64)


def test_evaluated_targets_alone_can_show_pd() -> None:
    baseline = b1_baseline()
    r1 = sa_assessment("R1", day(42), (20, 15, 8, 12, 9))  # nadir 64
    r2 = Assessment(
        "R2",
        day(84),
        (
            TargetMeasurement("L1", mm(60)),
            TargetMeasurement("L2", mm(15)),
            TargetMeasurement.not_evaluated("L4"),
            TargetMeasurement("N2", mm(12)),
            TargetMeasurement("N1", mm(9)),
        ),
        tuple(NonTargetObservation(lid, PRESENT) for lid in B1_NON_TARGETS),
    )  # evaluated-only 96 mm vs nadir 64: +32 mm, +50 %
    result = evaluate_series(baseline, [r1, r2])
    tp = result.timepoints[1]
    assert tp.target is Response.PD
    assert tp.overall is Response.PD
    assert ReviewFlag.PD_ON_EVALUATED_TARGETS_ONLY in tp.flags
    assert tp.progression_sites == frozenset({SiteCode.LIVER})


def test_too_small_to_measure_counts_as_5_mm_and_prevents_cr() -> None:
    baseline = Baseline(
        date(2026, 2, 27),
        (BaselineLesion("L1", "lung", SiteCode.LUNG, False, mm(12), is_target=True),),
        treatment_start=RANDOMIZATION,
    )
    tp = evaluate_timepoint(
        baseline, Assessment("T1", day(42), (TargetMeasurement.too_small("L1"),))
    )
    assert tp.sum_tenths == 50
    assert tp.target is Response.PR
    assert "counted as 5 mm" in tp.derivation_text


def test_split_lesion_sums_its_fragments() -> None:
    measurement = TargetMeasurement.from_fragments("L1", (mm(12), mm("7.5")))
    assert measurement.effective_tenths == 195


def nodal_baseline() -> Baseline:
    return Baseline(
        date(2026, 2, 27),
        (
            BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(20), is_target=True),
            BaselineLesion("N2", "neck node", SiteCode.CN, True, mm(22), is_target=True),
        ),
        treatment_start=RANDOMIZATION,
    )


def nodal_assessment(aid: str, when: date, l1: str, n2: str) -> Assessment:
    return Assessment(aid, when, (TargetMeasurement("L1", mm(l1)), TargetMeasurement("N2", mm(n2))))


def test_cr_with_node_below_10_mm_keeps_its_sa_in_the_sod() -> None:
    tp = evaluate_timepoint(nodal_baseline(), nodal_assessment("T1", day(42), "0", "9"))
    assert tp.target is Response.CR
    assert tp.overall is Response.CR
    assert tp.sum_tenths == 90


def test_node_of_exactly_10_mm_is_not_cr() -> None:
    tp = evaluate_timepoint(nodal_baseline(), nodal_assessment("T1", day(42), "0", "10"))
    assert tp.target is Response.PR


def test_cr_takes_precedence_over_pd_arithmetic_of_nodes_below_10_mm() -> None:
    result = evaluate_series(
        nodal_baseline(),
        [nodal_assessment("T1", day(42), "0", "4"), nodal_assessment("T2", day(84), "0", "9")],
    )
    tp = result.timepoints[1]
    assert meets_pd(90, 40)
    assert tp.target is Response.CR
    assert tp.overall is Response.CR
    assert ReviewFlag.NODAL_GROWTH_BELOW_10MM in tp.flags


# --------------------------------------------------------------------------------------------------
# Non-target and new lesions (§2.5)
# --------------------------------------------------------------------------------------------------


def nt_only_baseline() -> Baseline:
    return Baseline(
        date(2026, 2, 27),
        (
            BaselineLesion("N3", "neck node", SiteCode.CN, True, mm(12)),
            BaselineLesion("B1", "spine", SiteCode.BONE, False, None, non_measurable_type=True),
        ),
        treatment_start=RANDOMIZATION,
    )


@pytest.mark.parametrize(
    ("n3", "b1", "markers_normal", "expected"),
    [
        (ABSENT, ABSENT, None, Response.CR),
        (ABSENT, ABSENT, True, Response.CR),
        (ABSENT, ABSENT, False, Response.NON_CR_NON_PD),
        (PRESENT, ABSENT, None, Response.NON_CR_NON_PD),
        (NT_NE, ABSENT, None, Response.NE),
        (NT_NE, PRESENT, None, Response.NE),
        (UNEQUIVOCAL, NT_NE, None, Response.PD),
        (None, ABSENT, None, Response.NE),
    ],
)
def test_non_target_response(
    n3: NonTargetStatus | None,
    b1: NonTargetStatus,
    markers_normal: bool | None,
    expected: Response,
) -> None:
    observations = [NonTargetObservation("B1", b1)]
    if n3 is not None:
        observations.append(NonTargetObservation("N3", n3))
    assessment = Assessment(
        "T1", day(42), non_targets=tuple(observations), tumour_markers_normal=markers_normal
    )
    tp = evaluate_timepoint(nt_only_baseline(), assessment)
    assert tp.non_target is expected
    assert tp.target is Response.NA
    assert tp.overall is expected  # table 2: overall follows the non-target response


def test_non_target_is_na_without_baseline_non_targets() -> None:
    tp = evaluate_timepoint(nodal_baseline(), nodal_assessment("T1", day(42), "0", "5"))
    assert tp.non_target is Response.NA
    assert tp.overall is Response.CR


@pytest.mark.parametrize(
    ("certainty", "expected_finding", "expected_overall"),
    [
        (None, NewLesionFinding.NONE, Response.PR),
        (NewLesionCertainty.EQUIVOCAL, NewLesionFinding.EQUIVOCAL, Response.PR),
        (NewLesionCertainty.UNEQUIVOCAL, NewLesionFinding.UNEQUIVOCAL, Response.PD),
    ],
)
def test_only_unequivocal_new_lesions_are_pd(
    certainty: NewLesionCertainty | None,
    expected_finding: NewLesionFinding,
    expected_overall: Response,
) -> None:
    new = () if certainty is None else (NewLesion("NL1", SiteCode.BONE, certainty),)
    tp = evaluate_timepoint(b1_baseline(), sa_assessment("R1", day(42), (20, 15, 8, 12, 9), new))
    assert tp.new_lesions is expected_finding
    assert tp.overall is expected_overall


def test_equivocal_new_lesion_confirmed_later_dates_pd_back_to_first_scan() -> None:
    equivocal = NewLesion("NL1", SiteCode.BONE, NewLesionCertainty.EQUIVOCAL)
    confirmed = NewLesion("NL1", SiteCode.BONE, NewLesionCertainty.UNEQUIVOCAL)
    assessments = [
        sa_assessment("R1", date(2026, 4, 13), (20, 15, 8, 12, 9)),
        sa_assessment("R2", date(2026, 5, 25), (14, 10, 0, 9, 8), (equivocal,)),
        sa_assessment("R3", date(2026, 7, 6), (14, 10, 0, 9, 8), (confirmed,)),
    ]
    result = evaluate_series(b1_baseline(), assessments, MODE_A)
    r2 = result.timepoints[1]
    assert r2.overall is Response.PD
    assert r2.superseded_overall is Response.PR
    assert ReviewFlag.RETRO_PD_CONFIRMED_NEW_LESION in r2.flags
    assert result.pd_date == date(2026, 5, 25)
    assert result.pd_assessment_id == "R2"
    assert result.pfs_days == (date(2026, 5, 25) - RANDOMIZATION).days + 1
    assert result.progression_class is ProgressionClass.DISTANT_ONLY
    assert result.bor is Response.PR
    # With confirmation required, R1's PR has no confirming assessment before the (retro) PD.
    assert evaluate_series(b1_baseline(), assessments, MODE_B).bor is Response.SD


def test_equivocal_new_lesion_never_confirmed_stays_non_pd() -> None:
    equivocal = NewLesion("NL1", SiteCode.BONE, NewLesionCertainty.EQUIVOCAL)
    assessments = [
        sa_assessment("R1", date(2026, 4, 13), (20, 15, 8, 12, 9)),
        sa_assessment("R2", date(2026, 5, 25), (14, 10, 0, 9, 8), (equivocal,)),
        sa_assessment("R3", date(2026, 7, 6), (14, 10, 0, 9, 8)),
    ]
    result = evaluate_series(b1_baseline(), assessments, MODE_A)
    assert [tp.overall for tp in result.timepoints] == [Response.PR] * 3
    assert result.pd_date is None
    assert result.pfs_days is None


# --------------------------------------------------------------------------------------------------
# Overall response tables (§2.6)
# --------------------------------------------------------------------------------------------------

T = Response
NO = NewLesionFinding.NONE
YES = NewLesionFinding.UNEQUIVOCAL
EQ = NewLesionFinding.EQUIVOCAL


@pytest.mark.parametrize(
    ("target", "non_target", "new", "expected"),
    [
        (T.CR, T.CR, NO, T.CR),
        (T.CR, T.NA, NO, T.CR),
        (T.CR, T.NON_CR_NON_PD, NO, T.PR),
        (T.CR, T.NE, NO, T.PR),
        (T.PR, T.NON_CR_NON_PD, NO, T.PR),
        (T.PR, T.CR, NO, T.PR),
        (T.PR, T.NA, NO, T.PR),
        (T.PR, T.NE, NO, T.PR),
        (T.SD, T.NON_CR_NON_PD, NO, T.SD),
        (T.SD, T.NE, NO, T.SD),
        (T.NE, T.NON_CR_NON_PD, NO, T.NE),
        (T.NE, T.CR, NO, T.NE),
        (T.PD, T.CR, NO, T.PD),
        (T.PD, T.NE, NO, T.PD),
        (T.CR, T.PD, NO, T.PD),
        (T.NE, T.PD, NO, T.PD),
        (T.CR, T.CR, YES, T.PD),
        (T.SD, T.NE, YES, T.PD),
        (T.CR, T.CR, EQ, T.CR),
    ],
)
def test_table_1_patients_with_targets(
    target: Response, non_target: Response, new: NewLesionFinding, expected: Response
) -> None:
    assert combine_overall(target, non_target, new, DiseaseStatus.MEASURABLE) is expected


@pytest.mark.parametrize(
    ("non_target", "new", "expected"),
    [
        (T.CR, NO, T.CR),
        (T.NON_CR_NON_PD, NO, T.NON_CR_NON_PD),
        (T.NE, NO, T.NE),
        (T.PD, NO, T.PD),
        (T.PD, YES, T.PD),
        (T.CR, YES, T.PD),
        (T.NON_CR_NON_PD, YES, T.PD),
        (T.NON_CR_NON_PD, EQ, T.NON_CR_NON_PD),
    ],
)
def test_table_2_non_target_only(
    non_target: Response, new: NewLesionFinding, expected: Response
) -> None:
    assert combine_overall(T.NA, non_target, new, DiseaseStatus.NON_MEASURABLE_ONLY) is expected


@pytest.mark.parametrize(("new", "expected"), [(NO, T.NED), (EQ, T.NED), (YES, T.PD)])
def test_no_disease_is_ned_until_an_unequivocal_new_lesion(
    new: NewLesionFinding, expected: Response
) -> None:
    assert combine_overall(T.NA, T.NA, new, DiseaseStatus.NO_DISEASE) is expected


def test_no_disease_series_reports_ned_and_pd_on_new_lesion() -> None:
    baseline = Baseline(date(2026, 2, 27), (), treatment_start=RANDOMIZATION)
    assessments = [
        Assessment("T1", day(42)),
        Assessment(
            "T2",
            day(84),
            new_lesions=(NewLesion("NL1", SiteCode.NP, NewLesionCertainty.UNEQUIVOCAL),),
        ),
    ]
    result = evaluate_series(baseline, assessments)
    assert [tp.overall for tp in result.timepoints] == [Response.NED, Response.PD]
    assert result.progression_class is ProgressionClass.LOCOREGIONAL_ONLY
    assert result.bor is Response.NED


def test_assessment_without_imaging_is_ne() -> None:
    tp = evaluate_timepoint(b1_baseline(), Assessment("T1", day(42), imaging_performed=False))
    assert (tp.target, tp.non_target, tp.overall) == (Response.NE, Response.NE, Response.NE)


# --------------------------------------------------------------------------------------------------
# Post-CR reappearance (§2.6)
# --------------------------------------------------------------------------------------------------


def two_target_baseline(with_non_target: bool = False) -> Baseline:
    lesions = [
        BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(20), is_target=True),
        BaselineLesion("L2", "lung", SiteCode.LUNG, False, mm(15), is_target=True),
    ]
    if with_non_target:
        lesions.append(
            BaselineLesion("P1", "pleura", SiteCode.OTHER, False, None, non_measurable_type=True)
        )
    return Baseline(date(2026, 2, 27), tuple(lesions), treatment_start=RANDOMIZATION)


def two_target(
    aid: str, when: date, l1: str, l2: str = "0", p1: NonTargetStatus | None = None
) -> Assessment:
    non_targets = () if p1 is None else (NonTargetObservation("P1", p1),)
    return Assessment(
        aid, when, (TargetMeasurement("L1", mm(l1)), TargetMeasurement("L2", mm(l2))), non_targets
    )


def test_reappearance_after_confirmed_cr_is_pd() -> None:
    result = evaluate_series(
        two_target_baseline(),
        [
            two_target("T1", day(42), "0"),
            two_target("T2", day(84), "0"),
            two_target("T3", day(126), "3"),
        ],
    )
    t3 = result.timepoints[2]
    assert meets_pd(30, 0) is False  # 3 mm above a 0 mm nadir is not PD by arithmetic
    assert t3.target is Response.PR
    assert t3.overall is Response.PD
    assert ReviewFlag.POST_CR_REAPPEARANCE in t3.flags
    assert t3.progression_sites == frozenset({SiteCode.LIVER})
    assert result.pd_date == day(126)


def test_reappearance_after_unconfirmed_cr_is_flagged_not_pd() -> None:
    result = evaluate_series(
        two_target_baseline(), [two_target("T1", day(42), "0"), two_target("T2", day(84), "3")]
    )
    t2 = result.timepoints[1]
    assert t2.overall is Response.PR
    assert ReviewFlag.POST_CR_REAPPEARANCE in t2.flags
    assert "reclassify" in t2.derivation_text


def test_cr_repeated_within_28_days_is_not_definitive() -> None:
    result = evaluate_series(
        two_target_baseline(),
        [
            two_target("T1", day(42), "0"),
            two_target("T2", day(69), "0"),
            two_target("T3", day(111), "3"),
        ],
    )
    assert result.timepoints[2].overall is Response.PR


def test_reappearance_meeting_pd_arithmetic_is_pd_even_after_unconfirmed_cr() -> None:
    result = evaluate_series(
        two_target_baseline(), [two_target("T1", day(42), "0"), two_target("T2", day(84), "8")]
    )
    assert result.timepoints[1].target is Response.PD
    assert result.timepoints[1].overall is Response.PD


def test_non_target_reappearance_after_confirmed_cr_is_pd() -> None:
    result = evaluate_series(
        two_target_baseline(with_non_target=True),
        [
            two_target("T1", day(42), "0", p1=ABSENT),
            two_target("T2", day(84), "0", p1=ABSENT),
            two_target("T3", day(126), "0", p1=PRESENT),
        ],
    )
    assert [tp.overall for tp in result.timepoints] == [Response.CR, Response.CR, Response.PD]
    assert result.progression_sites == frozenset({SiteCode.OTHER})


# --------------------------------------------------------------------------------------------------
# PD date and progression sites (§2.8, §2.9)
# --------------------------------------------------------------------------------------------------

MRI_DAY = date(2026, 8, 10)
CT_DAY = date(2026, 8, 14)


def split_scan_assessment(neck_progresses: bool, liver_new_lesion: bool) -> Assessment:
    targets = tuple(
        TargetMeasurement(lid, mm(s), scan_date=CT_DAY if lid.startswith("L") else MRI_DAY)
        for lid, s in zip(B1_TARGETS, (20, 15, 8, 12, 9), strict=True)
    )
    non_targets = (
        NonTargetObservation("L3", PRESENT, CT_DAY),
        NonTargetObservation("L5", PRESENT, CT_DAY),
        NonTargetObservation("N3", UNEQUIVOCAL if neck_progresses else PRESENT, MRI_DAY),
        NonTargetObservation("B1", PRESENT, CT_DAY),
    )
    new = (
        (NewLesion("NL1", SiteCode.LIVER, NewLesionCertainty.UNEQUIVOCAL, CT_DAY),)
        if liver_new_lesion
        else ()
    )
    return Assessment("R1", MRI_DAY, targets, non_targets, new)


@pytest.mark.parametrize(
    ("neck", "liver", "pd_date", "sites", "klass"),
    [
        (True, True, MRI_DAY, {SiteCode.CN, SiteCode.LIVER}, ProgressionClass.BOTH),
        (False, True, CT_DAY, {SiteCode.LIVER}, ProgressionClass.DISTANT_ONLY),
        (True, False, MRI_DAY, {SiteCode.CN}, ProgressionClass.LOCOREGIONAL_ONLY),
    ],
)
def test_pd_date_is_the_earliest_scan_showing_progression(
    neck: bool, liver: bool, pd_date: date, sites: set[SiteCode], klass: ProgressionClass
) -> None:
    result = evaluate_series(b1_baseline(), [split_scan_assessment(neck, liver)])
    tp = result.timepoints[0]
    assert tp.overall is Response.PD
    assert tp.response_date == CT_DAY
    assert result.pd_date == pd_date
    assert result.progression_sites == frozenset(sites)
    assert result.progression_class is klass


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        ({SiteCode.NP}, ProgressionClass.LOCOREGIONAL_ONLY),
        ({SiteCode.RPN, SiteCode.CN}, ProgressionClass.LOCOREGIONAL_ONLY),
        ({SiteCode.DN}, ProgressionClass.DISTANT_ONLY),
        (
            {SiteCode.LUNG, SiteCode.LIVER, SiteCode.BONE, SiteCode.BRAIN, SiteCode.OTHER},
            ProgressionClass.DISTANT_ONLY,
        ),
        ({SiteCode.NP, SiteCode.LUNG}, ProgressionClass.BOTH),
        ({SiteCode.CN, SiteCode.DN}, ProgressionClass.BOTH),
        (set(), None),
    ],
)
def test_progression_class(sites: set[SiteCode], expected: ProgressionClass | None) -> None:
    assert classify_progression(sites) is expected


def test_pfs_days_counts_both_ends() -> None:
    assert pfs_days(RANDOMIZATION, RANDOMIZATION) == 1
    assert pfs_days(date(2026, 3, 2), date(2026, 8, 17)) == 169


# --------------------------------------------------------------------------------------------------
# Best overall response (§2.7)
# --------------------------------------------------------------------------------------------------


def bor(
    sequence: list[tuple[Response, int]], params: RecistParameters = MODE_A
) -> tuple[Response, frozenset[ReviewFlag]]:
    timepoints = [OverallAtDate(f"T{i + 1}", day(d), r) for i, (r, d) in enumerate(sequence)]
    best = best_overall_response(timepoints, RANDOMIZATION, params)
    assert best.derivation
    return best.response, best.flags


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ([(T.PR, 42), (T.SD, 84), (T.PD, 126)], T.PR),
        ([(T.CR, 42), (T.PR, 84)], T.CR),
        ([(T.NE, 42), (T.PR, 84)], T.PR),
        ([(T.SD, 42), (T.PD, 84)], T.SD),
        ([(T.SD, 35), (T.PD, 84)], T.SD),
        ([(T.SD, 34), (T.PD, 84)], T.PD),
        ([(T.SD, 28)], T.NE),
        ([(T.SD, 28), (T.NE, 70)], T.NE),
        ([(T.PD, 42)], T.PD),
        ([(T.NE, 42), (T.NE, 84)], T.NE),
        ([], T.NE),
        ([(T.NON_CR_NON_PD, 42)], T.NON_CR_NON_PD),
        ([(T.NED, 42)], T.NED),
    ],
)
def test_bor_mode_a(sequence: list[tuple[Response, int]], expected: Response) -> None:
    assert bor(sequence)[0] is expected


def test_sd_minimum_duration_is_configurable() -> None:
    params = RecistParameters(sd_min_days=56, sd_tolerance_days=7)
    assert bor([(T.SD, 42), (T.PD, 84)], params)[0] is T.PD
    assert bor([(T.SD, 49), (T.PD, 84)], params)[0] is T.SD


@pytest.mark.parametrize(
    ("first", "second", "first_day", "second_day", "expected"),
    [
        # RECIST table 3; "met" = SD duration met at the first time point (day 42 >= 35), else day 28.
        (T.CR, T.CR, 42, 84, T.CR),
        (T.CR, T.PR, 42, 84, T.PR),
        (T.CR, T.SD, 42, 84, T.SD),
        (T.CR, T.SD, 28, 56, T.PD),
        (T.CR, T.PD, 42, 84, T.SD),
        (T.CR, T.PD, 28, 56, T.PD),
        (T.CR, T.NE, 42, 84, T.SD),
        (T.CR, T.NE, 28, 56, T.NE),
        (T.PR, T.CR, 42, 84, T.PR),
        (T.PR, T.PR, 42, 84, T.PR),
        (T.PR, T.SD, 28, 56, T.SD),
        (T.PR, T.PD, 42, 84, T.SD),
        (T.PR, T.PD, 28, 56, T.PD),
        (T.PR, T.NE, 42, 84, T.SD),
        (T.PR, T.NE, 28, 56, T.NE),
        (T.NE, T.NE, 42, 84, T.NE),
    ],
)
def test_bor_mode_b_recist_table_3(
    first: Response, second: Response, first_day: int, second_day: int, expected: Response
) -> None:
    assert bor([(first, first_day), (second, second_day)], MODE_B)[0] is expected


def test_mode_b_unconfirmed_cr_followed_by_pr_is_flagged() -> None:
    assert bor([(T.CR, 42), (T.PR, 84)], MODE_B) == (
        T.PR,
        frozenset({ReviewFlag.UNCONFIRMED_CR_FOLLOWED_BY_PR}),
    )


def test_mode_b_disease_after_unconfirmed_cr_is_flagged_and_ends_the_scope() -> None:
    response, flags = bor([(T.CR, 28), (T.SD, 56)], MODE_B)
    assert response is T.PD
    assert ReviewFlag.DISEASE_AFTER_UNCONFIRMED_CR in flags
    assert bor([(T.CR, 28), (T.SD, 56), (T.SD, 98)], MODE_B)[0] is T.PD


def test_time_points_after_the_first_pd_do_not_count() -> None:
    assert bor([(T.SD, 28), (T.PD, 56), (T.PR, 98)])[0] is T.PD
    assert bor([(T.PD, 42), (T.SD, 84)], MODE_B)[0] is T.PD


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ([(T.PR, 42), (T.PR, 63)], T.SD),
        ([(T.PR, 42), (T.PR, 70)], T.PR),
        ([(T.PR, 42), (T.NE, 84), (T.PR, 126)], T.PR),
        ([(T.PR, 42), (T.SD, 84), (T.PR, 126)], T.SD),
        ([(T.CR, 42), (T.NE, 70), (T.CR, 98)], T.CR),
        ([(T.CR, 42), (T.CR, 63)], T.SD),
        ([(T.SD, 42), (T.PR, 84), (T.CR, 126)], T.PR),
    ],
)
def test_mode_b_confirmation_interval_and_in_between_assessments(
    sequence: list[tuple[Response, int]], expected: Response
) -> None:
    assert bor(sequence, MODE_B)[0] is expected


def test_mode_b_non_target_only_disease_reports_non_cr_non_pd() -> None:
    assessments = [
        Assessment(
            "T1",
            day(42),
            non_targets=(NonTargetObservation("N3", ABSENT), NonTargetObservation("B1", ABSENT)),
        ),
        Assessment(
            "T2",
            day(56),
            non_targets=(NonTargetObservation("N3", PRESENT), NonTargetObservation("B1", ABSENT)),
        ),
    ]
    result = evaluate_series(nt_only_baseline(), assessments, MODE_B)
    assert result.bor is Response.NON_CR_NON_PD


def test_bor_scope_ends_at_first_pd() -> None:
    lesion = BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(50), is_target=True)
    baseline = Baseline(date(2026, 2, 27), (lesion,), treatment_start=RANDOMIZATION)
    assessments = [
        Assessment("T1", day(21), (TargetMeasurement("L1", mm(45)),)),  # early SD
        Assessment("T2", day(63), (TargetMeasurement("L1", mm(55)),)),  # +10 mm, +22 % vs 45: PD
        Assessment("T3", day(105), (TargetMeasurement("L1", mm(30)),)),  # PR after PD: out of scope
    ]
    result = evaluate_series(baseline, assessments)
    assert [tp.overall for tp in result.timepoints] == [T.SD, T.PD, T.PR]
    assert result.bor is Response.PD
    assert result.pd_date == day(63)


def test_pre_randomization_assessments_set_the_nadir_but_not_the_bor() -> None:
    induction_start = date(2026, 1, 5)
    lesion = BaselineLesion("L1", "liver", SiteCode.LIVER, False, mm(50), is_target=True)
    baseline = Baseline(date(2026, 1, 2), (lesion,), treatment_start=induction_start)
    assessments = [
        Assessment("I1", date(2026, 2, 16), (TargetMeasurement("L1", mm(30)),)),
        Assessment("M1", day(42), (TargetMeasurement("L1", mm(36)),)),
    ]
    result = evaluate_series(baseline, assessments, reference_date=RANDOMIZATION)
    assert result.timepoints[0].overall is Response.PR
    assert result.timepoints[1].overall is Response.PD
    assert result.bor is Response.PD
    assert result.pfs_days == 43


def test_assessments_after_new_anticancer_therapy_are_excluded() -> None:
    assessments = sa_assessments()
    result = evaluate_series(b1_baseline(), assessments, new_therapy_date=date(2026, 7, 1))
    assert result.bor is Response.PR
    assert result.pd_date is None
    assert result.pfs_days is None


def test_orr_and_dcr_helpers() -> None:
    assert [is_objective_response(r) for r in (T.CR, T.PR, T.SD, T.NON_CR_NON_PD, T.PD, T.NE)] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert [is_disease_control(r) for r in (T.CR, T.PR, T.SD, T.NON_CR_NON_PD, T.PD, T.NE)] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_observations_of_unknown_lesions_are_rejected() -> None:
    with pytest.raises(ValueError):
        evaluate_timepoint(
            b1_baseline(), Assessment("T1", day(42), (TargetMeasurement("L3", mm(5)),))
        )
    with pytest.raises(ValueError):
        evaluate_timepoint(
            b1_baseline(),
            Assessment("T1", day(42), non_targets=(NonTargetObservation("L1", PRESENT),)),
        )
