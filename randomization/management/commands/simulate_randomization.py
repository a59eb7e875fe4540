"""Monte Carlo operating characteristics of a study's randomization design."""

import hashlib
import math
import unicodedata
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from edc.studies.models import Site, Study
from randomization import scheme_params
from randomization.engine import (
    RATIO_SCALED,
    RATIO_UNITS,
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
        procedure = RATIO_UNITS if scheme_params.preserves_ratio(params) else RATIO_SCALED
        return MinimizationDesign(
            scheme_params.arms(params), all_factors, weights, params["p"], procedure
        )
    return PermutedBlockDesign(scheme_params.block_scheme(params), factors, site)


def describe(params: dict) -> str:
    ratio = ":".join(str(a["ratio"]) for a in params["arms"])
    arms = gettext("%(count)s arms %(ratio)s") % {"count": len(params["arms"]), "ratio": ratio}
    if params["method"] == scheme_params.MINIMIZATION:
        return gettext("minimization p=%(p)s, %(arms)s") % {"p": params["p"], "arms": arms}
    return gettext("permuted blocks of {%(sizes)s}, %(arms)s, %(strata)s strata") % {
        "sizes": ",".join(str(s) for s in params["block_sizes"]),
        "arms": arms,
        "strata": len(scheme_params.all_stratum_keys(params)),
    }


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (Chinese) characters take two, so that the
    figures line up in either language."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class AllocationProbabilities:
    rows: list[list[float]]
    worst: float
    worst_position: int
    worst_arm: str
    tolerance: float
    worst_z: float


def allocation_probabilities(result) -> AllocationProbabilities:
    """Observed P(T_i = k) per position and arm, the worst deviation from w_k / W, and the
    largest deviation in Monte Carlo standard errors (randomization.md §2)."""
    ratio_sum = sum(result.ratios)
    rows, worst, worst_z = [], (-1.0, 0, "", 0.0), 0.0
    for position, counts in enumerate(result.position_arm_counts, start=1):
        runs = sum(counts)
        rows.append([count / runs for count in counts])
        for code, count, ratio in zip(result.arm_codes, counts, result.ratios, strict=True):
            target = ratio / ratio_sum
            deviation = abs(count / runs - target)
            se = math.sqrt(target * (1 - target) / runs)
            if deviation > worst[0]:
                worst = (deviation, position, code, 4 * se)
            worst_z = max(worst_z, deviation / se if se else 0.0)
    return AllocationProbabilities(rows, worst[0], worst[1], worst[2], worst[3], worst_z)


def target_text(result) -> str:
    ratio_sum = sum(result.ratios)
    return ", ".join(
        f"{code} {ratio / ratio_sum:.3f}"
        for code, ratio in zip(result.arm_codes, result.ratios, strict=True)
    )


class Command(BaseCommand):
    help = (
        "Simulate STUDY's design: expected final and maximum imbalance (against the allocation "
        "ratio) overall, within strata and per factor level, the Blackwell–Hodges correct-guess "
        "proportion, and the allocation probability by position and arm (ARP)."
    )

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--runs", type=int, default=10000)
        parser.add_argument("--n", type=int, default=None, help="subjects per trial")
        parser.add_argument(
            "--seed", default=None, help="master seed, 64 hex digits, for a reproducible run"
        )
        parser.add_argument(
            "--positions", type=int, default=10, help="positions listed in the ARP table"
        )

    def handle(self, *args, study, runs, n, seed, positions, **options):
        found = Study.objects.select_related("current_version").filter(code=study).first()
        if found is None or not found.current_version_id:
            raise CommandError(gettext("no study %(study)s") % {"study": study})
        committed = Commitment.objects.filter(scheme__study=found).order_by("-id").first()
        if committed is not None:
            params = committed.params
        else:
            sites = Site.objects.filter(study=found, is_active=True).values_list("code", flat=True)
            params = scheme_params.scheme_params(found.definition, list(sites) or ["01"])
        if n is not None and n < 1:
            raise CommandError(gettext("--n must be at least 1, got %(value)s") % {"value": n})
        n = n or found.target_enrollment or 100
        try:
            master = (
                bytes.fromhex(seed)
                if seed
                else hashlib.sha256(f"simulate_randomization|{study}".encode()).digest()
            )
        except ValueError:
            master = b""
        if len(master) != 32:
            raise CommandError(
                gettext("--seed must be 64 hex digits (32 bytes), got %(value)s")
                % {"value": repr(seed)}
            )
        if runs < 2:
            raise CommandError(gettext("--runs must be at least 2"))
        if positions < 1:
            raise CommandError(
                gettext("--positions must be at least 1, got %(value)s") % {"value": positions}
            )
        try:
            result = simulate(design_for(params), n, runs, master)
        except (TypeError, ValueError) as exc:
            raise CommandError(
                gettext("%(study)s: the design cannot be simulated: %(problem)s")
                % {"study": study, "problem": exc}
            ) from exc
        out = self.stdout.write
        out(
            gettext("%(study)s: %(design)s; n=%(n)s, %(runs)s runs")
            % {"study": study, "design": describe(params), "n": n, "runs": runs}
        )
        rows = [
            (gettext("expected final imbalance, overall"), result.final_imbalance),
            (gettext("expected maximum imbalance, overall"), result.max_imbalance),
            (
                gettext("expected final imbalance, largest within a stratum"),
                result.stratum_final_imbalance,
            ),
            (gettext("expected maximum imbalance within strata"), result.stratum_max_imbalance),
            (
                gettext("P(final overall imbalance >= %(threshold)s)")
                % {"threshold": result.imbalance_threshold},
                result.final_imbalance_at_least_threshold,
            ),
            (
                gettext("correct-guess proportion, overall history"),
                result.correct_guess_overall_history,
            ),
            (gettext("correct-guess proportion, within strata"), result.correct_guess),
        ]
        if result.informed_correct_guess is not None:
            rows.append(
                (gettext("correct-guess, fully informed guesser"), result.informed_correct_guess)
            )
        for name, estimate in result.factor_imbalance.items():
            rows.append(
                (
                    gettext("expected final imbalance, worst level of %(factor)s")
                    % {"factor": name},
                    estimate,
                )
            )
        width = max(display_width(label) for label, _ in rows)
        for label, estimate in rows:
            padding = " " * (width - display_width(label))
            out(f"{label}{padding}  {estimate.mean:.4f}  (SE {estimate.standard_error:.4f})")
        arp = allocation_probabilities(result)
        out("")
        out(
            gettext("allocation probability by position (target %(target)s):")
            % {"target": target_text(result)}
        )
        heading = gettext("position")
        heading = " " * max(0, 8 - display_width(heading)) + heading
        widths = [max(6, len(code)) for code in result.arm_codes]
        out(
            heading
            + "  "
            + "  ".join(c.rjust(w) for c, w in zip(result.arm_codes, widths, strict=True))
        )
        for position, row in enumerate(arp.rows[:positions], start=1):
            out(
                f"{position:>8}  "
                + "  ".join(f"{p:{w}.3f}" for p, w in zip(row, widths, strict=True))
            )
        facts = {
            "worst": f"{arp.worst:.4f}",
            "position": arp.worst_position,
            "arm": arp.worst_arm,
            "tolerance": f"{arp.tolerance:.4f}",
            "z": f"{arp.worst_z:.2f}",
        }
        if arp.worst_z <= 4:
            worst = gettext(
                "worst ARP deviation %(worst)s at position %(position)s, arm %(arm)s (4 Monte "
                "Carlo SE there: %(tolerance)s; within 4 SE everywhere: largest |z| %(z)s)"
            )
        else:
            worst = gettext(
                "worst ARP deviation %(worst)s at position %(position)s, arm %(arm)s (4 Monte "
                "Carlo SE there: %(tolerance)s; OUTSIDE 4 SE: largest |z| %(z)s)"
            )
        out(worst % facts)
        # The machine-readable summary (bench scripts read it): not translated.
        out(
            f"RESULT final_imbalance={result.final_imbalance.mean:.4f} "
            f"max_imbalance={result.max_imbalance.mean:.4f} "
            f"stratum_final_imbalance={result.stratum_final_imbalance.mean:.4f} "
            f"stratum_max_imbalance={result.stratum_max_imbalance.mean:.4f} "
            f"correct_guess_overall={result.correct_guess_overall_history.mean:.4f} "
            f"correct_guess_within_strata={result.correct_guess.mean:.4f} "
            f"arp_deviation={arp.worst:.4f} arp_max_z={arp.worst_z:.2f}"
            + "".join(
                f" imbalance_{name}={estimate.mean:.4f}"
                for name, estimate in result.factor_imbalance.items()
            )
        )
