"""What check_study accepts goes live and randomizes; what it refuses names a path (issue 14).
Study files are variants of the minimal study with their own randomization section and the
randomization form's items to match."""

import copy
import io
import math
import random
import threading
from fractions import Fraction

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.models import Study
from edc.studies.protocol import validate
from edc.studies.services import create_site, load_study_definition
from edc.subjects.services import transition
from randomization.models import Allocation, Commitment
from randomization.selectors import balance, balance_row
from randomization.services import follow_up_allocations, go_live, randomize
from tests.factories import FIXTURES, UserFactory, member, screen
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.helpers import make_eligible, store_form

ARM_CODES = "ABCDEF"


def study_data(code: str, *, arms=None, factors=(), **settings) -> dict:
    """The minimal study with ``arms`` [(code, ratio)], ``factors`` [(code, [level codes])]
    read from choice items of the randomization form, and the section's other settings."""
    data = copy.deepcopy(yaml.safe_load((FIXTURES / "minimal_study.yaml").read_text()))
    data["code"] = code
    if arms is not None:
        data["arms"] = [{"code": c, "name": f"Arm {c}", "ratio": r} for c, r in arms]
    form = next(f for f in data["forms"] if f["code"] == "randomization")
    form["items"] = [
        {
            "code": f"F{i}",
            "label": f"Factor {name}",
            "type": "choice",
            "choices": [{"code": level, "label": f"Level {level}"} for level in levels],
        }
        for i, (name, levels) in enumerate(factors)
    ]
    data["randomization"] = {
        "factors": [
            {
                "code": name,
                "name": name,
                "source": {"form": "randomization", "item": f"F{i}"},
                "levels": [{"code": level, "label": f"Level {level}"} for level in levels],
            }
            for i, (name, levels) in enumerate(factors)
        ],
        **settings,
    }
    return data


def paths(data) -> list[str]:
    return [problem.path for problem in validate(data)]


def load(data):
    return load_study_definition(ChangeContext.system(), data, source_name="x.yaml").study


def ready_subject(site, values: dict):
    """Registered, randomization form entered with ``values`` (by item), eligibility signed."""
    subject = screen(site)
    subject = transition(ChangeContext.system(), subject, "registered", on_date=site.today())
    store_form(subject, "RAND", "randomization", values)
    make_eligible([subject])
    return subject


def live_at_one_site(study, **site_fields):
    """Site 01 of ``study``, and the study gone live on it with the fixed seed."""
    site = create_site(ChangeContext.system(), study, code="01", name="One", **site_fields)
    return site, go_live(ChangeContext.system(), study, seed=FIXED_SEED)


def staff(site):
    user = UserFactory()
    member(user, site, "site_staff")
    return ChangeContext(user, "api")


# ---- each listed case -------------------------------------------------------------------


def test_integer_levels_go_live_and_randomize_and_are_committed_as_text(db):
    study = load(
        study_data(
            "T-INT",
            factors=[("ecog", [0, 1])],
            method="stratified_permuted_block",
            block_sizes=[2, 4],
        )
    )
    site, live = live_at_one_site(study)
    assert [level["code"] for level in live.scheme.params["factors"][0]["levels"]] == ["0", "1"]
    assert sorted(live.scheme.strata.values_list("key", flat=True)) == ["ecog=0", "ecog=1"]
    allocation = randomize(staff(site), ready_subject(site, {"F0": 1})).allocation
    assert allocation.stratum.key == "ecog=1" and allocation.stratum_values["ecog"] == "1"


def test_minimization_with_integer_levels_goes_live_and_randomizes(db):
    study = load(
        study_data(
            "T-INTM",
            factors=[("ecog", [0, 1])],
            method="minimization",
            minimization_probability=0.8,
        )
    )
    site, _ = live_at_one_site(study)
    made = [randomize(staff(site), ready_subject(site, {"F0": n % 2})).allocation for n in range(4)]
    assert [a.stratum_values["ecog"] for a in made] == ["0", "1", "0", "1"]


def test_a_level_and_its_text_cannot_both_be_levels():
    data = study_data(
        "T-DUP", factors=[("ecog", [0, "0"])], method="stratified_permuted_block", block_sizes=[2]
    )
    assert paths(data) == ["randomization.factors[0].levels[1].code"]


