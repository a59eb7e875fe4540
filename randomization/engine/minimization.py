"""Pocock–Simon minimization with a random element.

For a new patient and each candidate arm ``k``, take every factor ``f`` at the patient's level,
add the patient to arm ``k``, divide each arm's count by its ratio, and score the range
(max - min) of those ratio-scaled counts. ``G_k = sum_f weight_f * range_f(k)`` is computed in
exact rational arithmetic so that ties are exact.

Draws, in this order, from the caller's random source (``HmacDrbg`` in production, for example
on stream ``minimization`` with block = 1-based allocation number):

1. ``preferred = minimizing[randbelow(len(minimizing))]`` (minimizing arms in arm order; one
   draw even without a tie);
2. ``u = randbelow(den)`` with ``p = num/den`` the closest fraction to ``p`` whose denominator
   is at most 1,000,000 (0.8 -> 4/5); if ``u < num`` the preferred arm is assigned;
3. otherwise ``others[randbelow(K - 1)]``, the other arms in arm order, so they share ``1 - p``
   equally.

Unequal ratios. Scaling counts by the ratio (``minimization_assign``) does not preserve the
allocation ratio: with 2:1:1 and p = 0.8 the first patient goes to A with probability 0.8, not
0.5 (randomization.md §0 point 3, Table 2). ``minimization_assign_preserving_ratio`` follows
Kuznetsova & Tymofyeyev (Stat Med 2012): the ratio w_1:...:w_K (divided by its greatest common
divisor) is expanded to S = sum w_k equal "units" (arm k owns w_k of them, unit 1..w_k), the
equal-allocation procedure above runs over the S units on their own counts (ties broken
uniformly at random), and a patient assigned a unit goes to the unit's arm. The procedure is
symmetric in the units, so every unit has probability 1/S at every allocation, and arm k has
w_k / S: the allocation ratio holds at every position. With equal ratios the units are the arms
and the draws are exactly those of ``minimization_assign``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from randomization.engine.blocks import Arm, validate_arms
from randomization.engine.drbg import RandomSource

P_MAX_DENOMINATOR = 1_000_000


@dataclass(frozen=True)
class MinimizationDecision:
    arm: str
    preferred_arm: str
    minimizing_arms: tuple[str, ...]
    scores: dict[str, Fraction]
    # Which of the arm's ratio units was assigned (1 unless the ratio-preserving procedure
    # runs with unequal ratios); its counts are kept per unit.
    unit: int = 1


def ratio_units(arms: Sequence[Arm]) -> tuple[tuple[int, int], ...]:
    """The S equal units of an allocation ratio: (arm index, unit number 1..w_k / g) with g the
    ratios' greatest common divisor, in arm order."""
    divisor = math.gcd(*(arm.ratio for arm in arms))
    return tuple(
        (k, unit) for k, arm in enumerate(arms) for unit in range(1, arm.ratio // divisor + 1)
    )


def exact_probability(p: float | Fraction) -> Fraction:
    """The closest fraction to ``p`` whose denominator is at most 1,000,000 (0.8 -> 4/5): the
    probability the generator actually uses."""
    return Fraction(p).limit_denominator(P_MAX_DENOMINATOR)


def probability_fraction(p: float | Fraction, arm_count: int) -> Fraction:
    """``p`` as the exact fraction the generator uses; validates the random element.

    The checks are on that fraction, not on ``p``: 0.9999999 is 1 at the generator's
    precision (denominators up to 1,000,000), and would assign every patient to the
    minimizing arm, so it is refused like 1.0 itself."""
    if isinstance(p, bool) or not isinstance(p, int | float | Fraction):
        raise TypeError(f"p must be a number, got {p!r}")
    fraction = exact_probability(p) if math.isfinite(p) else None
    if fraction is None or not 0 < fraction < 1:
        raise ValueError(
            f"p must be strictly between 0 and 1, got {p} ({fraction} at the generator's "
            f"precision of 1/{P_MAX_DENOMINATOR:,}): ICH E9 requires a random element in "
            "every dynamic allocation"
        )
    if fraction < Fraction(1, arm_count):
        raise ValueError(f"p={p} is below 1/{arm_count}: the minimizing arm would be disfavoured")
    return fraction


def exact_weights(weights: Mapping[str, float | Fraction]) -> dict[str, Fraction]:
    exact = {}
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float | Fraction):
            raise TypeError(f"weight of factor {name!r} must be a number, got {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of factor {name!r} must be finite and >= 0, got {weight}")
        exact[name] = Fraction(weight)
    return exact


