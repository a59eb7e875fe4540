"""Simulated operating characteristics of engine-generated lists against randomization.md.

Every figure below is simulated with the engine itself (HMAC generator, real block lists), and
compared with the exact values of Tables 1 and 2 within 3 Monte Carlo standard errors computed
from the per-run values, plus half a unit of the last digit printed in the table (the reference
values are rounded). Integer entries of the tables are written with the 3 decimals that the
other entries of the same column carry. Table 3 was itself simulated, so its checks also
allow for the reference's own Monte Carlo error. The master seed is arbitrary and was not tuned.
"""

import hashlib
import math

import pytest

from randomization.engine import (
    Arm,
    BlockScheme,
    CompleteRandomizationDesign,
    Factor,
    MinimizationDesign,
    PermutedBlockDesign,
    simulate,
)

MASTER_SEED = hashlib.sha256(b"randomization oracle tests").digest()
TWO = (Arm("A"), Arm("B"))
FOUR = (Arm("A"), Arm("B"), Arm("C"), Arm("D"))
TWO_TO_ONE = (Arm("A", 2), Arm("B", 1))


def half_unit(reference: str) -> float:
    decimals = len(reference.split(".")[1]) if "." in reference else 0
    return 0.5 * 10**-decimals


def assert_within_monte_carlo_error(estimate, reference: str, label: str):
    tolerance = 3 * estimate.standard_error + half_unit(reference)
    assert abs(estimate.mean - float(reference)) <= tolerance, (
        f"{label}: simulated {estimate.mean:.5f} ± {estimate.standard_error:.5f} "
        f"vs reference {reference}"
    )


@pytest.mark.parametrize(
    "sizes,correct_guess,expected_max,runs",
    [
        ((2,), ".7500", "1.000", 2000),
        ((4,), ".7083", "2.000", 2000),
        ((6,), ".6800", "2.833", 2000),
        ((8,), ".6621", "3.276", 2000),
        # About 1 run in 500 never reaches |D| = 2; 8000 runs give the standard error
        # enough such runs to be estimated.
        ((2, 4), ".7215", "1.998", 8000),
        ((4, 6), ".6917", "2.643", 2000),
    ],
)
def test_table_1_two_arms_n_100(sizes, correct_guess, expected_max, runs):
    result = simulate(PermutedBlockDesign(BlockScheme(TWO, sizes)), 100, runs, MASTER_SEED)
    assert_within_monte_carlo_error(result.correct_guess, correct_guess, f"CG PBD {sizes}")
    assert_within_monte_carlo_error(result.max_imbalance, expected_max, f"E max|D| PBD {sizes}")


def test_table_1_complete_randomization_n_100():
    result = simulate(CompleteRandomizationDesign(TWO), 100, 2000, MASTER_SEED)
    assert_within_monte_carlo_error(result.max_imbalance, "12.054", "CR E max|D|")
    assert_within_monte_carlo_error(result.final_imbalance, "7.959", "CR E|D_n|")
    # Nothing is predictable: every guess is right with probability 1/2.
    assert_within_monte_carlo_error(result.correct_guess, ".5000", "CR CG")


@pytest.mark.parametrize(
    "sizes,correct_guess,expected_max_range",
    [
        ((4,), ".5208", "1.000"),
        ((8,), ".4627", "2.000"),
        ((4, 8), ".4848", "2.000"),
    ],
)
def test_table_2_four_arms_n_84(sizes, correct_guess, expected_max_range):
    result = simulate(PermutedBlockDesign(BlockScheme(FOUR, sizes)), 84, 2000, MASTER_SEED)
    assert_within_monte_carlo_error(result.correct_guess, correct_guess, f"CG PBD {sizes}")
    assert_within_monte_carlo_error(result.max_imbalance, expected_max_range, f"max range {sizes}")
    # 84 is a whole number of blocks of 4 only; with 8s the trial can stop inside a block.
    assert (result.final_imbalance.mean == 0) == (sizes == (4,))


def test_table_2_four_arms_complete_randomization():
    result = simulate(CompleteRandomizationDesign(FOUR), 84, 2000, MASTER_SEED)
    assert_within_monte_carlo_error(result.correct_guess, ".2500", "CR CG")
    assert_within_monte_carlo_error(result.max_imbalance, "11.33", "CR E max range")


