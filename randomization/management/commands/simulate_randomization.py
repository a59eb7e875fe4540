"""Monte Carlo operating characteristics of a study's randomization design."""

import hashlib

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.studies.models import Site, Study
from randomization import scheme_params
from randomization.engine import (
    SITE_FACTOR,
    Factor,
    MinimizationDesign,
    PermutedBlockDesign,
    simulate,
)
from randomization.models import Commitment


def design_for(params: dict):
    factors = tuple(
        Factor(f["code"], tuple(level["code"] for level in f["levels"])) for f in params["factors"]
    )
    site = (
        Factor(SITE_FACTOR, tuple(params["sites"]))
        if params["stratify_by_site"] and params["sites"]
        else None
    )
    if params["method"] == scheme_params.MINIMIZATION:
        all_factors = factors + ((site,) if site else ())
        weights = {f.name: params["weights"].get(f.name, 1.0) for f in all_factors}
        return MinimizationDesign(scheme_params.arms(params), all_factors, weights, params["p"])
    return PermutedBlockDesign(scheme_params.block_scheme(params), factors, site)


def describe(params: dict) -> str:
    ratio = ":".join(str(a["ratio"]) for a in params["arms"])
    arms = f"{len(params['arms'])} arms {ratio}"
    if params["method"] == scheme_params.MINIMIZATION:
        return f"minimization p={params['p']}, {arms}"
    sizes = ",".join(str(s) for s in params["block_sizes"])
    strata = len(scheme_params.all_stratum_keys(params))
    return f"permuted blocks of {{{sizes}}}, {arms}, {strata} strata"


class Command(BaseCommand):
    help = (
        "Simulate STUDY's design: expected final and maximum imbalance and the Blackwell–Hodges "
        "correct-guess proportion, overall and within strata."
    )

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--runs", type=int, default=10000)
        parser.add_argument("--n", type=int, default=None, help="subjects per trial")
        parser.add_argument("--seed", default=None, help="master seed, 64 hex digits")

    def handle(self, *args, study, runs, n, seed, **options):
        found = Study.objects.select_related("current_version").filter(code=study).first()
        if found is None or not found.current_version_id:
            raise CommandError(gettext("no study %(study)s") % {"study": study})
        committed = Commitment.objects.filter(scheme__study=found).order_by("-id").first()
        if committed is not None:
            params = committed.params
        else:
            sites = Site.objects.filter(study=found, is_active=True).values_list("code", flat=True)
            params = scheme_params.scheme_params(found.definition, list(sites) or ["01"])
        n = n or found.target_enrollment or 100
        master = (
            bytes.fromhex(seed)
            if seed
            else hashlib.sha256(f"simulate_randomization|{study}".encode()).digest()
        )
        if len(master) != 32:
            raise CommandError(gettext("--seed must be 64 hex digits"))
        if runs < 2:
            raise CommandError(gettext("--runs must be at least 2"))
        result = simulate(design_for(params), n, runs, master)
        out = self.stdout.write
        out(f"{study}: {describe(params)}; n={n}, {runs} runs")
        rows = [
            ("expected final imbalance, overall", result.final_imbalance),
            ("expected maximum imbalance, overall", result.max_imbalance),
            ("expected final imbalance, largest within a stratum", result.stratum_final_imbalance),
            ("expected maximum imbalance within strata", result.stratum_max_imbalance),
            (
                f"P(final overall imbalance >= {result.imbalance_threshold})",
                result.final_imbalance_at_least_threshold,
            ),
            ("correct-guess proportion, overall history", result.correct_guess_overall_history),
            ("correct-guess proportion, within strata", result.correct_guess),
        ]
        if result.informed_correct_guess is not None:
            rows.append(("correct-guess, fully informed guesser", result.informed_correct_guess))
        width = max(len(label) for label, _ in rows)
        for label, estimate in rows:
            out(f"{label.ljust(width)}  {estimate.mean:.4f}  (SE {estimate.standard_error:.4f})")
        out(
            f"RESULT final_imbalance={result.final_imbalance.mean:.4f} "
            f"max_imbalance={result.max_imbalance.mean:.4f} "
            f"stratum_final_imbalance={result.stratum_final_imbalance.mean:.4f} "
            f"stratum_max_imbalance={result.stratum_max_imbalance.mean:.4f} "
            f"correct_guess_overall={result.correct_guess_overall_history.mean:.4f} "
            f"correct_guess_within_strata={result.correct_guess.mean:.4f}"
        )
