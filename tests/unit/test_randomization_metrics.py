"""Per-sequence balance and predictability metrics against a direct reading of §2."""

import math
from fractions import Fraction

import pytest

from randomization.engine import HmacDrbg, MetricEstimate, sequence_metrics
from randomization.engine.metrics import arp_deviation, guess_credit, imbalance


def reference_metrics(arms, strata, ratios):
    """Straight from the definitions, in exact arithmetic and without shortcuts."""
    total_w = sum(ratios)
    k_arms = len(ratios)

    def imb(counts):
        if len(set(ratios)) == 1:
            return Fraction(max(counts) - min(counts))
        i = sum(counts)
        return max(
            abs(Fraction(n) - Fraction(i * w, total_w)) for n, w in zip(counts, ratios, strict=True)
        )

    def credit(counts, arm):
        i = sum(counts)
        target = [Fraction(w * i, total_w) - n for n, w in zip(counts, ratios, strict=True)]
        tied = [k for k in range(k_arms) if target[k] == max(target)]
        return Fraction(1, len(tied)) if arm in tied else Fraction(0)

    overall = [0] * k_arms
    per = {}
    max_overall = Fraction(0)
    stratum_max = Fraction(0)
    cg_s = Fraction(0)
    cg_o = Fraction(0)
    for arm, s in zip(arms, strata, strict=True):
        counts = per.setdefault(s, [0] * k_arms)
        cg_s += credit(counts, arm)
        cg_o += credit(overall, arm)
        counts[arm] += 1
        overall[arm] += 1
        max_overall = max(max_overall, imb(overall))
        stratum_max = max(stratum_max, imb(counts))
    n = len(arms)
    return (
        imb(overall),
        max_overall,
        max(imb(c) for c in per.values()),
        stratum_max,
        cg_s / n,
        cg_o / n,
    )


def as_tuple(metrics):
    return (
        metrics.final_imbalance,
        metrics.max_imbalance,
        metrics.stratum_final_imbalance,
        metrics.stratum_max_imbalance,
        metrics.correct_guess,
        metrics.correct_guess_overall_history,
    )


def test_hand_worked_two_arm_sequence():
    # A B B A: tie (1/2), D=+1 guess B right (1), tie (1/2), D=-1 guess A right (1).
    metrics = sequence_metrics([0, 1, 1, 0], [0, 0, 0, 0], (1, 1))
    assert metrics.correct_guess == 0.75
    assert metrics.max_imbalance == 1
    assert metrics.final_imbalance == 0


def test_hand_worked_two_to_one_sequence():
    # 2:1, sequence B A A. Before 1: targets 0,0 -> tie, B credited 1/2. After B: guess A
    # (2/3 - 0 > 1/3 - 1) and A comes: 1. After B A: targets 4/3-1, 2/3-1 -> A, right: 1.
    metrics = sequence_metrics([1, 0, 0], [0, 0, 0], (2, 1))
    assert metrics.correct_guess == pytest.approx(2.5 / 3)
    # After B: |0 - 2/3| and |1 - 1/3| -> 2/3; after B A: |1 - 4/3|, |1 - 2/3| -> 1/3; end 0.
    assert metrics.max_imbalance == pytest.approx(2 / 3)
    assert metrics.final_imbalance == 0


def random_sequence(seed_byte, n, arm_count, stratum_count):
    drbg = HmacDrbg(bytes([seed_byte]) * 32, "T", "metrics")
    return (
        [drbg.randbelow(arm_count) for _ in range(n)],
        [drbg.randbelow(stratum_count) for _ in range(n)],
    )


@pytest.mark.parametrize(
    "ratios,stratum_count",
    [
        ((1, 1), 1),
        ((1, 1), 5),
        ((2, 1), 1),
        ((2, 1), 3),
        ((1, 1, 1, 1), 4),
        ((3, 2, 1), 2),
        ((2, 2), 2),
    ],
)
@pytest.mark.parametrize("seed_byte", [1, 2, 3])
def test_metrics_match_the_definitions_on_arbitrary_sequences(ratios, stratum_count, seed_byte):
    arms, strata = random_sequence(seed_byte, 60, len(ratios), stratum_count)
    expected = reference_metrics(arms, strata, ratios)
    got = as_tuple(sequence_metrics(arms, strata, ratios))
    assert got == pytest.approx([float(x) for x in expected], abs=1e-12)


def test_unstratified_guessers_coincide_and_stratified_ones_differ():
    arms, strata = random_sequence(9, 80, 2, 4)
    flat = sequence_metrics(arms, [0] * 80, (1, 1))
    assert flat.correct_guess == flat.correct_guess_overall_history
    stratified = sequence_metrics(arms, strata, (1, 1))
    assert stratified.correct_guess != stratified.correct_guess_overall_history


def test_guess_credit_and_imbalance_helpers():
    assert guess_credit([0, 0, 0, 0], (1, 1, 1, 1), 2) == 0.25
    assert guess_credit([1, 0, 0, 1], (1, 1, 1, 1), 1) == 0.5
    assert guess_credit([1, 0, 0, 1], (1, 1, 1, 1), 0) == 0
    assert imbalance([5, 2, 3, 3], (1, 1, 1, 1)) == 3
    assert imbalance([3, 3], (2, 1)) == 1


def test_metric_estimate_uses_the_sample_standard_deviation():
    estimate = MetricEstimate.from_values([1.0, 2.0, 3.0, 4.0])
    assert estimate.mean == 2.5
    assert estimate.standard_error == pytest.approx(math.sqrt(5 / 3) / 2)


def test_metric_estimate_needs_two_values():
    with pytest.raises(ValueError):
        MetricEstimate.from_values([1.0])


def test_arp_deviation_reports_the_worst_position_and_arm():
    assert arp_deviation([[50, 50], [50, 50]], (1, 1)) == 0
    assert arp_deviation([[50, 50], [70, 30]], (1, 1)) == pytest.approx(0.2)
    assert arp_deviation([[200, 100], [180, 120]], (2, 1)) == pytest.approx(2 / 3 - 0.6)


def test_empty_or_mismatched_sequences_are_rejected():
    with pytest.raises(ValueError):
        sequence_metrics([], [], (1, 1))
    with pytest.raises(ValueError):
        sequence_metrics([0, 1], [0], (1, 1))