@pytest.mark.parametrize(
    "sizes,correct_guess", [((3,), ".7222"), ((6,), ".6778"), ((3, 6), ".6915")]
)
def test_table_2_two_to_one_n_90(sizes, correct_guess):
    result = simulate(PermutedBlockDesign(BlockScheme(TWO_TO_ONE, sizes)), 90, 2000, MASTER_SEED)
    assert_within_monte_carlo_error(result.correct_guess, correct_guess, f"CG 2:1 PBD {sizes}")


REFERENCE_REPLICATES = 4000  # Table 3 was itself simulated with 4000 replicates


def assert_within_table_3_error(estimate, reference: str, label: str):
    # Both sides carry Monte Carlo error; the reference SE is estimated from our per-run SD.
    runs = len(estimate.values)
    sd = estimate.standard_error * math.sqrt(runs)
    combined = math.hypot(estimate.standard_error, sd / math.sqrt(REFERENCE_REPLICATES))
    tolerance = 3 * combined + half_unit(reference)
    assert abs(estimate.mean - float(reference)) <= tolerance, (
        f"{label}: simulated {estimate.mean:.4f} ± {combined:.4f} vs reference {reference}"
    )


@pytest.mark.parametrize(
    "arms,n,references",
    [
        (TWO, 94, ("1.94", ".24", "1.49", ".692")),  # T1: 2 arms, n=94, 8 strata
        (FOUR, 84, ("2.57", ".19", "1.00", ".492")),  # T3: 4 arms, n=84, 8 strata
    ],
)
def test_table_3_stratified_fixed_blocks_of_four(arms, n, references):
    design = PermutedBlockDesign(
        BlockScheme(arms, (4,)),
        factors=(Factor("response", ("CR", "PR")),),
        site=Factor("site", ("01", "02", "03", "04"), (0.4, 0.3, 0.2, 0.1)),
    )
    result = simulate(design, n, 1500, MASTER_SEED)
    assert result.stratum_count == 8
    overall, at_least_four, largest_within, correct_guess = references
    assert_within_table_3_error(result.final_imbalance, overall, "E|overall imbalance|")
    assert_within_table_3_error(result.final_imbalance_at_least_threshold, at_least_four, "P(>=4)")
    assert_within_table_3_error(result.stratum_final_imbalance, largest_within, "largest within")
    assert_within_table_3_error(result.correct_guess, correct_guess, "CG, stratum history")


def test_table_3_pocock_simon_on_trial_1():
    # T1 minimization row: site (.4/.3/.2/.1) and one 50/50 factor, equal weights, p = .8;
    # the CG column is the fully informed guesser, who guesses the minimizing arm(s).
    design = MinimizationDesign(
        TWO,
        (
            Factor("site", ("01", "02", "03", "04"), (0.4, 0.3, 0.2, 0.1)),
            Factor("response", ("CR", "PR")),
        ),
        {"site": 1.0, "response": 1.0},
        0.8,
    )
    result = simulate(design, 94, 800, MASTER_SEED)
    assert_within_table_3_error(result.final_imbalance, "1.31", "E|overall imbalance|")
    assert_within_table_3_error(result.final_imbalance_at_least_threshold, ".10", "P(>=4)")
    assert_within_table_3_error(result.informed_correct_guess, ".714", "informed CG")


@pytest.mark.parametrize(
    "arms,sizes,n",
    [
        (TWO, (2, 4, 6), 30),
        (TWO_TO_ONE, (3, 6), 30),
        (FOUR, (4, 8), 24),
    ],
)
def test_allocation_ratio_is_preserved_at_every_position(arms, sizes, n):
    runs = 4000
    result = simulate(PermutedBlockDesign(BlockScheme(arms, sizes)), n, runs, MASTER_SEED)
    total = sum(arm.ratio for arm in arms)
    for position, row in enumerate(result.position_arm_counts, start=1):
        assert sum(row) == runs
        for arm, count in zip(arms, row, strict=True):
            target = arm.ratio / total
            tolerance = 4 * math.sqrt(target * (1 - target) / runs)
            assert abs(count / runs - target) <= tolerance, (position, arm.code, count / runs)
