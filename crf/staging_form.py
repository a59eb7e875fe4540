"""The staging form: the stage group is derived from T, N and M and checked (spec §5.4).

Pure Python: no Django import. Items of a staging form (kind `staging`): STEDIT edition (8 or 9),
STCTX context (INITIAL, RECURRENT, POST_THERAPY), TSTAGE / NSTAGE / MSTAGE categories, ADVENE
advanced radiologic ENE (Y/N), NODEXT nodal extent, NDISTLES number of distant lesions, EBVNODE
EBV-positive node (Y/N, for T0) and the derived STAGE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crf.rules.staging import (
    NodalExtent,
    StagingContext,
    StagingInput,
    StagingViolationCode,
    stage_derivation,
    validate_staging,
)
from crf.validation import Issue

CONTEXTS = {
    "INITIAL": StagingContext.INITIAL_CLINICAL,
    "RECURRENT": StagingContext.RECURRENT,
    "POST_THERAPY": StagingContext.POST_THERAPY,
}
NODAL_EXTENTS = {
    "NONE": NodalExtent.NONE,
    "UNILATERAL_OR_RPN": NodalExtent.UNILATERAL_OR_RPN,
    "BILATERAL": NodalExtent.BILATERAL,
    "GT6CM_OR_BELOW_CRICOID": NodalExtent.OVER_6CM_OR_BELOW_CRICOID,
}
ITEM_OF_SUBJECT = {"T": "TSTAGE", "N": "NSTAGE", "M": "MSTAGE", "nodal_extent": "NODEXT"}
# The stage has no manual entry on the form, and the edition a criterion needs is judged at
# eligibility, so V6 and V8 do not apply to the form itself.
NOT_FORM_CHECKS = {StagingViolationCode.V6_STAGE_MISMATCH, StagingViolationCode.V8_WRONG_EDITION}
UNKNOWN_STAGE = "UNKNOWN"


@dataclass
class StagingOutcome:
    items: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def _yes(value: Any) -> bool:
    return value is True or value == "Y"


def derive_staging(values: Mapping[str, Any]) -> StagingOutcome:
    """STAGE from T, N, M and the edition, with the rule that decided it; V1-V5 and V7 as issues.

    Nothing is derived until edition, T, N and M are all given."""
    outcome = StagingOutcome()
    if any(values.get(code) in (None, "") for code in ("STEDIT", "TSTAGE", "NSTAGE", "MSTAGE")):
        return outcome
    extent = values.get("NODEXT")
    count = values.get("NDISTLES")
    data = StagingInput(
        edition=int(values["STEDIT"]),
        t=str(values["TSTAGE"]),
        n=str(values["NSTAGE"]),
        m=str(values["MSTAGE"]),
        context=CONTEXTS.get(values.get("STCTX") or "", StagingContext.INITIAL_CLINICAL),
        advanced_ene=_yes(values.get("ADVENE")),
        nodal_extent=NODAL_EXTENTS.get(extent) if extent else None,
        n_distant_lesions=None if count in (None, "") else int(count),
        ebv_positive_node=_yes(values["EBVNODE"]) if values.get("EBVNODE") else None,
    )
    try:
        derivation = stage_derivation(data.t, data.n, data.m, data.edition)
        violations = validate_staging(data)
    except ValueError as exc:
        outcome.issues.append(Issue("TSTAGE", "staging", f"Staging: {exc}"))
        return outcome
    for violation in violations:
        if violation.code in NOT_FORM_CHECKS:
            continue
        item = ITEM_OF_SUBJECT.get(violation.subject or "", "TSTAGE")
        outcome.issues.append(
            Issue(
                item,
                f"staging_{violation.code}",
                f"Staging {violation.code}: {violation.message}",
                violation.severity,
            )
        )
    outcome.items["STAGE"] = derivation.stage.value if derivation.stage else UNKNOWN_STAGE
    outcome.notes["STAGE"] = derivation.reason
    return outcome
