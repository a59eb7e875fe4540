"""Stratified permuted-block schedules generated with the v1 HMAC generator.

Algorithm for block ``j`` (1-based) of one stratum, all draws from
``HmacDrbg(seed, study_code, stratum_key)`` after ``start_block(j)`` (so the counter is 0):

1. ``size = block_sizes[randbelow(len(block_sizes))]`` with ``block_sizes`` sorted ascending
   (one draw even when only one size is allowed, so the draw layout never depends on it);
2. start from the arms in scheme order, arm ``k`` repeated ``size * ratio_k / W`` times
   (``W`` = sum of the ratios);
3. Fisher–Yates: for ``i`` from ``size - 1`` down to ``1``: ``r = randbelow(i + 1)`` and swap
   the entries at ``i`` and ``r`` (0-based);
4. the resulting order gives positions ``1..size`` of the block.

Blocks are numbered consecutively and slot sequence numbers are 1-based within the stratum,
so a longer list generated later from the same seed extends, and never changes, a shorter one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from randomization.engine.drbg import HmacDrbg
from randomization.engine.tokens import validate_positive_int, validate_token

UNSTRATIFIED_KEY = "all"
SITE_FACTOR = "site"


@dataclass(frozen=True)
class Arm:
    code: str
    ratio: int = 1

    def __post_init__(self) -> None:
        validate_token("arm code", self.code)
        validate_positive_int(f"ratio of arm {self.code!r}", self.ratio)


@dataclass(frozen=True)
class BlockScheme:
    """Arms with their allocation ratio and the allowed block sizes (stored sorted)."""

    arms: tuple[Arm, ...]
    block_sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        arms = tuple(self.arms)
        sizes = tuple(self.block_sizes)
        validate_arms(arms)
        if not sizes:
            raise ValueError("at least one block size is required")
        ratio_sum = sum(arm.ratio for arm in arms)
        for size in sizes:
            validate_positive_int("block size", size)
            if size % ratio_sum:
                ratio_text = ":".join(str(arm.ratio) for arm in arms)
                raise ValueError(
                    f"block size {size} is not a multiple of {ratio_sum}, the sum of the "
                    f"allocation ratio {ratio_text}; allowed sizes are multiples of {ratio_sum}"
                )
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"block sizes {sizes} contain duplicates")
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "block_sizes", tuple(sorted(sizes)))

    @property
    def ratio_sum(self) -> int:
        return sum(arm.ratio for arm in self.arms)

    @property
    def arm_codes(self) -> tuple[str, ...]:
        return tuple(arm.code for arm in self.arms)


def validate_arms(arms: Sequence[Arm]) -> None:
    if len(arms) < 2:
        raise ValueError(f"at least 2 arms are required, got {len(arms)}")
    for arm in arms:
        if not isinstance(arm, Arm):
            raise TypeError(f"arms must be Arm instances, got {arm!r}")
    codes = [arm.code for arm in arms]
    if len(set(codes)) != len(codes):
        raise ValueError(f"arm codes must be unique, got {codes}")


@dataclass(frozen=True)
class Slot:
    sequence: int
    block_number: int
    block_size: int
    position_in_block: int
    arm: str


class BlockShuffler:
    """Produces the arm indices of successive blocks of one stratum (hot path of simulations)."""

    __slots__ = ("_drbg", "_sizes", "_templates", "_next_block")

    def __init__(self, seed: bytes, study_code: str, stratum_key: str, scheme: BlockScheme):
        self._drbg = HmacDrbg(seed, study_code, stratum_key)
        self._sizes = scheme.block_sizes
        ratio_sum = scheme.ratio_sum
        self._templates = {
            size: [
                index
                for index, arm in enumerate(scheme.arms)
                for _ in range(size * arm.ratio // ratio_sum)
            ]
            for size in scheme.block_sizes
        }
        self._next_block = 1

    @property
    def next_block_number(self) -> int:
        return self._next_block

    def next_block(self) -> list[int]:
        """Arm indices (into ``scheme.arms``) of the next block, in allocation order."""
        drbg = self._drbg
        drbg.start_block(self._next_block)
        self._next_block += 1
        size = self._sizes[drbg.randbelow(len(self._sizes))]
        order = list(self._templates[size])
        randbelow = drbg.randbelow
        for i in range(size - 1, 0, -1):
            r = randbelow(i + 1)
            order[i], order[r] = order[r], order[i]
        return order


def iter_stratum_slots(
    seed: bytes, study_code: str, stratum_key: str, scheme: BlockScheme
) -> Iterator[Slot]:
    """Endless slot sequence of one stratum, block after block."""
    shuffler = BlockShuffler(seed, study_code, stratum_key, scheme)
    codes = scheme.arm_codes
    sequence = 0
    while True:
        block_number = shuffler.next_block_number
        order = shuffler.next_block()
        for position, arm_index in enumerate(order, start=1):
            sequence += 1
            yield Slot(sequence, block_number, len(order), position, codes[arm_index])


def generate_stratum_list(
    seed: bytes, study_code: str, stratum_key: str, scheme: BlockScheme, min_slots: int
) -> list[Slot]:
    """Slots of one stratum: at least ``min_slots``, always ending with a complete block."""
    if isinstance(min_slots, bool) or not isinstance(min_slots, int) or min_slots < 0:
        raise ValueError(f"min_slots must be an integer >= 0, got {min_slots!r}")
    slots: list[Slot] = []
    for slot in iter_stratum_slots(seed, study_code, stratum_key, scheme):
        if len(slots) >= min_slots and slot.position_in_block == 1:
            break
        slots.append(slot)
    return slots


def generate_schedule(
    seed: bytes,
    study_code: str,
    strata: Sequence[str],
    scheme: BlockScheme,
    min_slots_per_stratum: int,
) -> dict[str, list[Slot]]:
    """Every stratum's list, keyed by stratum key (each stratum is an independent stream)."""
    if len(set(strata)) != len(strata):
        raise ValueError("stratum keys must be unique")
    return {
        key: generate_stratum_list(seed, study_code, key, scheme, min_slots_per_stratum)
        for key in strata
    }


