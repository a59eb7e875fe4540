"""Rules for the identifiers that end up inside generator messages and commitments."""

from __future__ import annotations

# These characters delimit fields of stratum keys, generator messages and the canonical
# parameter text; allowing them inside an identifier would make those strings ambiguous.
RESERVED_CHARACTERS = frozenset("|=,:;")


def validate_token(kind: str, value: str) -> None:
    """Raise ``ValueError`` unless ``value`` is a usable code/name/level identifier."""
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{kind} must not be empty")
    if value != value.strip():
        raise ValueError(f"{kind} {value!r} must not start or end with whitespace")
    bad = sorted({ch for ch in value if ch in RESERVED_CHARACTERS})
    if bad:
        raise ValueError(f"{kind} {value!r} must not contain any of {' '.join(bad)}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{kind} {value!r} must not contain control characters")


def validate_positive_int(kind: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{kind} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{kind} must be >= 1, got {value}")
