"""Monte Carlo operating characteristics of a design, simulated with the engine itself.

Run ``r`` (0-based) uses the seed ``HMAC-SHA256(master_seed, "simulation-run|<r>")`` and the
study code ``SIM``. Within a run:

* patients' covariates come from stream ``patients`` (block 1): for each patient and factor in
  order, ``u = randbelow(2**53)`` picks the first level whose cumulative probability, scaled to
  ``2**53`` and rounded, exceeds ``u``;
* permuted blocks use the production schedule generator, one list per stratum key, read in order;
* minimization uses stream ``minimization`` with block = 1-based allocation number, over the
  ratio's units (``procedure="ratio_units"``, allocation-ratio preserving) or, for comparison,
  on ratio-scaled arm counts (``"ratio_scaled"``, which does not preserve an unequal ratio);
* complete randomization uses stream ``complete``, block 1, one ``randbelow(W)`` per patient.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from randomization.engine.blocks import (
    SITE_FACTOR,
    Arm,
    BlockScheme,
    BlockShuffler,
    stratum_keys,
    validate_arms,
)
from randomization.engine.drbg import HmacDrbg, validate_seed
from randomization.engine.metrics import (
    MetricEstimate,
    arp_deviation,
    imbalance,
    sequence_metrics,
)
from randomization.engine.minimization import (
    arm_scores,
    choose_arm_index,
    exact_weights,
    probability_fraction,
    ratio_scales,
    ratio_units,
)
from randomization.engine.tokens import validate_positive_int, validate_token

SIMULATION_STUDY = "SIM"
_UNIFORM_BITS = 53


@dataclass(frozen=True)
class Factor:
    """A patient characteristic with its level probabilities (uniform when omitted)."""

    name: str
    levels: tuple[str, ...]
    probabilities: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        validate_token("factor name", self.name)
        levels = tuple(self.levels)
        if not levels:
            raise ValueError(f"factor {self.name!r} needs at least one level")
        for level in levels:
            validate_token(f"level of factor {self.name!r}", level)
        if len(set(levels)) != len(levels):
            raise ValueError(f"factor {self.name!r} has duplicate levels")
        object.__setattr__(self, "levels", levels)
        if self.probabilities is not None:
            probabilities = tuple(float(x) for x in self.probabilities)
            if len(probabilities) != len(levels):
                raise ValueError(f"factor {self.name!r}: one probability per level is needed")
            if any(not math.isfinite(x) or x < 0 for x in probabilities):
                raise ValueError(f"factor {self.name!r}: probabilities must be >= 0")
            if abs(math.fsum(probabilities) - 1.0) > 1e-9:
                raise ValueError(f"factor {self.name!r}: probabilities must sum to 1")
            object.__setattr__(self, "probabilities", probabilities)

    def thresholds(self) -> tuple[int, ...]:
        """Cumulative probabilities scaled to 2**53 (the last one is exactly 2**53)."""
        scale = 1 << _UNIFORM_BITS
        count = len(self.levels)
        probabilities = self.probabilities or tuple(1.0 / count for _ in self.levels)
        cumulative = itertools.accumulate(probabilities)
        cuts = [round(c * scale) for c in cumulative]
        cuts[-1] = scale
        return tuple(cuts)


@dataclass(frozen=True)
class PermutedBlockDesign:
    """Stratified permuted blocks; ``site`` (a Factor named ``site``) adds site strata last."""

    scheme: BlockScheme
    factors: tuple[Factor, ...] = ()
    site: Factor | None = None


@dataclass(frozen=True)
class CompleteRandomizationDesign:
    """Complete randomization; factors/site only define strata for the within-strata metrics."""

    arms: tuple[Arm, ...]
    factors: tuple[Factor, ...] = ()
    site: Factor | None = None


RATIO_UNITS = "ratio_units"
RATIO_SCALED = "ratio_scaled"


@dataclass(frozen=True)
class MinimizationDesign:
    """Pocock–Simon minimization over ``factors`` (strata for metrics = all factor cells).
    ``procedure``: ``ratio_units`` preserves an unequal allocation ratio (Kuznetsova &
    Tymofyeyev); ``ratio_scaled`` is the naive one, kept to show its ARP failure."""

    arms: tuple[Arm, ...]
    factors: tuple[Factor, ...]
    weights: Mapping[str, float]
    p: float = 0.8
    procedure: str = RATIO_UNITS


Design = PermutedBlockDesign | CompleteRandomizationDesign | MinimizationDesign


@dataclass(frozen=True)
class SimulationResult:
    n: int
    runs: int
    arm_codes: tuple[str, ...]
    ratios: tuple[int, ...]
    stratum_count: int
    imbalance_threshold: int
    final_imbalance: MetricEstimate
    max_imbalance: MetricEstimate
    final_imbalance_at_least_threshold: MetricEstimate
    stratum_final_imbalance: MetricEstimate
    stratum_max_imbalance: MetricEstimate
    correct_guess: MetricEstimate
    correct_guess_overall_history: MetricEstimate
    informed_correct_guess: MetricEstimate | None
    position_arm_counts: tuple[tuple[int, ...], ...] = field(repr=False)
    # Per factor: the final imbalance (against the ratio) at the factor's worst level.
    factor_imbalance: dict[str, MetricEstimate] = field(default_factory=dict)

    def arp_deviation(self) -> float:
        return arp_deviation(self.position_arm_counts, self.ratios)


def run_seed(master_seed: bytes, run: int) -> bytes:
    validate_seed(master_seed)
    return hmac.digest(master_seed, b"simulation-run|%d" % run, hashlib.sha256)


class _PatientSampler:
    """Draws each patient's level index for every factor, in factor order."""

    def __init__(self, seed: bytes, factors: Sequence[Factor]) -> None:
        self._drbg = HmacDrbg(seed, SIMULATION_STUDY, "patients")
        self._thresholds = [factor.thresholds() for factor in factors]

    def next_levels(self) -> list[int]:
        levels = []
        for cuts in self._thresholds:
            if len(cuts) == 1:
                levels.append(0)
                continue
            levels.append(bisect.bisect_right(cuts, self._drbg.randbelow(1 << _UNIFORM_BITS)))
        return levels


