"""The simulation driver: seed derivation, determinism, design validation and reporting."""

import hashlib
import hmac

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
from randomization.engine.simulation import run_seed

MASTER = bytes(range(32))
TWO = (Arm("A"), Arm("B"))


def test_run_seeds_are_hmac_of_the_master_seed_and_run_number():
    for run in (0, 1, 9999):
        expected = hmac.new(MASTER, f"simulation-run|{run}".encode(), hashlib.sha256).digest()
        assert run_seed(MASTER, run) == expected


def test_simulation_is_deterministic_given_the_master_seed():
    design = PermutedBlockDesign(BlockScheme(TWO, (4, 6)), (Factor("r", ("x", "y")),))
    first = simulate(design, 40, 20, MASTER)
    assert first == simulate(design, 40, 20, MASTER)
    assert first != simulate(design, 40, 20, bytes(32))


def test_unstratified_permuted_blocks_ends_balanced_when_n_is_whole_blocks():
    result = simulate(PermutedBlockDesign(BlockScheme(TWO, (4,))), 40, 50, MASTER)
    assert result.stratum_count == 1
    assert result.final_imbalance.mean == 0
    assert result.final_imbalance.standard_error == 0
    assert result.correct_guess.values == result.correct_guess_overall_history.values


def test_stratified_design_reports_within_strata_and_overall_separately():
    design = PermutedBlockDesign(
        BlockScheme(TWO, (4,)),
        (Factor("r", ("x", "y")),),
        Factor("site", ("01", "02", "03"), (0.5, 0.3, 0.2)),
    )
    result = simulate(design, 60, 200, MASTER)
    assert result.stratum_count == 6
    # Blocks of 4 bound every within-stratum imbalance by 2; incomplete blocks add up overall.
    assert max(result.stratum_max_imbalance.values) <= 2
    assert max(result.final_imbalance.values) > 2
    # The guesser who knows the stratum history does better than one who sees only the trial.
    assert result.correct_guess.mean > result.correct_guess_overall_history.mean + 0.05


def test_position_counts_cover_every_run():
    result = simulate(CompleteRandomizationDesign((Arm("A", 2), Arm("B"))), 7, 30, MASTER)
    assert len(result.position_arm_counts) == 7
    assert all(sum(row) == 30 for row in result.position_arm_counts)
    assert result.arm_codes == ("A", "B")
    assert result.ratios == (2, 1)


def test_imbalance_threshold_is_reported_as_a_proportion():
    result = simulate(CompleteRandomizationDesign(TWO), 30, 200, MASTER, imbalance_threshold=4)
    expected = sum(v >= 4 for v in result.final_imbalance.values) / 200
    assert result.final_imbalance_at_least_threshold.mean == pytest.approx(expected)


def test_factor_thresholds_end_exactly_at_two_to_the_53():
    assert Factor("site", ("a", "b", "c", "d"), (0.4, 0.3, 0.2, 0.1)).thresholds()[-1] == 2**53
    assert Factor("r", ("x", "y")).thresholds() == (2**52, 2**53)


@pytest.mark.parametrize(
    "levels,probabilities",
    [
        ((), None),
        (("a", "a"), None),
        (("a", "b"), (0.5,)),
        (("a", "b"), (0.7, 0.7)),
        (("a", "b"), (1.5, -0.5)),
    ],
)
def test_invalid_factors_are_rejected(levels, probabilities):
    with pytest.raises(ValueError):
        Factor("f", levels, probabilities)


@pytest.mark.parametrize(
    "design",
    [
        PermutedBlockDesign(BlockScheme(TWO, (2,)), site=Factor("centre", ("1", "2"))),
        PermutedBlockDesign(BlockScheme(TWO, (2,)), (Factor("site", ("1", "2")),)),
        MinimizationDesign(TWO, (Factor("f", ("x",)),), {"g": 1.0}),
        MinimizationDesign(TWO, (), {}),
        MinimizationDesign(TWO, (Factor("f", ("x",)),), {"f": 1.0}, p=1.0),
        CompleteRandomizationDesign((Arm("A"),)),
    ],
)
def test_invalid_designs_are_rejected(design):
    with pytest.raises(ValueError):
        simulate(design, 10, 2, MASTER)


@pytest.mark.parametrize("n,runs", [(0, 10), (10, 1)])
def test_needs_patients_and_at_least_two_runs(n, runs):
    with pytest.raises(ValueError):
        simulate(CompleteRandomizationDesign(TWO), n, runs, MASTER)
