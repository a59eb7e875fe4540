"""Wrapping the 32-byte randomization seed at rest. Pure Python: no Django import.

Encrypt-then-MAC with HMAC-SHA256 as the pseudo-random function (the standard library has no
block cipher): ``blob = nonce(16) || seed XOR HMAC(k_enc, "seed-wrap|" || nonce) || tag(32)``
with ``tag = HMAC(k_mac, nonce || ciphertext)``. ``k_enc`` and ``k_mac`` are derived from the
server key, whose short fingerprint (``key_id``) is stored beside the blob so a changed key is
reported as such instead of as tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

NONCE_LENGTH = 16
TAG_LENGTH = 32
SEED_LENGTH = 32


class SeedVaultError(ValueError):
    pass


def _derive(key: bytes, purpose: bytes) -> bytes:
    return hmac.digest(key, b"npc-edc-seed-vault|" + purpose, hashlib.sha256)


def key_id(key: bytes) -> str:
    return _derive(key, b"key-id").hex()[:16]


def wrap(seed: bytes, key: bytes) -> bytes:
    if len(seed) != SEED_LENGTH:
        raise SeedVaultError(f"the seed must be {SEED_LENGTH} bytes")
    nonce = secrets.token_bytes(NONCE_LENGTH)
    stream = hmac.digest(_derive(key, b"enc"), b"seed-wrap|" + nonce, hashlib.sha256)
    ciphertext = bytes(a ^ b for a, b in zip(seed, stream, strict=True))
    tag = hmac.digest(_derive(key, b"mac"), nonce + ciphertext, hashlib.sha256)
    return nonce + ciphertext + tag


def unwrap(blob: bytes, key: bytes, expected_key_id: str) -> bytes:
    if key_id(key) != expected_key_id:
        raise SeedVaultError(
            "the seed was wrapped with a different server key (RANDOMIZATION_SEED_KEY changed?)"
        )
    blob = bytes(blob)
    if len(blob) != NONCE_LENGTH + SEED_LENGTH + TAG_LENGTH:
        raise SeedVaultError("the wrapped seed has the wrong length")
    nonce = blob[:NONCE_LENGTH]
    ciphertext = blob[NONCE_LENGTH : NONCE_LENGTH + SEED_LENGTH]
    tag = blob[NONCE_LENGTH + SEED_LENGTH :]
    expected = hmac.digest(_derive(key, b"mac"), nonce + ciphertext, hashlib.sha256)
    if not hmac.compare_digest(tag, expected):
        raise SeedVaultError("the wrapped seed fails its integrity check")
    stream = hmac.digest(_derive(key, b"enc"), b"seed-wrap|" + nonce, hashlib.sha256)
    return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=True))
