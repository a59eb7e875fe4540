"""Deterministic random bit generator built on HMAC-SHA256 (generator version ``v1``).

Every random decision of the randomization engine is derived from this generator so that
anybody holding the escrowed seed can regenerate the schedule with nothing more than an
HMAC-SHA256 implementation and big-integer arithmetic.

Byte layout of one draw
-----------------------
``digest = HMAC-SHA256(key=seed, msg=message)`` where

* ``seed`` is exactly 32 bytes (the secret generated with ``secrets.token_bytes(32)``);
* ``message`` is the UTF-8 encoding of ``"v1|{study}|{stream}|{block}|{counter}"``:

  - ``v1``: generator version; any change to this scheme must bump it;
  - ``study``: the study code (must not contain ``|`` so the message stays unambiguous);
  - ``stream``: the stratum key (for example ``response=CR|rt=T3|site=01``; ``all`` when the
    study is not stratified) or another named stream such as ``minimization``;
  - ``block``: the 1-based block number as a decimal integer without leading zeros;
  - ``counter``: the 0-based draw counter *within that block*, decimal, restarting at 0
    every time a new block starts.

Integer from a draw and ``randbelow(n)``
----------------------------------------
The 32-byte digest is read as an unsigned big-endian integer ``x`` (0 <= x < 2**256).
``randbelow(n)`` (1 <= n <= 2**256) computes ``limit = (2**256 // n) * n``; if ``x < limit`` it
returns ``x % n``, otherwise the draw is rejected and the next counter value is used. Each call
therefore consumes one draw (a rejection is astronomically rare for small ``n``), and the
result is exactly uniform: there is no modulo bias.

Test vector
-----------
seed = bytes 0x00..0x1f, message ``v1|NPC-TEST|all|1|0``:
digest = ``b4635f6579eeaf1a974f0080b789bc318b5de0479cbd68c8ec34bc02aae507f6``
(see ``tests/unit/test_randomization_drbg.py``, which recomputes it with the ``hmac`` module).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol

GENERATOR_VERSION = "v1"
SEED_LENGTH = 32
_TWO_POW_256 = 1 << 256
_SHA256_BLOCK = 64
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


class RandomSource(Protocol):
    """Anything that can return a uniform integer in ``range(n)``."""

    def randbelow(self, n: int) -> int: ...


def generate_seed() -> bytes:
    """A fresh 256-bit seed from the operating system's CSPRNG."""
    return secrets.token_bytes(SEED_LENGTH)


def validate_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes | bytearray):
        raise TypeError("the seed must be bytes")
    if len(seed) != SEED_LENGTH:
        raise ValueError(f"the seed must be exactly {SEED_LENGTH} bytes, got {len(seed)}")


def validate_study_code(study_code: str) -> None:
    if not study_code:
        raise ValueError("the study code must not be empty")
    if "|" in study_code or any(ord(ch) < 32 or ord(ch) == 127 for ch in study_code):
        raise ValueError(
            f"study code {study_code!r} must not contain '|' or control characters "
            "(the generator message would become ambiguous)"
        )


class HmacDrbg:
    """Counter-mode HMAC-SHA256 stream for one (seed, study, stream); see the module docstring."""

    __slots__ = ("_inner", "_outer", "_stream_prefix", "_block", "_block_prefix", "_counter")

    def __init__(self, seed: bytes, study_code: str, stream: str, block: int = 1) -> None:
        validate_seed(seed)
        validate_study_code(study_code)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in stream):
            raise ValueError(f"stream {stream!r} must not contain control characters")
        # HMAC (RFC 2104) with the keyed inner and outer SHA-256 states computed once and
        # copied per draw: about twice as fast as hmac.new per draw, which matters for the
        # Monte Carlo metrics (millions of draws). Tests compare it with the hmac module.
        key = bytes(seed).ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))
        self._stream_prefix = f"{GENERATOR_VERSION}|{study_code}|{stream}|".encode()
        self.start_block(block)

    @property
    def block(self) -> int:
        return self._block

    @property
    def counter(self) -> int:
        """Counter value the next draw will use."""
        return self._counter

    def start_block(self, block: int) -> None:
        """Move to ``block`` (1-based); the draw counter restarts at 0."""
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ValueError(f"block number must be an integer >= 1, got {block!r}")
        self._block = block
        self._block_prefix = self._stream_prefix + b"%d|" % block
        self._counter = 0

    def next_digest(self) -> bytes:
        """The next 32-byte HMAC output; advances the counter by one."""
        inner = self._inner.copy()
        inner.update(self._block_prefix + b"%d" % self._counter)
        self._counter += 1
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def randbelow(self, n: int) -> int:
        """Uniform integer in ``range(n)`` by rejection sampling on 256-bit draws."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _TWO_POW_256:
            raise ValueError(f"randbelow needs an integer 1 <= n <= 2**256, got {n!r}")
        limit = (_TWO_POW_256 // n) * n
        while True:
            value = int.from_bytes(self.next_digest(), "big")
            if value < limit:
                return value % n
