"""Independent check that the allocations follow the list committed before the first patient.

Given the seed and salt (from escrow), regenerate every committed list from the parameters
stored with its commitment, recompute the three hashes, and compare the stored slots and every
allocation with the regenerated list (minimization: replay every draw)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from randomization import scheme_params
from randomization.engine import (
    HmacDrbg,
    minimization_assign,
    minimization_assign_preserving_ratio,
    seed_commitment,
)
from randomization.models import Allocation, Commitment, CommitmentKind, Slot


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def read_seed_file(path: Path) -> tuple[str, bytes, bytes]:
    """``{"study": code, "seed": hex, "salt": hex}`` as written by ``go_live --seed-out``."""
    data = json.loads(Path(path).read_text())
    return data.get("study", ""), bytes.fromhex(data["seed"]), bytes.fromhex(data["salt"])


def seed_file_text(study_code: str, seed: bytes, salt: bytes) -> str:
    return json.dumps(
        {
            "study": study_code,
            "generator": scheme_params.GENERATOR,
            "seed": seed.hex(),
            "salt": salt.hex(),
        },
        indent=2,
    )


def _slot_rows(lists) -> dict[tuple[str, int], tuple]:
    return {
        (key, s.sequence): (s.block_number, s.block_size, s.position_in_block, s.arm)
        for key, slots in lists.items()
        for s in slots
    }


def verify(study, seed: bytes, salt: bytes) -> list[Check]:
    checks: list[Check] = []
    commitments = list(Commitment.objects.filter(scheme__study=study).order_by("id"))
    if not commitments:
        return [Check("commitment", False, f"{study.code} has no commitment (not live)")]
    seed_hash = seed_commitment(seed, salt)
    checks.append(
        Check(
            "seed",
            all(c.seed_sha256 == seed_hash for c in commitments),
            f"SHA-256(seed || salt) = {seed_hash}",
        )
    )
    lists = {}
    for commitment in commitments:
        lists = scheme_params.generate_lists(seed, commitment.params)
        hashes = scheme_params.commitment_hashes(seed, salt, commitment.params, lists)
        checks.append(
            Check(
                f"commitment {commitment.pk} ({commitment.kind}) parameters",
                hashes["params_sha256"] == commitment.params_sha256,
                f"recomputed {hashes['params_sha256']}, committed {commitment.params_sha256}",
            )
        )
        checks.append(
            Check(
                f"commitment {commitment.pk} ({commitment.kind}) list",
                hashes["list_sha256"] == commitment.list_sha256,
                f"recomputed {hashes['list_sha256']}, committed {commitment.list_sha256}",
            )
        )
    expected = _slot_rows(lists)
    stored = {
        (key, seq): (block, size, position, arm)
        for key, seq, block, size, position, arm in Slot.objects.filter(
            stratum__scheme__study=study
        ).values_list(
            "stratum__key", "sequence", "block_number", "block_size", "position_in_block", "arm"
        )
    }
    differing = sorted(
        k for k in expected.keys() | stored.keys() if expected.get(k) != stored.get(k)
    )
    checks.append(
        Check(
            "stored slots equal the regenerated list",
            not differing,
            f"{len(stored)} slots compared"
            + (f"; first difference at {differing[0][0]} #{differing[0][1]}" if differing else ""),
        )
    )
    allocations = list(
        Allocation.objects.filter(study=study)
        .select_related("stratum", "subject")
        .order_by("randomized_at", "id")
    )
    go_live = next(c for c in commitments if c.kind == CommitmentKind.GO_LIVE)
    first = allocations[0].randomized_at if allocations else None
    checks.append(
        Check(
            "list fixed before the first allocation",
            first is None or go_live.created_at < first,
            f"committed {go_live.created_at:%Y-%m-%d %H:%M:%S.%f} UTC; first allocation "
            + (f"{first:%Y-%m-%d %H:%M:%S.%f} UTC" if first else "none yet"),
        )
    )
    params = commitments[-1].params
    if params["method"] == scheme_params.MINIMIZATION:
        checks.append(_replay_minimization(study.code, seed, params, allocations))
    else:
        wrong = [
            a.subject.subject_id
            for a in allocations
            if expected.get((a.stratum.key, a.sequence), (None,) * 4)[3] != a.arm
        ]
        checks.append(
            Check(
                "every allocation took its slot's arm",
                not wrong,
                f"{len(allocations)} allocations"
                + (f"; wrong: {', '.join(wrong)}" if wrong else ""),
            )
        )
    return checks


def _replay_minimization(study_code, seed, params, allocations) -> Check:
    counts: dict = {}
    wrong = []
    by_unit = scheme_params.preserves_ratio(params)
    assign = minimization_assign_preserving_ratio if by_unit else minimization_assign
    for allocation in sorted(allocations, key=lambda a: a.sequence):
        patient = {f: allocation.stratum_values.get(f) for f in params["weights"]}
        drbg = HmacDrbg(seed, study_code, "minimization", block=allocation.sequence)
        decision = assign(
            counts, patient, scheme_params.arms(params), params["weights"], params["p"], drbg=drbg
        )
        if (decision.arm, decision.unit) != (allocation.arm, allocation.ratio_unit):
            wrong.append(allocation.subject.subject_id)
        counted = (allocation.arm, allocation.ratio_unit) if by_unit else allocation.arm
        for factor, level in patient.items():
            by_arm = counts.setdefault(factor, {}).setdefault(level, {})
            by_arm[counted] = by_arm.get(counted, 0) + 1
    return Check(
        "every minimization draw replays to the recorded arm",
        not wrong,
        f"{len(allocations)} allocations" + (f"; wrong: {', '.join(wrong)}" if wrong else ""),
    )