def _cell_index(levels: Sequence[int], factors: Sequence[Factor]) -> int:
    index = 0
    for level, factor in zip(levels, factors, strict=True):
        index = index * len(factor.levels) + level
    return index


def _stratum_factors(factors: Sequence[Factor], site: Factor | None) -> list[Factor]:
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise ValueError(f"factor names must be unique, got {names}")
    if site is None:
        return list(factors)
    if site.name != SITE_FACTOR:
        raise ValueError(f"the site factor must be named '{SITE_FACTOR}'")
    if SITE_FACTOR in names:
        raise ValueError(f"'{SITE_FACTOR}' is reserved: pass it as the design's site")
    return [*factors, site]


# One simulated trial: arm index and stratum index per patient, and the informed guesser's
# correct-guess proportion where the design defines one (minimization).
RunOutcome = tuple[list[int], list[int], float | None]


@dataclass(frozen=True)
class _Runner:
    arms: tuple[Arm, ...]
    stratum_count: int
    run: Callable[[bytes, int], RunOutcome]
    # The factors whose cells the stratum indices number, in order.
    factors: tuple[Factor, ...] = ()


def _permuted_block_runner(design: PermutedBlockDesign) -> _Runner:
    factors = _stratum_factors(design.factors, design.site)
    keys = stratum_keys(
        [(f.name, list(f.levels)) for f in design.factors],
        list(design.site.levels) if design.site is not None else None,
    )
    scheme = design.scheme

    def run(seed: bytes, n: int) -> RunOutcome:
        sampler = _PatientSampler(seed, factors)
        cursors: dict[int, tuple[BlockShuffler, list[int]]] = {}
        arms: list[int] = []
        strata: list[int] = []
        for _ in range(n):
            stratum = _cell_index(sampler.next_levels(), factors) if factors else 0
            cursor = cursors.get(stratum)
            if cursor is None:
                shuffler = BlockShuffler(seed, SIMULATION_STUDY, keys[stratum], scheme)
                cursor = cursors[stratum] = (shuffler, [])
            pending = cursor[1]
            if not pending:
                # Reversed so that pop() hands out the block in allocation order.
                pending.extend(reversed(cursor[0].next_block()))
            arms.append(pending.pop())
            strata.append(stratum)
        return arms, strata, None

    return _Runner(scheme.arms, len(keys), run, tuple(factors))