def test_duplicate_block_sizes_are_refused_at_their_path():
    data = study_data("T-DUPS", method="stratified_permuted_block", block_sizes=[4, 4])
    assert paths(data) == ["randomization.block_sizes[1]"]


# 1.0, 0.5 and 0.3 fail the schema; 0.9999999 and 0.5000001 pass it but are 1 and 1/2 at the
# generator's precision (denominators up to 10^6): the first went live before and assigned
# every patient to the minimizing arm.
@pytest.mark.parametrize("p", [1.0, 0.5, 0.3, 0.9999999, 0.5000001])
def test_a_probability_without_a_random_element_is_refused(p):
    data = study_data(
        "T-P", factors=[("ecog", [0, 1])], method="minimization", minimization_probability=p
    )
    assert paths(data) == ["randomization.minimization_probability"]


def test_more_than_10000_slots_per_stratum_are_refused():
    # Go-live makes every slot at once: ten million per stratum would exhaust the server.
    data = study_data(
        "T-LEN", factors=[("ecog", [0, 1])], method="stratified_permuted_block", block_sizes=[4]
    )
    data["randomization"]["list_length_per_stratum"] = 10_000
    assert paths(data) == []
    data["randomization"]["list_length_per_stratum"] = 10_001
    problems = validate(data)
    assert [p.path for p in problems] == ["randomization.list_length_per_stratum"]
    assert "at most 10000" in problems[0].message
    # Without a list length, the target enrolment is the length.
    del data["randomization"]["list_length_per_stratum"]
    data["target_enrollment"] = 10_001
    problems = validate(data)
    assert [p.path for p in problems] == ["randomization.list_length_per_stratum"]
    assert "target_enrollment (10001)" in problems[0].message
    data["randomization"]["list_length_per_stratum"] = 500
    assert paths(data) == []


def test_minimization_with_nothing_to_balance_is_refused():
    data = study_data("T-NONE", method="minimization", minimization_probability=0.8)
    problems = validate(data)
    assert [p.path for p in problems] == ["randomization.factors"]
    assert "at least one factor" in problems[0].message
    data["randomization"]["stratify_by_site"] = True  # the site is a factor to balance
    assert paths(data) == []


def test_a_factor_named_site_is_refused_at_its_code():
    data = study_data(
        "T-SITE", factors=[("site", ["A", "B"])], method="stratified_permuted_block",
        block_sizes=[2],
    )  # fmt: skip
    assert paths(data) == ["randomization.factors[0].code"]


def test_the_section_s_problems_are_reported_beside_the_file_s_other_problems():
    # Before, a file with any other problem showed only that one, and the duplicate block
    # size appeared after it was fixed.
    data = study_data("T-TWO", method="stratified_permuted_block", block_sizes=[4, 4])
    data["dates"] = {"birth_date": {"form": "demographics", "item": "NOPE"}}
    assert paths(data) == ["dates.birth_date", "randomization.block_sizes[1]"]


@pytest.mark.parametrize(
    "method, setting, value",
    [
        ("stratified_permuted_block", "minimization_probability", 0.8),
        ("minimization", "block_sizes", [2, 4]),
        ("minimization", "list_length_per_stratum", 50),
    ],
)
def test_a_setting_that_does_not_apply_to_the_method_is_an_error(method, setting, value):
    settings = {"block_sizes": [2, 4]} if method == "stratified_permuted_block" else {}
    data = study_data(
        "T-SET", factors=[("ecog", [0, 1])], method=method, **{**settings, setting: value}
    )
    problems = validate(data)
    assert [p.path for p in problems] == [f"randomization.{setting}"]
    assert "applies only to" in problems[0].message


def test_a_study_file_cannot_choose_a_procedure_that_does_not_keep_the_ratio():
    # Unequal-ratio minimization always runs over the ratio's units (the scheme records it,
    # see the last test below); the naive ratio-scaled procedure exists only for simulations.
    data = study_data(
        "T-PROC", arms=[("A", 2), ("B", 1)], factors=[("ecog", [0, 1])], method="minimization",
        procedure="ratio_scaled",
    )  # fmt: skip
    assert paths(data) == ["randomization.procedure"]


def test_a_stratum_cap_does_not_apply_to_minimization():
    data = study_data(
        "T-CAPM", factors=[("ecog", [0, 1])], method="minimization", caps={"stratum": 10}
    )
    assert paths(data) == ["randomization.caps.stratum"]


