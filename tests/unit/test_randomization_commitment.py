"""Canonical parameter/list serialisations and the published hash commitments."""

import hashlib

import pytest

from randomization.engine import (
    Arm,
    BlockScheme,
    canonical_list_bytes,
    canonical_minimization_parameters,
    canonical_parameters,
    generate_salt,
    generate_stratum_list,
    list_commitment,
    seed_commitment,
    stratum_keys,
)

SEED = bytes(range(32))
SCHEME = BlockScheme((Arm("CCRT", 2), Arm("RT", 1)), (6, 3))


def test_parameters_text_has_the_documented_lines_in_order():
    text = canonical_parameters(
        "NPC-03", SCHEME, ["site=02", "site=01"], 30, extra={"version": "2", "list": "prod"}
    ).decode()
    assert text == (
        "format=npc-edc-randomization-parameters/1\n"
        "generator=HMAC-SHA256/v1\n"
        "method=permuted_blocks\n"
        "study=NPC-03\n"
        "arms=CCRT:2,RT:1\n"
        "block_sizes=3,6\n"
        "min_slots_per_stratum=30\n"
        "stratum=site=01\n"
        "stratum=site=02\n"
        "extra.list=prod\n"
        "extra.version=2\n"
    )


def test_parameters_do_not_depend_on_the_order_strata_are_given():
    keys = stratum_keys([("rt", ["T3", "T4"])], ["01", "02"])
    assert canonical_parameters("S", SCHEME, keys, 12) == canonical_parameters(
        "S", SCHEME, list(reversed(keys)), 12
    )


def test_parameters_change_with_arm_order_because_the_shuffle_depends_on_it():
    swapped = BlockScheme((Arm("RT", 1), Arm("CCRT", 2)), (3, 6))
    assert canonical_parameters("S", SCHEME, ["all"], 12) != canonical_parameters(
        "S", swapped, ["all"], 12
    )


def build_lists(keys, min_slots=12):
    return {key: generate_stratum_list(SEED, "S", key, SCHEME, min_slots) for key in keys}


def test_list_commitment_is_sha256_of_parameters_then_the_documented_rows():
    keys = ["site=02", "site=01"]
    lists = build_lists(keys)
    params = canonical_parameters("S", SCHEME, keys, 12)
    rows = "".join(
        f"{key}\t{s.sequence}\t{s.block_number}\t{s.block_size}\t{s.position_in_block}\t{s.arm}\n"
        for key in ["site=01", "site=02"]
        for s in lists[key]
    )
    expected = hashlib.sha256(params + rows.encode()).hexdigest()
    assert canonical_list_bytes(lists) == rows.encode()
    assert list_commitment(params, lists) == expected


def test_list_commitment_changes_when_a_single_arm_changes():
    keys = ["site=01"]
    lists = build_lists(keys)
    params = canonical_parameters("S", SCHEME, keys, 12)
    original = list_commitment(params, lists)
    first = lists["site=01"][0]
    tampered = {
        "site=01": [type(first)(1, 1, first.block_size, 1, "RT" if first.arm == "CCRT" else "CCRT")]
        + lists["site=01"][1:]
    }
    assert list_commitment(params, tampered) != original


def test_list_commitment_refuses_lists_that_do_not_match_the_declared_strata():
    params = canonical_parameters("S", SCHEME, ["site=01", "site=02"], 12)
    with pytest.raises(ValueError, match="missing"):
        list_commitment(params, build_lists(["site=01"]))


def test_lists_must_be_complete_and_in_sequence_order():
    lists = build_lists(["site=01"])
    with pytest.raises(ValueError, match="sequence"):
        canonical_list_bytes({"site=01": lists["site=01"][1:]})


def test_seed_commitment_is_sha256_of_seed_then_salt():
    salt = bytes(range(200, 216))
    assert seed_commitment(SEED, salt) == hashlib.sha256(SEED + salt).hexdigest()


@pytest.mark.parametrize("salt", [b"", bytes(15)])
def test_seed_commitment_needs_a_salt_of_at_least_16_bytes(salt):
    with pytest.raises(ValueError, match="salt"):
        seed_commitment(SEED, salt)


def test_seed_commitment_needs_a_32_byte_seed():
    with pytest.raises(ValueError, match="32 bytes"):
        seed_commitment(bytes(16), bytes(16))


@pytest.mark.parametrize(
    "strata,min_slots",
    [([], 10), (["a", "a"], 10), (["a\nb"], 10), (["a"], -1)],
)
def test_invalid_parameters_are_rejected(strata, min_slots):
    with pytest.raises(ValueError):
        canonical_parameters("S", SCHEME, strata, min_slots)


def test_minimization_parameters_text():
    text = canonical_minimization_parameters(
        "NPC-04",
        (Arm("A"), Arm("B")),
        [("site", ["01", "02"]), ("stage", ["III", "IVA"])],
        {"site": 1.0, "stage": 0.5},
        0.8,
    ).decode()
    assert text == (
        "format=npc-edc-randomization-parameters/1\n"
        "generator=HMAC-SHA256/v1\n"
        "method=minimization\n"
        "study=NPC-04\n"
        "arms=A:1,B:1\n"
        "p=0.8\n"
        "factor=site:1.0:01,02\n"
        "factor=stage:0.5:III,IVA\n"
    )


def test_minimization_parameters_need_a_weight_per_factor():
    with pytest.raises(ValueError, match="no weight"):
        canonical_minimization_parameters("S", (Arm("A"), Arm("B")), [("stage", ["III"])], {}, 0.8)


def test_generated_salts_are_long_enough_for_the_seed_commitment():
    salt = generate_salt()
    assert salt != generate_salt()
    assert seed_commitment(SEED, salt) == hashlib.sha256(SEED + salt).hexdigest()