def _complete_runner(design: CompleteRandomizationDesign) -> _Runner:
    arms_spec = tuple(design.arms)
    validate_arms(arms_spec)
    factors = _stratum_factors(design.factors, design.site)
    table = [k for k, arm in enumerate(arms_spec) for _ in range(arm.ratio)]

    def run(seed: bytes, n: int) -> RunOutcome:
        sampler = _PatientSampler(seed, factors)
        drbg = HmacDrbg(seed, SIMULATION_STUDY, "complete")
        arms: list[int] = []
        strata: list[int] = []
        for _ in range(n):
            strata.append(_cell_index(sampler.next_levels(), factors) if factors else 0)
            arms.append(table[drbg.randbelow(len(table))])
        return arms, strata, None

    return _Runner(arms_spec, math.prod(len(f.levels) for f in factors), run, tuple(factors))


def _minimization_runner(design: MinimizationDesign) -> _Runner:
    arms_spec = tuple(design.arms)
    validate_arms(arms_spec)
    factors = _stratum_factors(design.factors, None)
    if not factors:
        raise ValueError("minimization needs at least one factor")
    if set(design.weights) != {f.name for f in factors}:
        raise ValueError("minimization weights must name exactly the design's factors")
    if design.procedure not in (RATIO_UNITS, RATIO_SCALED):
        raise ValueError(f"unknown minimization procedure {design.procedure!r}")
    weights = exact_weights(design.weights)
    factor_weights = [weights[f.name] for f in factors]
    if design.procedure == RATIO_UNITS:
        # Equal allocation over the ratio's units; a unit's arm is the patient's arm.
        unit_arms = [k for k, _ in ratio_units(arms_spec)]
        common, scales = 1, (1,) * len(unit_arms)
    else:
        unit_arms = list(range(len(arms_spec)))
        common, scales = ratio_scales([arm.ratio for arm in arms_spec])
    unit_count = len(unit_arms)
    p = probability_fraction(design.p, unit_count)

    def run(seed: bytes, n: int) -> RunOutcome:
        sampler = _PatientSampler(seed, factors)
        drbg = HmacDrbg(seed, SIMULATION_STUDY, "minimization")
        counts = [[[0] * unit_count for _ in f.levels] for f in factors]
        informed_credit = 0.0
        arms: list[int] = []
        strata: list[int] = []
        for i in range(n):
            levels = sampler.next_levels()
            level_counts = [counts[f][level] for f, level in enumerate(levels)]
            scores = arm_scores(level_counts, factor_weights, scales, common)
            drbg.start_block(i + 1)
            assigned, _, minimizing = choose_arm_index(scores, p, drbg)
            if assigned in minimizing:
                informed_credit += 1.0 / len(minimizing)
            for row in level_counts:
                row[assigned] += 1
            arms.append(unit_arms[assigned])
            strata.append(_cell_index(levels, factors))
        return arms, strata, informed_credit / n

    return _Runner(arms_spec, math.prod(len(f.levels) for f in factors), run, tuple(factors))


