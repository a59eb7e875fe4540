"""Exact rational inputs and half-up display rounding shared by the rule engines.

Binary floats are refused at the boundary because clinical thresholds sit exactly on values such as
0.7 x 46.0 or 1.5 x 20.5 that doubles cannot represent.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

ExactNumber = int | str | Decimal | Fraction


def to_fraction(value: ExactNumber) -> Fraction:
    """Exact rational from int, decimal string, Decimal or Fraction; TypeError for float/bool."""
    if isinstance(value, bool | float):
        raise TypeError(f"expected an exact number (int, str, Decimal, Fraction), not {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"number must be finite: {value}")
    return Fraction(value)


def round_half_up(value: Fraction, places: int) -> Decimal:
    """Round half away from zero to `places` decimals, for display."""
    scaled = abs(value) * 10**places
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    magnitude = Decimal(whole).scaleb(-places)
    return -magnitude if value < 0 else magnitude