def ratio_scales(ratios: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    """(L, L / w_k): multiplying counts by L / w_k turns ratio-scaled counts into integers."""
    common = math.lcm(*ratios)
    return common, tuple(common // ratio for ratio in ratios)


def arm_scores(
    level_counts: Sequence[Sequence[int]],
    factor_weights: Sequence[Fraction],
    scales: Sequence[int],
    common: int,
) -> list[Fraction]:
    """G_k for every arm; ``level_counts[f][j]`` = arm j's count at the patient's level of f.
    Summed in integers over the weights' common denominator (the simulations' hot path), so
    the result is exact."""
    denominator = math.lcm(*(Fraction(w).denominator for w in factor_weights))
    integral = [int(Fraction(w) * denominator) for w in factor_weights]
    arm_count = len(scales)
    totals = [0] * arm_count
    for counts, weight in zip(level_counts, integral, strict=True):
        if not weight:
            continue
        scaled = [count * scale for count, scale in zip(counts, scales, strict=True)]
        for k in range(arm_count):
            scaled[k] += scales[k]
            totals[k] += weight * (max(scaled) - min(scaled))
            scaled[k] -= scales[k]
    return [Fraction(total, denominator * common) for total in totals]


def choose_arm_index(
    scores: Sequence[Fraction], p: Fraction, source: RandomSource
) -> tuple[int, int, tuple[int, ...]]:
    """(assigned, preferred, minimizing) arm indices using the draws documented above."""
    best = min(scores)
    minimizing = tuple(k for k, score in enumerate(scores) if score == best)
    preferred = minimizing[source.randbelow(len(minimizing))]
    if source.randbelow(p.denominator) < p.numerator:
        return preferred, preferred, minimizing
    others = [k for k in range(len(scores)) if k != preferred]
    return others[source.randbelow(len(others))], preferred, minimizing


def patient_weights(
    weights: Mapping[str, float | Fraction], patient_levels: Mapping[str, str]
) -> dict[str, Fraction]:
    """The factors' exact weights, once the patient has a level for each and no other."""
    exact = exact_weights(weights)
    missing = sorted(set(exact) - set(patient_levels))
    if missing:
        raise ValueError(f"the patient has no level for factors {missing}")
    unknown = sorted(set(patient_levels) - set(exact))
    if unknown:
        raise ValueError(f"no weight given for factors {unknown}")
    return exact


def minimization_assign(
    counts: Mapping[str, Mapping[str, Mapping[str, int]]],
    patient_levels: Mapping[str, str],
    arms: Sequence[Arm],
    weights: Mapping[str, float | Fraction],
    p: float | Fraction = 0.8,
    *,
    drbg: RandomSource,
) -> MinimizationDecision:
    """Assign one patient; ``counts[factor][level][arm]`` are the counts before this patient.

    Missing entries in ``counts`` count as 0. Every weighted factor needs a patient level.
    """
    arms = tuple(arms)
    validate_arms(arms)
    p_exact = probability_fraction(p, len(arms))
    exact = patient_weights(weights, patient_levels)
    level_counts = []
    for name in exact:
        by_arm = counts.get(name, {}).get(patient_levels[name], {})
        row = []
        for arm in arms:
            count = by_arm.get(arm.code, 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(
                    f"count for {name}={patient_levels[name]}, arm {arm.code} is {count!r}"
                )
            row.append(count)
        level_counts.append(row)
    common, scales = ratio_scales([arm.ratio for arm in arms])
    scores = arm_scores(level_counts, list(exact.values()), scales, common)
    assigned, preferred, minimizing = choose_arm_index(scores, p_exact, drbg)
    return MinimizationDecision(
        arm=arms[assigned].code,
        preferred_arm=arms[preferred].code,
        minimizing_arms=tuple(arms[k].code for k in minimizing),
        scores={arm.code: score for arm, score in zip(arms, scores, strict=True)},
    )


def minimization_assign_preserving_ratio(
    counts: Mapping[str, Mapping[str, Mapping[tuple[str, int], int]]],
    patient_levels: Mapping[str, str],
    arms: Sequence[Arm],
    weights: Mapping[str, float | Fraction],
    p: float | Fraction = 0.8,
    *,
    drbg: RandomSource,
) -> MinimizationDecision:
    """Assign one patient by the ratio-unit expansion (module docstring);
    ``counts[factor][level][(arm code, unit)]`` are the counts per unit before this patient."""
    arms = tuple(arms)
    validate_arms(arms)
    units = ratio_units(arms)
    p_exact = probability_fraction(p, len(units))
    exact = patient_weights(weights, patient_levels)
    level_counts = []
    for name in exact:
        by_unit = counts.get(name, {}).get(patient_levels[name], {})
        row = []
        for k, unit in units:
            count = by_unit.get((arms[k].code, unit), 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(
                    f"count for {name}={patient_levels[name]}, arm {arms[k].code} unit {unit} "
                    f"is {count!r}"
                )
            row.append(count)
        level_counts.append(row)
    scores = arm_scores(level_counts, list(exact.values()), (1,) * len(units), 1)
    assigned, preferred, minimizing = choose_arm_index(scores, p_exact, drbg)
    arm_of = [arms[k].code for k, _ in units]
    return MinimizationDecision(
        arm=arm_of[assigned],
        preferred_arm=arm_of[preferred],
        minimizing_arms=tuple(dict.fromkeys(arm_of[u] for u in minimizing)),
        scores={f"{arm_of[u]}#{unit}": scores[u] for u, (_, unit) in enumerate(units)},
        unit=units[assigned][1],
    )