def _runner(design: Design) -> _Runner:
    if isinstance(design, PermutedBlockDesign):
        return _permuted_block_runner(design)
    if isinstance(design, CompleteRandomizationDesign):
        return _complete_runner(design)
    if isinstance(design, MinimizationDesign):
        return _minimization_runner(design)
    raise TypeError(f"unknown design {design!r}")


def simulate(
    design: Design,
    n: int,
    runs: int,
    master_seed: bytes,
    imbalance_threshold: int = 4,
) -> SimulationResult:
    """Simulate ``runs`` trials of ``n`` patients; every draw comes from the v1 generator."""
    validate_positive_int("n", n)
    validate_positive_int("runs", runs)
    if runs < 2:
        raise ValueError("at least 2 runs are needed for standard errors")
    validate_seed(master_seed)
    runner = _runner(design)
    arms = runner.arms
    ratios = tuple(arm.ratio for arm in arms)
    position_counts = [[0] * len(arms) for _ in range(n)]
    collected: dict[str, list[float]] = {
        name: []
        for name in (
            "final_imbalance",
            "max_imbalance",
            "at_least",
            "stratum_final_imbalance",
            "stratum_max_imbalance",
            "correct_guess",
            "correct_guess_overall_history",
            "informed",
        )
    }
    by_factor: dict[str, list[float]] = {f.name: [] for f in runner.factors}
    for run in range(runs):
        sequence, strata, informed = runner.run(run_seed(master_seed, run), n)
        for name, worst in _factor_imbalances(sequence, strata, runner.factors, ratios).items():
            by_factor[name].append(worst)
        for row, arm in zip(position_counts, sequence, strict=True):
            row[arm] += 1
        metrics = sequence_metrics(sequence, strata, ratios)
        collected["final_imbalance"].append(metrics.final_imbalance)
        collected["max_imbalance"].append(metrics.max_imbalance)
        collected["at_least"].append(float(metrics.final_imbalance >= imbalance_threshold))
        collected["stratum_final_imbalance"].append(metrics.stratum_final_imbalance)
        collected["stratum_max_imbalance"].append(metrics.stratum_max_imbalance)
        collected["correct_guess"].append(metrics.correct_guess)
        collected["correct_guess_overall_history"].append(metrics.correct_guess_overall_history)
        if informed is not None:
            collected["informed"].append(informed)
    estimate = MetricEstimate.from_values
    return SimulationResult(
        n=n,
        runs=runs,
        arm_codes=tuple(arm.code for arm in arms),
        ratios=ratios,
        stratum_count=runner.stratum_count,
        imbalance_threshold=imbalance_threshold,
        final_imbalance=estimate(collected["final_imbalance"]),
        max_imbalance=estimate(collected["max_imbalance"]),
        final_imbalance_at_least_threshold=estimate(collected["at_least"]),
        stratum_final_imbalance=estimate(collected["stratum_final_imbalance"]),
        stratum_max_imbalance=estimate(collected["stratum_max_imbalance"]),
        correct_guess=estimate(collected["correct_guess"]),
        correct_guess_overall_history=estimate(collected["correct_guess_overall_history"]),
        informed_correct_guess=estimate(collected["informed"]) if collected["informed"] else None,
        position_arm_counts=tuple(tuple(row) for row in position_counts),
        factor_imbalance={name: estimate(values) for name, values in by_factor.items()},
    )


def _factor_imbalances(
    sequence: Sequence[int],
    strata: Sequence[int],
    factors: Sequence[Factor],
    ratios: Sequence[int],
) -> dict[str, float]:
    """Per factor, the largest final imbalance (against the ratio) over its levels."""
    counts = [[[0] * len(ratios) for _ in f.levels] for f in factors]
    for arm, cell in zip(sequence, strata, strict=True):
        for f in range(len(factors) - 1, -1, -1):
            cell, level = divmod(cell, len(factors[f].levels))
            counts[f][level][arm] += 1
    return {
        factor.name: max(imbalance(row, ratios) for row in by_level)
        for factor, by_level in zip(factors, counts, strict=True)
    }
