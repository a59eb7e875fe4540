"""The v1 HMAC generator against values computed directly with the standard hmac module."""

import hashlib
import hmac
import re

import pytest

from randomization.engine import drbg as drbg_module
from randomization.engine import generate_seed
from randomization.engine.drbg import HmacDrbg

SEED = bytes(range(32))


def reference_digest(seed: bytes, study: str, stream: str, block: int, counter: int) -> bytes:
    message = f"v1|{study}|{stream}|{block}|{counter}".encode()
    return hmac.new(seed, message, hashlib.sha256).digest()


def reference_randbelow(digests: list[bytes], n: int) -> tuple[int, int]:
    """Value and number of draws used, following the documented rejection rule."""
    limit = (2**256 // n) * n
    for used, digest in enumerate(digests, start=1):
        value = int.from_bytes(digest, "big")
        if value < limit:
            return value % n, used
    raise AssertionError("ran out of reference draws")


def test_first_twenty_draws_match_hmac_sha256_of_the_documented_message():
    generator = HmacDrbg(SEED, "NPC-01", "response=CR|rt=T3|site=01", block=3)
    for counter in range(20):
        expected = reference_digest(SEED, "NPC-01", "response=CR|rt=T3|site=01", 3, counter)
        assert generator.next_digest() == expected


def test_first_twenty_randbelow_values_match_the_reference_rule():
    generator = HmacDrbg(SEED, "NPC-01", "all")
    for counter, n in enumerate(range(1, 21)):
        digest = reference_digest(SEED, "NPC-01", "all", 1, counter)
        assert generator.randbelow(n) == int.from_bytes(digest, "big") % n
    assert generator.counter == 20


def test_counter_restarts_at_zero_for_each_block():
    generator = HmacDrbg(SEED, "S", "all")
    generator.next_digest()
    generator.next_digest()
    generator.start_block(7)
    assert generator.counter == 0
    assert generator.next_digest() == reference_digest(SEED, "S", "all", 7, 0)


def test_rejection_sampling_redraws_with_the_next_counter():
    # With n just above 2**255 about half of all draws are rejected, so the rejection path
    # is exercised within a handful of draws.
    n = 2**255 + 12345
    digests = [reference_digest(SEED, "S", "all", 1, c) for c in range(200)]
    generator = HmacDrbg(SEED, "S", "all")
    position = 0
    rejections_seen = 0
    for _ in range(40):
        expected, used = reference_randbelow(digests[position:], n)
        assert generator.randbelow(n) == expected
        position += used
        rejections_seen += used - 1
        assert generator.counter == position
    assert rejections_seen > 0


def test_randbelow_of_two_pow_256_returns_the_raw_integer():
    generator = HmacDrbg(SEED, "S", "all")
    expected = int.from_bytes(reference_digest(SEED, "S", "all", 1, 0), "big")
    assert generator.randbelow(2**256) == expected


def test_the_test_vector_published_in_the_module_docstring_is_correct():
    doc = drbg_module.__doc__
    published = re.search(r"digest = ``([0-9a-f]{64})``", doc).group(1)
    assert published == reference_digest(bytes(range(32)), "NPC-TEST", "all", 1, 0).hex()


def test_non_ascii_stream_is_encoded_as_utf8():
    generator = HmacDrbg(SEED, "S", "centre=Zhōngshān")
    assert generator.next_digest() == reference_digest(SEED, "S", "centre=Zhōngshān", 1, 0)


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33)])
def test_seed_must_be_32_bytes(seed):
    with pytest.raises(ValueError, match="32 bytes"):
        HmacDrbg(seed, "S", "all")


def test_seed_must_be_bytes():
    with pytest.raises(TypeError):
        HmacDrbg("0" * 32, "S", "all")  # type: ignore[arg-type]


@pytest.mark.parametrize("study", ["", "A|B", "A\nB"])
def test_study_code_that_would_make_the_message_ambiguous_is_rejected(study):
    with pytest.raises(ValueError):
        HmacDrbg(SEED, study, "all")


@pytest.mark.parametrize("n", [0, -1, 2**256 + 1, True, 2.0])
def test_randbelow_rejects_out_of_range_bounds(n):
    with pytest.raises(ValueError):
        HmacDrbg(SEED, "S", "all").randbelow(n)


@pytest.mark.parametrize("block", [0, -3, True])
def test_block_numbers_start_at_one(block):
    with pytest.raises(ValueError):
        HmacDrbg(SEED, "S", "all").start_block(block)


def test_different_seeds_studies_and_streams_give_different_streams():
    first = HmacDrbg(SEED, "S", "a").next_digest()
    assert HmacDrbg(bytes(32), "S", "a").next_digest() != first
    assert HmacDrbg(SEED, "T", "a").next_digest() != first
    assert HmacDrbg(SEED, "S", "b").next_digest() != first


def test_generated_seeds_are_32_fresh_bytes():
    seeds = {generate_seed() for _ in range(5)}
    assert len(seeds) == 5
    assert all(len(seed) == 32 for seed in seeds)
