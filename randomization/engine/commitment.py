"""Canonical serialisations and the hash commitments published before the first enrolment.

All text is UTF-8 with ``\\n`` line endings and no trailing spaces.

Parameters of a permuted-block schedule (``canonical_parameters``), one ``key=value`` line each,
in exactly this order::

    format=npc-edc-randomization-parameters/1
    generator=HMAC-SHA256/v1
    method=permuted_blocks
    study=<study code>
    arms=<code>:<ratio>,<code>:<ratio>,...        (scheme order, which the shuffle depends on)
    block_sizes=<size>,<size>,...                (ascending)
    min_slots_per_stratum=<integer>
    stratum=<stratum key>                        (one line per stratum, sorted by UTF-8 bytes)
    extra.<key>=<value>                          (optional, sorted by key)

Minimization parameters (``canonical_minimization_parameters``) use ``method=minimization``,
then ``study``, ``arms``, ``p=<repr of the float>``, one ``factor=<name>:<weight repr>:<level>,
<level>,...`` line per factor in the given order, then the optional ``extra.`` lines.

Schedule lists (``canonical_list_bytes``): strata sorted by the UTF-8 bytes of their key, slots
in sequence order, one line per slot with tab-separated fields::

    <stratum key>\\t<sequence>\\t<block number>\\t<block size>\\t<position in block>\\t<arm code>

``list_commitment`` = SHA-256 hex of (parameter bytes || list bytes).
``seed_commitment`` = SHA-256 hex of (seed || salt).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence

from randomization.engine.blocks import Arm, BlockScheme, Slot, validate_arms
from randomization.engine.drbg import GENERATOR_VERSION, validate_seed, validate_study_code
from randomization.engine.tokens import validate_token

PARAMETERS_FORMAT = "npc-edc-randomization-parameters/1"
MIN_SALT_LENGTH = 16


def _check_text(kind: str, value: str) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{kind} {value!r} must not contain control characters")


def _extra_lines(extra: Mapping[str, str] | None) -> list[str]:
    lines = []
    for key in sorted(extra or {}):
        validate_token("extra parameter name", key)
        value = str(extra[key])  # type: ignore[index]
        _check_text(f"extra parameter {key!r}", value)
        lines.append(f"extra.{key}={value}")
    return lines


def _arms_line(arms: Sequence[Arm]) -> str:
    return "arms=" + ",".join(f"{arm.code}:{arm.ratio}" for arm in arms)


def _encode(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def canonical_parameters(
    study_code: str,
    scheme: BlockScheme,
    strata: Sequence[str],
    min_slots: int,
    extra: Mapping[str, str] | None = None,
) -> bytes:
    validate_study_code(study_code)
    if isinstance(min_slots, bool) or not isinstance(min_slots, int) or min_slots < 0:
        raise ValueError(f"min_slots must be an integer >= 0, got {min_slots!r}")
    if not strata:
        raise ValueError("at least one stratum is required")
    for key in strata:
        if not key:
            raise ValueError("stratum keys must not be empty")
        _check_text("stratum key", key)
    if len(set(strata)) != len(strata):
        raise ValueError("stratum keys must be unique")
    lines = [
        f"format={PARAMETERS_FORMAT}",
        f"generator=HMAC-SHA256/{GENERATOR_VERSION}",
        "method=permuted_blocks",
        f"study={study_code}",
        _arms_line(scheme.arms),
        "block_sizes=" + ",".join(str(size) for size in scheme.block_sizes),
        f"min_slots_per_stratum={min_slots}",
    ]
    lines += [f"stratum={key}" for key in sorted(strata, key=lambda k: k.encode("utf-8"))]
    lines += _extra_lines(extra)
    return _encode(lines)


def canonical_minimization_parameters(
    study_code: str,
    arms: Sequence[Arm],
    factors: Sequence[tuple[str, Sequence[str]]],
    weights: Mapping[str, float],
    p: float,
    extra: Mapping[str, str] | None = None,
) -> bytes:
    validate_study_code(study_code)
    validate_arms(arms)
    lines = [
        f"format={PARAMETERS_FORMAT}",
        f"generator=HMAC-SHA256/{GENERATOR_VERSION}",
        "method=minimization",
        f"study={study_code}",
        _arms_line(arms),
        f"p={float(p)!r}",
    ]
    for name, levels in factors:
        validate_token("factor name", name)
        for level in levels:
            validate_token(f"level of factor {name!r}", level)
        if name not in weights:
            raise ValueError(f"no weight given for factor {name!r}")
        lines.append(f"factor={name}:{float(weights[name])!r}:" + ",".join(levels))
    lines += _extra_lines(extra)
    return _encode(lines)


def canonical_list_bytes(lists: Mapping[str, Sequence[Slot]]) -> bytes:
    out = []
    for key in sorted(lists, key=lambda k: k.encode("utf-8")):
        _check_text("stratum key", key)
        for expected, slot in enumerate(lists[key], start=1):
            if slot.sequence != expected:
                raise ValueError(
                    f"stratum {key!r}: slot sequence {slot.sequence} found where {expected} "
                    "was expected (lists must be complete and in sequence order)"
                )
            out.append(
                f"{key}\t{slot.sequence}\t{slot.block_number}\t{slot.block_size}"
                f"\t{slot.position_in_block}\t{slot.arm}\n"
            )
    return "".join(out).encode("utf-8")


def _declared_strata(params_bytes: bytes) -> set[str]:
    text = params_bytes.decode("utf-8")
    return {line[len("stratum=") :] for line in text.splitlines() if line.startswith("stratum=")}


def list_commitment(params_bytes: bytes, lists: Mapping[str, Sequence[Slot]]) -> str:
    """SHA-256 hex over the canonical parameters followed by every stratum list."""
    declared = _declared_strata(params_bytes)
    if declared and declared != set(lists):
        missing = sorted(declared - set(lists))
        undeclared = sorted(set(lists) - declared)
        raise ValueError(
            f"lists do not match the strata in the parameters (missing {missing}, "
            f"undeclared {undeclared})"
        )
    return hashlib.sha256(params_bytes + canonical_list_bytes(lists)).hexdigest()


def generate_salt() -> bytes:
    return secrets.token_bytes(32)


def seed_commitment(seed: bytes, salt: bytes) -> str:
    """SHA-256 hex of seed || salt, published before enrolment and verified at unblinding."""
    validate_seed(seed)
    if not isinstance(salt, bytes | bytearray) or len(salt) < MIN_SALT_LENGTH:
        raise ValueError(f"the salt must be at least {MIN_SALT_LENGTH} bytes")
    return hashlib.sha256(bytes(seed) + bytes(salt)).hexdigest()