def test_simulate_randomization_reports_a_bad_seed_as_a_command_error(db):
    load(study_data("T-SEED", method="stratified_permuted_block", block_sizes=[2, 4]))
    for seed in ("1", "zz" * 32, "ab" * 31):
        with pytest.raises(CommandError, match="--seed must be 64 hex digits"):
            call_command("simulate_randomization", "T-SEED", "--seed", seed, "--runs", "2")


def test_simulate_randomization_prints_arp_and_factor_imbalance_for_unequal_minimization(db):
    from io import StringIO

    load(
        study_data(
            "T-SIM3",
            arms=[("A", 2), ("B", 1), ("C", 1)],
            factors=[("ecog", [0, 1]), ("stage", ["III", "IV"])],
            method="minimization",
            minimization_probability=0.8,
        )
    )
    out = StringIO()
    call_command(
        "simulate_randomization",
        "T-SIM3",
        "--runs",
        "200",
        "--n",
        "12",
        "--seed",
        "ab" * 32,
        stdout=out,
    )
    text = out.getvalue()
    assert "allocation probability by position (target A 0.500, B 0.250, C 0.250)" in text
    assert "worst ARP deviation" in text and "within 4 SE everywhere" in text
    assert "worst level of ecog" in text and "worst level of stage" in text
    result = text.strip().splitlines()[-1]
    assert "arp_deviation=" in result and "imbalance_ecog=" in result
    again = StringIO()
    call_command(
        "simulate_randomization",
        "T-SIM3",
        "--runs",
        "200",
        "--n",
        "12",
        "--seed",
        "ab" * 32,
        stdout=again,
    )
    assert again.getvalue() == text  # a fixed seed reproduces the run
    other = StringIO()
    call_command(
        "simulate_randomization", "T-SIM3", "--runs", "200", "--n", "12", "--seed", "cd" * 32,
        stdout=other,
    )  # fmt: skip
    assert other.getvalue().splitlines()[-1] != result  # and the seed is what decides it
    chinese = StringIO()
    with translation.override("zh-hans"):
        call_command(
            "simulate_randomization", "T-SIM3", "--runs", "200", "--n", "12", "--seed",
            "ab" * 32, stdout=chinese,
        )  # fmt: skip
    lines = chinese.getvalue().strip().splitlines()
    assert "各入组位置的分配概率（目标 A 0.500, B 0.250, C 0.250）：" in lines
    assert any(line.startswith("期望最终不均衡（ecog 最差水平）") for line in lines)
    assert lines[-1] == result  # the machine-readable summary is the same in any language


# ---- the ratio-aware balance ------------------------------------------------------------


def test_121_59_60_against_2_1_1_is_on_target():
    row = balance_row("All", {"A": 121, "B": 59, "C": 60}, {"A": 2, "B": 1, "C": 1})
    assert row.expected == {"A": 120.0, "B": 60.0, "C": 60.0}
    assert row.deviation == {"A": 1.0, "B": -1.0, "C": 0.0}
    assert row.imbalance == 1.0
    # The old report's "imbalance 62" for this row was max - min of raw counts.
    assert balance_row("S", {"A": 31, "B": 18, "C": 13}, {"A": 2, "B": 1, "C": 1}).imbalance == 2.5
    assert balance_row("E", {"A": 5, "B": 3}, {"A": 1, "B": 1}).imbalance == 1.0


def test_the_balance_report_reads_an_exact_2_1_1_block_as_on_target(db):
    study = load(
        study_data(
            "T-211",
            arms=[("A", 2), ("B", 1), ("C", 1)],
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[4],
        )
    )
    site, _ = live_at_one_site(study)
    ctx = staff(site)
    for _ in range(4):
        randomize(ctx, ready_subject(site, {"F0": "CR"}))
    report = balance(study)
    assert report.overall.counts == {"A": 2, "B": 1, "C": 1}
    assert report.overall.imbalance == 0
    assert [row.imbalance for row in report.by_stratum] == [0]


def test_minimization_balance_is_read_per_factor_level_and_site_not_per_pseudo_stratum(db):
    study = load(
        study_data(
            "T-MBAL",
            arms=[("A", 2), ("B", 1), ("C", 1)],
            factors=[("ecog", [0, 1]), ("stage", ["III", "IV"])],
            method="minimization",
            minimization_probability=0.8,
        )
    )
    site, _ = live_at_one_site(study)
    ctx = staff(site)
    levels = [(0, "III"), (0, "IV"), (1, "III"), (0, "III"), (1, "IV"), (0, "IV"), (0, "III")]
    made = [randomize(ctx, ready_subject(site, {"F0": e, "F1": s})).allocation for e, s in levels]
    report = balance(study)
    assert [row.label for row in report.by_factor_level] == [
        "ecog=0", "ecog=1", "stage=III", "stage=IV",
    ]  # fmt: skip
    for row in report.by_factor_level:
        factor, level = row.label.split("=")
        expected = [a.arm for a in made if a.stratum_values[factor] == level]
        assert row.counts == {arm: expected.count(arm) for arm in "ABC"}
        assert row.imbalance == balance_row("x", row.counts, report.ratios).imbalance
    # Its one pseudo-stratum "minimization" is not a stratum to report.
    assert report.by_stratum == [] and report.by_stratum_and_site == []
    assert [row.label for row in report.by_site] == ["01"] and report.overall.total == 7


def test_stratified_blocks_with_one_factor_have_no_separate_level_rows(db):
    study = load(
        study_data(
            "T-1F", factors=[("response", ["CR", "PR"])], method="stratified_permuted_block",
            block_sizes=[2],
        )
    )  # fmt: skip
    site, _ = live_at_one_site(study)
    randomize(staff(site), ready_subject(site, {"F0": "CR"}))
    report = balance(study)
    # Its levels are its strata, already reported.
    assert report.by_factor_level == [] and [r.label for r in report.by_stratum] == ["response=CR"]


# ---- the property: accepted goes live and randomizes, refused names a path -----------------


def refused_probability(p: float, ratios: list[int]) -> bool:
    """Whether check_study must refuse ``p``: the schema's (0.5, 1), then the generator's own
    fraction of p strictly between 1/S (S = the ratio's units) and 1."""
    units = sum(ratios) // math.gcd(*ratios)
    exact = Fraction(p).limit_denominator(1_000_000)
    return not 0.5 < p < 1 or not Fraction(1, units) < exact < 1


def generated_section(
    rng: random.Random, arm_count: int, method: str
) -> tuple[list, list, dict, set]:
    """A randomization section and the paths check_study must refuse it at (empty: it must
    accept it). Each refusal is a mistake a study writer could make; about half the sections
    are written carefully (no mistake), so that as many go live as are refused."""
    careless = rng.random() < 0.5

    def mistake(chance: float) -> bool:
        return careless and rng.random() < chance

    ratios = (
        [1] * arm_count if rng.random() < 0.4 else [rng.randint(1, 3) for _ in range(arm_count)]
    )
    arms = list(zip(ARM_CODES[:arm_count], ratios, strict=True))
    refused: set[str] = set()
    factors = []
    for f in range(rng.randint(0, 3)):
        count = rng.randint(2, 3)
        if rng.random() < 0.5:
            levels: list = list(range(count))
            if mistake(0.2):
                levels[-1] = "0"  # the text of another level
                refused.add(f"randomization.factors[{f}].levels[{count - 1}].code")
        else:
            levels = [f"L{n}" for n in range(count)]
        name = f"factor_{f}"
        if mistake(0.1):
            name = "site"  # reserved for the site factor
            refused.add(f"randomization.factors[{f}].code")
        factors.append((name, levels))
    settings: dict = {"method": method, "stratify_by_site": rng.random() < 0.5}
    total = sum(ratios)
    if method == "stratified_permuted_block":
        sizes = [total * m for m in rng.sample([1, 2, 3], rng.randint(1, 2))]
        if mistake(0.3):
            refused.add(f"randomization.block_sizes[{len(sizes)}]")
            sizes.append(sizes[0])  # a duplicate
        if mistake(0.2):
            refused.add(f"randomization.block_sizes[{len(sizes)}]")
            sizes.append(total + 1)  # not a multiple of the ratio sum
        settings["block_sizes"] = sizes
        if rng.random() < 0.3:
            settings["list_length_per_stratum"] = rng.randint(50, 90)
        if mistake(0.3):
            settings["minimization_probability"] = 0.8  # does not apply
            refused.add("randomization.minimization_probability")
        if rng.random() < 0.3:
            settings["caps"] = {rng.choice(["study", "site", "stratum"]): rng.randint(60, 200)}
    else:
        # 0.5000001 and 0.9999999 are 1/2 and 1 at the generator's precision.
        valid = [0.6, 0.75, 0.8, 0.95, None]
        p = rng.choice(valid + [0.3, 0.5, 0.5000001, 0.9999999, 1.0] if careless else valid)
        if p is not None:
            settings["minimization_probability"] = p
            if refused_probability(p, ratios):
                refused.add("randomization.minimization_probability")
        if mistake(0.2):
            settings["block_sizes"] = [total]  # does not apply
            refused.add("randomization.block_sizes")
        if mistake(0.2):
            settings["list_length_per_stratum"] = 50  # does not apply
            refused.add("randomization.list_length_per_stratum")
        if mistake(0.2):
            settings["caps"] = {"stratum": 60}  # minimization has no strata
            refused.add("randomization.caps.stratum")
        elif rng.random() < 0.2:
            settings["caps"] = {"site": 60}
        if not factors and not settings["stratify_by_site"]:
            refused.add("randomization.factors")  # nothing to minimize over
    if p_outside_schema(settings):
        # The schema's refusal is reported alone: nothing past the schema is checked.
        refused = {"randomization.minimization_probability"}
    return arms, factors, settings, refused


