"""Per-trial RECIST settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecistParameters:
    """Per-trial settings; defaults are the spec defaults (§2.2, §2.7)."""

    confirmation_required: bool = False
    confirm_min_days: int = 28
    sd_min_days: int = 42
    sd_tolerance_days: int = 7
    baseline_window_days: int = 28
    max_targets: int = 5
    max_targets_per_organ: int = 2

    @property
    def sd_min_days_effective(self) -> int:
        return self.sd_min_days - self.sd_tolerance_days


DEFAULT_PARAMETERS = RecistParameters()
