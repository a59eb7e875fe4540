"""Exact RECIST sizes (integer tenths of a millimetre), threshold tests and display formatting."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from crf.rules.exact_numbers import ExactNumber, round_half_up, to_fraction

TOO_SMALL_TO_MEASURE_TENTHS = 50
NODE_PATHOLOGICAL_FROM_TENTHS = 100
NODE_MEASURABLE_FROM_TENTHS = 150
NON_NODAL_MEASURABLE_FROM_TENTHS = 100
CHEST_XRAY_MEASURABLE_FROM_TENTHS = 200
THIN_SLICE_MAX_TENTHS = 50
PD_MIN_ABSOLUTE_INCREASE_TENTHS = 50


def mm(value: ExactNumber) -> int:
    """Convert a size in millimetres to integer tenths of a millimetre, exactly.

    Raises TypeError for floats (already inexact) and ValueError for negative sizes or sizes finer
    than 0.1 mm.
    """
    exact = to_fraction(value)
    if exact < 0:
        raise ValueError(f"size must not be negative: {value}")
    tenths = exact * 10
    if tenths.denominator != 1:
        raise ValueError(f"size {value} mm is not a whole number of tenths of a millimetre")
    return int(tenths)


def format_tenths(tenths: int) -> str:
    whole, frac = divmod(tenths, 10)
    return f"{whole}" if frac == 0 else f"{whole}.{frac}"


def format_mm(tenths: int) -> str:
    """`320` -> "32 mm", `322` -> "32.2 mm"."""
    return f"{format_tenths(tenths)} mm"


def format_change_mm(delta_tenths: int) -> str:
    """Signed difference with one decimal: `100` -> "+10.0 mm"."""
    sign = "+" if delta_tenths >= 0 else "-"
    whole, frac = divmod(abs(delta_tenths), 10)
    return f"{sign}{whole}.{frac} mm"


def percent_change(current_tenths: int, reference_tenths: int) -> Decimal | None:
    """(current - reference) / reference x 100, rounded half-up to 1 dp; display only, never compared."""
    if reference_tenths == 0:
        return None
    return round_half_up(Fraction(100 * (current_tenths - reference_tenths), reference_tenths), 1)


def format_percent_change(current_tenths: int, reference_tenths: int) -> str:
    pct = percent_change(current_tenths, reference_tenths)
    if pct is None:
        return "% n/a (reference 0 mm)"
    return f"{'+' if pct >= 0 else ''}{pct}%"


def meets_pr(sum_tenths: int, baseline_sum_tenths: int) -> bool:
    """At least a 30 % decrease from the baseline sum: S <= 0.7 B, i.e. 10 S <= 7 B."""
    return 10 * sum_tenths <= 7 * baseline_sum_tenths


def meets_pd(sum_tenths: int, nadir_tenths: int) -> bool:
    """At least +5 mm and +20 % versus the nadir: S - N >= 5 mm and S >= 1.2 N, i.e. 5 S >= 6 N."""
    return (
        sum_tenths - nadir_tenths >= PD_MIN_ABSOLUTE_INCREASE_TENTHS
        and 5 * sum_tenths >= 6 * nadir_tenths
    )
