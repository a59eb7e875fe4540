"""Validation findings shared by the pure clinical rule engines."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Violation:
    """One failed rule: `code` is stable for queries/tests, `message` is shown to the user (a
    translatable `edc.phrases.Phrase` where the engine builds it; as a string, its English)."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    subject: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR
