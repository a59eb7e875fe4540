"""The eligibility gate in front of allocation. The CRF app decides eligibility (rules,
attestations, exclusions, the investigator's e-signature, sponsor waivers); this module only
asks it and turns a refusal into a stable error."""

from __future__ import annotations

from dataclasses import dataclass, field

from edc.errors import DomainError


class NotEligible(DomainError):
    status = 409

    def __init__(self, reasons: list[str]):
        super().__init__(
            "not_eligible",
            "subject",
            "the subject may not be randomized: " + "; ".join(reasons or ["eligibility not met"]),
            details=[{"field": "eligibility", "message": reason} for reason in reasons],
        )
        self.reasons = reasons


@dataclass(frozen=True)
class EligibilityVerdict:
    allowed: bool
    reasons: list[str]
    # Stored with the allocation: which signed confirmation (and waivers) allowed it.
    snapshot: dict = field(default_factory=dict)


def _snapshot(confirmation) -> dict:
    if confirmation is None:
        return {}
    signed_at = getattr(confirmation, "signed_at", None)
    return {
        "confirmation_id": confirmation.pk,
        "signed_by": getattr(confirmation, "signed_by_name", ""),
        "signed_at": signed_at.isoformat() if signed_at else None,
    }


def _status(subject):
    from crf.selectors import eligibility_status

    return eligibility_status(subject, point="randomization")


def eligibility_verdict(subject) -> EligibilityVerdict:
    allowed, reasons, confirmation = _status(subject)
    return EligibilityVerdict(bool(allowed), list(reasons), _snapshot(confirmation))


def require_eligible(subject) -> EligibilityVerdict:
    verdict = eligibility_verdict(subject)
    if not verdict.allowed:
        raise NotEligible(verdict.reasons)
    return verdict
