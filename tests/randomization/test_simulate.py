"""simulate_randomization against the exact values of randomization.md (Table 1 and below)."""

import copy
import re
from io import StringIO

import yaml
from django.core.management import call_command

from edc.audit.context import ChangeContext
from edc.studies.services import load_study_definition
from tests.factories import FIXTURES


def load_unstratified_study(block_sizes):
    data = yaml.safe_load((FIXTURES / "minimal_study.yaml").read_text())
    data = copy.deepcopy(data)
    data["code"] = "T-SIM"
    data["target_enrollment"] = 100
    data["randomization"]["factors"] = []
    data["randomization"]["block_sizes"] = block_sizes
    return load_study_definition(ChangeContext.system(), data, source_name="sim.yaml").study


def figures(output: str) -> dict[str, float]:
    result = output.strip().splitlines()[-1]
    assert result.startswith("RESULT ")
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result)}


def test_simulation_of_random_blocks_2_4_matches_the_exact_values(db):
    load_unstratified_study([2, 4])
    out = StringIO()
    call_command("simulate_randomization", "T-SIM", "--runs", "1500", stdout=out)
    text = out.getvalue()
    assert "n=100, 1500 runs" in text
    values = figures(text)
    # randomization.md: PBD random {2,4}, n=100: CG .7215, E max|D| 1.998. Tolerances are
    # about 4 standard errors of 1500 runs.
    assert abs(values["correct_guess_overall"] - 0.7215) < 0.004
    assert abs(values["max_imbalance"] - 1.998) < 0.01
    # Unstratified: the within-stratum figures are the overall ones.
    assert values["correct_guess_within_strata"] == values["correct_guess_overall"]
    assert values["final_imbalance"] <= 2


def test_simulation_of_fixed_blocks_of_4_gives_the_closed_form_guess_rate(db):
    load_unstratified_study([4])
    out = StringIO()
    call_command("simulate_randomization", "T-SIM", "--runs", "1000", stdout=out)
    values = figures(out.getvalue())
    # PBD(4): n=100 is 25 whole blocks, so D_100 = 0 and max |D| = 2 in every run; the expected
    # guess rate is the closed form (2 + 2**3 / C(4, 2) - 1/2) / 4 = 17/24 (Table 1: .7083).
    assert values["final_imbalance"] == 0
    assert values["max_imbalance"] == 2
    assert abs(values["correct_guess_overall"] - 17 / 24) < 0.004