def _validate_factors(factors: Sequence[tuple[str, Sequence[str]]]) -> None:
    names = []
    for name, levels in factors:
        validate_token("factor name", name)
        if name == SITE_FACTOR:
            raise ValueError(f"'{SITE_FACTOR}' is reserved: pass sites separately")
        if isinstance(levels, str) or not levels:
            raise ValueError(f"factor {name!r} needs a non-empty list of levels")
        for level in levels:
            validate_token(f"level of factor {name!r}", level)
        if len(set(levels)) != len(levels):
            raise ValueError(f"factor {name!r} has duplicate levels {list(levels)}")
        names.append(name)
    if len(set(names)) != len(names):
        raise ValueError(f"factor names must be unique, got {names}")


def _validate_sites(sites: Sequence[str]) -> None:
    if isinstance(sites, str) or not sites:
        raise ValueError("sites must be a non-empty list of site codes (or None)")
    for site in sites:
        validate_token("site code", site)
    if len(set(sites)) != len(sites):
        raise ValueError(f"site codes must be unique, got {list(sites)}")


def stratum_keys(
    factors: Sequence[tuple[str, Sequence[str]]], sites: Sequence[str] | None = None
) -> list[str]:
    """Every stratum as ``name=level`` pairs joined by ``|`` (factor order kept, site last).

    The first factor varies slowest. Without factors and sites the single key is ``all``.
    """
    _validate_factors(factors)
    dimensions = [[f"{name}={level}" for level in levels] for name, levels in factors]
    if sites is not None:
        _validate_sites(sites)
        dimensions.append([f"{SITE_FACTOR}={site}" for site in sites])
    if not dimensions:
        return [UNSTRATIFIED_KEY]
    return ["|".join(parts) for parts in itertools.product(*dimensions)]


def stratum_key_for(
    factors: Sequence[tuple[str, Sequence[str]]],
    patient_levels: Mapping[str, str],
    site: str | None = None,
) -> str:
    """The stratum key of one patient, in the same canonical form as ``stratum_keys``."""
    _validate_factors(factors)
    parts = []
    for name, levels in factors:
        if name not in patient_levels:
            raise ValueError(f"no level given for stratification factor {name!r}")
        level = patient_levels[name]
        if level not in levels:
            raise ValueError(f"{level!r} is not a level of factor {name!r} ({list(levels)})")
        parts.append(f"{name}={level}")
    unknown = sorted(set(patient_levels) - {name for name, _ in factors})
    if unknown:
        raise ValueError(f"unknown stratification factors {unknown}")
    if site is not None:
        validate_token("site code", site)
        parts.append(f"{SITE_FACTOR}={site}")
    return "|".join(parts) if parts else UNSTRATIFIED_KEY
