"""Balance and predictability measures of one allocation sequence (see randomization.md §2).

Imbalance after ``i`` allocations with counts ``N_k`` and ratio ``w_k`` (``W`` = sum):

* equal ratios: the range ``max_k N_k - min_k N_k`` (``|N_A - N_B|`` with two arms);
* unequal ratios: ``max_k |N_k - i * w_k / W|``, the distance from the target in patients.

Correct guesses follow the Blackwell–Hodges convergence strategy: before each allocation the
guesser picks ``argmax_k [w_k * m / W - N_k]`` over the ``m`` allocations they have seen; when
several arms tie the guess is credited ``1 / (number tied)`` if the allocated arm is among them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


def imbalance(counts: Sequence[int], ratios: Sequence[int]) -> float:
    if len(set(ratios)) == 1:
        return float(max(counts) - min(counts))
    total = sum(counts)
    ratio_sum = sum(ratios)
    return (
        max(abs(ratio_sum * n - total * w) for n, w in zip(counts, ratios, strict=True)) / ratio_sum
    )


def guess_credit(counts: Sequence[int], ratios: Sequence[int], allocated: int) -> float:
    """Credit of the convergence-strategy guess given the counts the guesser has seen."""
    total = sum(counts)
    ratio_sum = sum(ratios)
    scores = [w * total - ratio_sum * n for n, w in zip(counts, ratios, strict=True)]
    best = max(scores)
    if scores[allocated] != best:
        return 0.0
    return 1.0 / scores.count(best)


@dataclass(frozen=True)
class RunMetrics:
    final_imbalance: float
    max_imbalance: float
    stratum_final_imbalance: float
    stratum_max_imbalance: float
    correct_guess: float
    correct_guess_overall_history: float


def sequence_metrics(
    arm_indices: Sequence[int], stratum_indices: Sequence[int], ratios: Sequence[int]
) -> RunMetrics:
    """Metrics of one trial: overall and within strata; guesses as proportions of ``n``.

    ``correct_guess`` is the guesser who sees the patient's stratum history (randomization.md
    §2); ``correct_guess_overall_history`` sees only the trial-wide sequence.
    """
    n = len(arm_indices)
    if n == 0 or len(stratum_indices) != n:
        raise ValueError("need a non-empty arm sequence and one stratum index per allocation")
    if len(ratios) == 2 and ratios[0] == ratios[1]:
        return _two_equal_arms_metrics(arm_indices, stratum_indices)
    return _general_metrics(arm_indices, stratum_indices, ratios)


def _two_equal_arms_metrics(
    arm_indices: Sequence[int], stratum_indices: Sequence[int]
) -> RunMetrics:
    """Same results as ``_general_metrics`` for 1:1, tracking D = N_A - N_B (hot path)."""
    n = len(arm_indices)
    by_stratum: dict[int, int] = {}
    overall = 0
    max_overall = 0
    stratum_max = 0
    credit_stratum = 0.0
    credit_overall = 0.0
    for arm, stratum in zip(arm_indices, stratum_indices, strict=True):
        within = by_stratum.get(stratum, 0)
        step = 1 if arm == 0 else -1
        # The guess is the arm behind (D < 0 -> A); at D = 0 both tie and score 1/2.
        if within == 0:
            credit_stratum += 0.5
        elif (within < 0) == (step > 0):
            credit_stratum += 1.0
        if overall == 0:
            credit_overall += 0.5
        elif (overall < 0) == (step > 0):
            credit_overall += 1.0
        within += step
        overall += step
        by_stratum[stratum] = within
        if abs(overall) > max_overall:
            max_overall = abs(overall)
        if abs(within) > stratum_max:
            stratum_max = abs(within)
    return RunMetrics(
        final_imbalance=float(abs(overall)),
        max_imbalance=float(max_overall),
        stratum_final_imbalance=float(max(abs(d) for d in by_stratum.values())),
        stratum_max_imbalance=float(stratum_max),
        correct_guess=credit_stratum / n,
        correct_guess_overall_history=credit_overall / n,
    )


def _general_metrics(
    arm_indices: Sequence[int], stratum_indices: Sequence[int], ratios: Sequence[int]
) -> RunMetrics:
    # Each history keeps excess_k = W * N_k - w_k * m (m allocations seen): the convergence
    # guess is argmin excess, and imbalance is (max - min) / W for equal ratios (the range)
    # or max |excess| / W otherwise, so one integer vector serves both metrics.
    n = len(arm_indices)
    arm_count = len(ratios)
    ratio_sum = sum(ratios)
    equal = len(set(ratios)) == 1
    deltas = [
        [(ratio_sum if k == arm else 0) - ratios[k] for k in range(arm_count)]
        for arm in range(arm_count)
    ]

    def spread(excess: list[int]) -> int:
        high, low = max(excess), min(excess)
        return high - low if equal else max(high, -low)

    zero = [0] * arm_count
    overall = zero
    by_stratum: dict[int, list[int]] = {}
    max_overall = 0
    stratum_max = 0
    credit_stratum = 0.0
    credit_overall = 0.0
    for arm, stratum in zip(arm_indices, stratum_indices, strict=True):
        within = by_stratum.get(stratum, zero)
        low = min(within)
        if within[arm] == low:
            credit_stratum += 1.0 / within.count(low)
        low = min(overall)
        if overall[arm] == low:
            credit_overall += 1.0 / overall.count(low)
        delta = deltas[arm]
        within = [e + d for e, d in zip(within, delta, strict=True)]
        overall = [e + d for e, d in zip(overall, delta, strict=True)]
        by_stratum[stratum] = within
        # Inlined spread(): this loop is the hot path of the K-arm simulations.
        high, low = max(overall), min(overall)
        current = high - low if equal else max(high, -low)
        if current > max_overall:
            max_overall = current
        high, low = max(within), min(within)
        current = high - low if equal else max(high, -low)
        if current > stratum_max:
            stratum_max = current
    return RunMetrics(
        final_imbalance=spread(overall) / ratio_sum,
        max_imbalance=max_overall / ratio_sum,
        stratum_final_imbalance=max(spread(e) for e in by_stratum.values()) / ratio_sum,
        stratum_max_imbalance=stratum_max / ratio_sum,
        correct_guess=credit_stratum / n,
        correct_guess_overall_history=credit_overall / n,
    )


@dataclass(frozen=True)
class MetricEstimate:
    """Monte Carlo mean and its standard error (sample SD / sqrt(runs))."""

    mean: float
    standard_error: float
    values: tuple[float, ...] = field(repr=False, default=())

    @classmethod
    def from_values(cls, values: Sequence[float]) -> MetricEstimate:
        runs = len(values)
        if runs < 2:
            raise ValueError("at least 2 runs are needed for a standard error")
        mean = math.fsum(values) / runs
        variance = math.fsum((v - mean) ** 2 for v in values) / (runs - 1)
        return cls(mean, math.sqrt(variance / runs), tuple(values))


def arp_deviation(position_arm_counts: Sequence[Sequence[int]], ratios: Sequence[int]) -> float:
    """max over positions i and arms k of |observed P(T_i = k) - w_k / W|."""
    ratio_sum = sum(ratios)
    worst = 0.0
    for row in position_arm_counts:
        runs = sum(row)
        for count, ratio in zip(row, ratios, strict=True):
            worst = max(worst, abs(count / runs - ratio / ratio_sum))
    return worst
