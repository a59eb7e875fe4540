"""Pure randomization engine: HMAC generator, permuted blocks, minimization, commitments, metrics.

No Django here: the Django app stores what this package computes.
"""

from randomization.engine.blocks import (
    SITE_FACTOR,
    UNSTRATIFIED_KEY,
    Arm,
    BlockScheme,
    Slot,
    generate_schedule,
    generate_stratum_list,
    iter_stratum_slots,
    stratum_key_for,
    stratum_keys,
)
from randomization.engine.commitment import (
    canonical_list_bytes,
    canonical_minimization_parameters,
    canonical_parameters,
    generate_salt,
    list_commitment,
    seed_commitment,
)
from randomization.engine.drbg import GENERATOR_VERSION, HmacDrbg, RandomSource, generate_seed
from randomization.engine.metrics import MetricEstimate, RunMetrics, sequence_metrics
from randomization.engine.minimization import (
    MinimizationDecision,
    exact_probability,
    minimization_assign,
    minimization_assign_preserving_ratio,
    ratio_units,
)
from randomization.engine.simulation import (
    RATIO_SCALED,
    RATIO_UNITS,
    CompleteRandomizationDesign,
    Factor,
    MinimizationDesign,
    PermutedBlockDesign,
    SimulationResult,
    simulate,
)

__all__ = [
    "RATIO_SCALED",
    "RATIO_UNITS",
    "GENERATOR_VERSION",
    "SITE_FACTOR",
    "UNSTRATIFIED_KEY",
    "Arm",
    "BlockScheme",
    "CompleteRandomizationDesign",
    "Factor",
    "HmacDrbg",
    "MetricEstimate",
    "MinimizationDecision",
    "MinimizationDesign",
    "PermutedBlockDesign",
    "RandomSource",
    "RunMetrics",
    "SimulationResult",
    "Slot",
    "canonical_list_bytes",
    "canonical_minimization_parameters",
    "canonical_parameters",
    "exact_probability",
    "generate_salt",
    "generate_schedule",
    "generate_seed",
    "generate_stratum_list",
    "iter_stratum_slots",
    "list_commitment",
    "minimization_assign",
    "minimization_assign_preserving_ratio",
    "ratio_units",
    "seed_commitment",
    "sequence_metrics",
    "simulate",
    "stratum_key_for",
    "stratum_keys",
]