def p_outside_schema(settings: dict) -> bool:
    p = settings.get("minimization_probability")
    return p is not None and not 0.5 < p < 1


CASES = 40
METHODS = ("stratified_permuted_block", "minimization")


def test_whatever_check_study_accepts_goes_live_and_makes_50_allocations(db):
    """A fixed seed, so the same 40 sections every run: each method with 2..6 arms in turn."""
    rng = random.Random(20261206)
    accepted: list[tuple[str, int]] = []
    refusals = 0
    for case in range(CASES):
        arm_count, method = 2 + case % 5, METHODS[case // 5 % 2]
        arms, factors, settings, expected = generated_section(rng, arm_count, method)
        data = study_data(f"T-GEN{case}", arms=arms, factors=factors, **settings)
        problems = validate(data)
        # Refused exactly where a mistake was made, each problem at its path; accepted only
        # when none was.
        assert {p.path for p in problems} == expected, (case, arms, factors, settings, problems)
        if problems:
            refusals += 1
            continue
        study = load(data)
        sites = [create_site(ChangeContext.system(), study, code=c, name=c) for c in ("01", "02")]
        go_live(
            ChangeContext.system(),
            study,
            seed=FIXED_SEED,
            min_slots_per_stratum=None if "list_length_per_stratum" in settings else 60,
        )
        contexts = [staff(site) for site in sites]
        for n in range(50):
            values = {f"F{i}": rng.choice(levels) for i, (_, levels) in enumerate(factors)}
            randomize(contexts[n % 2], ready_subject(sites[n % 2], values))
        made = Allocation.objects.filter(study=study)
        assert made.count() == 50, (arms, factors, settings)
        assert set(made.values_list("arm", flat=True)) <= {code for code, _ in arms}
        # And the design simulates, with its ARP table, for any method and ratio.
        out = io.StringIO()
        call_command(
            "simulate_randomization", study.code, "--runs", "2", "--n", "8", "--seed",
            "cd" * 32, stdout=out,
        )  # fmt: skip
        assert "worst ARP deviation" in out.getvalue()
        accepted.append((method, arm_count))
    # Both methods went live with every number of arms, and as many sections were refused.
    assert set(accepted) == {(m, n) for m in METHODS for n in range(2, 7)}, accepted
    assert refusals >= 10, refusals


# ---- enrolment caps ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_20_simultaneous_randomizations_into_a_site_with_5_places_left(smtp):
    assert connection.vendor == "postgresql"
    study = load(
        study_data(
            "T-CAP",
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[2, 4],
            stratify_by_site=True,
            caps={"site": 8},
        )
    )
    site, _ = live_at_one_site(study)
    ctx = staff(site)
    for n in range(3):
        randomize(ctx, ready_subject(site, {"F0": ["CR", "PR"][n % 2]}))
    waiting = [ready_subject(site, {"F0": ["CR", "PR"][n % 2]}) for n in range(20)]
    barrier = threading.Barrier(len(waiting))
    outcomes: list = [None] * len(waiting)

    def allocate(index, subject):
        try:
            barrier.wait()
            outcomes[index] = randomize(ctx, subject).allocation.sequence
        except DomainError as refusal:
            outcomes[index] = refusal.code
        finally:
            connection.close()

    threads = [threading.Thread(target=allocate, args=(i, s)) for i, s in enumerate(waiting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(isinstance(o, int) for o in outcomes) == 5, outcomes
    assert outcomes.count("site_cap_reached") == 15, outcomes
    assert Allocation.objects.filter(site=site).count() == 8
    # The 7th allocation reached 80 % of the cap (6.4), the 8th 100 %; the admin is e-mailed.
    alerts = [
        alert
        for alerts in Allocation.objects.order_by("id").values_list("cap_alerts", flat=True)
        if alerts
        for alert in alerts
    ]
    assert alerts == [
        {"cap": "site", "percent": 80, "used": 7, "limit": 8},
        {"cap": "site", "percent": 100, "used": 8, "limit": 8},
    ]
    follow_up_allocations()
    to_admin = [m["Subject"] for to, m in smtp.messages if to == ["admin@example.org"]]
    assert "[T-CAP] enrolment cap 80% reached: site 01" in to_admin
    assert "[T-CAP] enrolment cap 100% reached: site 01" in to_admin


def test_a_study_cap_and_a_stratum_cap_refuse_with_their_codes(db):
    study = load(
        study_data(
            "T-CAPS",
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[2],
            caps={"study": 3, "stratum": 2},
        )
    )
    site, _ = live_at_one_site(study)
    ctx = staff(site)
    randomize(ctx, ready_subject(site, {"F0": "CR"}))
    randomize(ctx, ready_subject(site, {"F0": "CR"}))
    with pytest.raises(DomainError) as stratum_full:
        randomize(ctx, ready_subject(site, {"F0": "CR"}))
    assert (stratum_full.value.code, stratum_full.value.field) == ("stratum_cap_reached", "strata")
    randomize(ctx, ready_subject(site, {"F0": "PR"}))
    subject = ready_subject(site, {"F0": "PR"})
    with pytest.raises(DomainError) as study_full:
        randomize(ctx, subject)
    assert (study_full.value.code, study_full.value.field) == ("study_cap_reached", "study")
    subject.refresh_from_db()
    assert subject.status == "registered"  # the refusal wrote nothing
    assert Allocation.objects.filter(study=study).count() == 3
    assert Commitment.objects.filter(scheme__study=study).count() == 1


def test_cap_e_mails_reach_the_study_admin_once_in_the_site_s_language(db, smtp):
    """Study, site and stratum caps of 5 on one site and one stratum: the 4th allocation
    reaches 80 % of each, the 5th 100 %; six e-mails in Chinese (the admin address is read
    in the site's language), and a second follow-up run sends none again."""
    study = load(
        study_data(
            "T-CAPZ",
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[2],
            caps={"study": 5, "site": 5, "stratum": 5},
        )
    )
    site, _ = live_at_one_site(study, language="zh-hans")
    ctx = staff(site)
    for _ in range(5):
        randomize(ctx, ready_subject(site, {"F0": "CR"}))
    assert follow_up_allocations() == (5, 0)
    assert follow_up_allocations() == (0, 0)
    to_admin = [m for to, m in smtp.messages if to == ["admin@example.org"]]
    # (The inbox's header parser keeps the fold's space before an encoded subject.)
    assert sorted(m["Subject"].strip() for m in to_admin) == sorted(
        f"[T-CAPZ] 入组上限已达 {percent}%：{what}"
        for percent in (80, 100)
        for what in ("研究 T-CAPZ", "中心 01", "分层 response=CR")
    )
    full = [m.get_content() for m in to_admin if "100%" in m["Subject"]]
    for code in ("study_cap_reached", "site_cap_reached", "stratum_cap_reached"):
        assert sum(code in body for body in full) == 1, full
    assert all("5" in body and "Further" not in body for body in full)
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        randomize(ctx, ready_subject(site, {"F0": "CR"}))
    # The study's cap is counted first; its refusal reads in the caller's language.
    assert refused.value.code == "study_cap_reached"
    assert str(refused.value.message) == "本研究已随机化达到上限 5 名受试者"


def test_a_full_cap_is_named_before_the_button_is_pressed(db):
    """What the subject page lists as still needed (and so whether it offers the button) says
    a cap is full, with the code the allocation would refuse with."""
    from randomization.selectors import missing_for_randomization

    study = load(
        study_data(
            "T-CAPB",
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[2],
            caps={"site": 2, "stratum": 3},
        )
    )
    site, _ = live_at_one_site(study)
    ctx = staff(site)
    first = ready_subject(site, {"F0": "CR"})
    assert missing_for_randomization(first) == []
    randomize(ctx, first)
    randomize(ctx, ready_subject(site, {"F0": "PR"}))
    waiting = ready_subject(site, {"F0": "CR"})
    missing = missing_for_randomization(waiting)
    assert [m.code for m in missing] == ["site_cap_reached"]
    assert missing[0].message == "Site 01 has randomized its cap of 2 subjects"
    with pytest.raises(DomainError) as refused:
        randomize(ctx, waiting)
    assert refused.value.code == "site_cap_reached"


def test_go_live_refuses_a_site_code_that_cannot_be_part_of_a_stratum_key(db):
    # Sites are made outside the study file (admin), so check_study cannot see their codes.
    load(
        study_data(
            "T-SCODE", factors=[("response", ["CR", "PR"])], method="stratified_permuted_block",
            block_sizes=[2], stratify_by_site=True,
        )
    )  # fmt: skip
    study = Study.objects.get(code="T-SCODE")
    create_site(ChangeContext.system(), study, code="01|02", name="Bad")
    with pytest.raises(
        CommandError, match=r"invalid_site_code: site code '01\|02' cannot be part of a stratum key"
    ):
        call_command("go_live", "T-SCODE")
    assert not Commitment.objects.filter(scheme__study=study).exists()


@pytest.mark.parametrize(
    "command, arguments, message",
    [
        ("go_live", ["--min-slots", "0"], "--min-slots must be at least 1"),
        ("go_live", ["--min-slots", "-4"], "--min-slots must be at least 1"),
        (
            "extend_randomization_list",
            ["--min-slots", "0", "--reason", "longer list"],
            "--min-slots must be at least 1",
        ),
        ("simulate_randomization", ["--runs", "1"], "--runs must be at least 2"),
        ("simulate_randomization", ["--n", "0"], "--n must be at least 1"),
    ],
)
def test_commands_report_bad_arguments_as_command_errors(db, command, arguments, message):
    load(study_data("T-CMD", method="stratified_permuted_block", block_sizes=[2, 4]))
    with pytest.raises(CommandError, match=message):
        call_command(command, "T-CMD", *arguments)


def test_a_stratum_error_without_factor_level_values_is_a_command_error(db):
    study = load(
        study_data(
            "T-CORR",
            factors=[("response", ["CR", "PR"])],
            method="stratified_permuted_block",
            block_sizes=[2],
        )
    )
    site, _ = live_at_one_site(study)
    subject = randomize(staff(site), ready_subject(site, {"F0": "CR"})).allocation.subject
    with pytest.raises(CommandError, match="FACTOR=LEVEL"):
        call_command(
            "randomization_correction",
            "T-CORR",
            "stratum-error",
            subject.subject_id,
            "PR",
            "--reason",
            "typo",
        )


def test_unequal_ratio_minimization_records_its_units_and_replays_from_the_seed(db):
    from randomization.verification import verify

    study = load(
        study_data(
            "T-M211",
            arms=[("A", 2), ("B", 1), ("C", 1)],
            factors=[("ecog", [0, 1])],
            method="minimization",
            minimization_probability=0.8,
        )
    )
    site, live = live_at_one_site(study)
    assert live.scheme.params["procedure"] == "ratio_units"
    ctx = staff(site)
    made = [randomize(ctx, ready_subject(site, {"F0": n % 2})).allocation for n in range(8)]
    assert {a.ratio_unit for a in made if a.arm == "A"} <= {1, 2}
    assert {a.ratio_unit for a in made if a.arm != "A"} <= {1}
    assert all(check.ok for check in verify(study, FIXED_SEED, live.salt))
    assert not all(check.ok for check in verify(study, bytes(32), live.salt))
