"""A study's randomization parameters, from its definition to what the engine needs.
Pure Python: no Django import.

The parameters are one JSON-able dict, stored with the scheme and with each commitment, so the
list can be regenerated from them and the seed alone::

    {"method": "permuted_blocks" | "minimization", "study": "T-MINI",
     "arms": [{"code", "name", "ratio"}], "block_sizes": [2, 4],
     "factors": [{"code", "name", "source": {"form", "item"}, "levels": [{"code", "label"}]}],
     "stratify_by_site": bool, "sites": ["01", ...], "min_slots_per_stratum": int,
     "p": 0.8, "weights": {"factor": 1.0}, "procedure": "ratio_units"}

Level codes are text: a codelist's integer code 0 is the level ``"0"`` (and a factor may not
have both ``0`` and ``"0"``). ``procedure`` is present for minimization with unequal ratios,
which runs over the ratio's units so that the ratio holds at every allocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from randomization.engine import (
    GENERATOR_VERSION,
    RATIO_UNITS,
    SITE_FACTOR,
    Arm,
    BlockScheme,
    HmacDrbg,
    Slot,
    canonical_minimization_parameters,
    canonical_parameters,
    exact_probability,
    generate_schedule,
    list_commitment,
    minimization_assign_preserving_ratio,
    ratio_units,
    seed_commitment,
    stratum_key_for,
    stratum_keys,
)
from randomization.engine.tokens import validate_token

PERMUTED_BLOCKS = "permuted_blocks"
MINIMIZATION = "minimization"
MINIMIZATION_STRATUM = "minimization"
GENERATOR = f"HMAC-SHA256/{GENERATOR_VERSION}"
DEFAULT_SLOTS_PER_STRATUM = 100
# Go-live makes every slot of every stratum at once: a bound keeps that within one server.
MAX_SLOTS_PER_STRATUM = 10_000
DEFAULT_MINIMIZATION_P = 0.8


def scheme_params(
    definition: Mapping[str, Any], site_codes: Sequence[str], min_slots: int | None = None
) -> dict[str, Any]:
    """The parameters of a study definition's randomization section at go-live."""
    section = definition["randomization"]
    method = MINIMIZATION if section["method"] == "minimization" else PERMUTED_BLOCKS
    by_site = bool(section.get("stratify_by_site", False))
    params: dict[str, Any] = {
        "method": method,
        "study": definition["code"],
        "arms": [
            {"code": arm["code"], "name": arm.get("name", arm["code"]), "ratio": arm["ratio"]}
            for arm in definition["arms"]
        ],
        "factors": [
            {
                "code": factor["code"],
                "name": factor.get("name", factor["code"]),
                "source": dict(factor["source"]),
                "levels": [
                    {
                        "code": level_code(level["code"]),
                        "label": str(level.get("label", level["code"])),
                    }
                    for level in factor["levels"]
                ],
            }
            for factor in section.get("factors", [])
        ],
        "stratify_by_site": by_site,
        "sites": sorted(site_codes) if by_site else [],
    }
    if method == PERMUTED_BLOCKS:
        params["block_sizes"] = sorted(section["block_sizes"])
        params["min_slots_per_stratum"] = int(
            min_slots
            or section.get("list_length_per_stratum")
            or definition.get("target_enrollment")
            or DEFAULT_SLOTS_PER_STRATUM
        )
    else:
        params["p"] = float(section.get("minimization_probability", DEFAULT_MINIMIZATION_P))
        params["weights"] = {f["code"]: 1.0 for f in params["factors"]}
        if by_site:
            params["weights"][SITE_FACTOR] = 1.0
        if len({arm["ratio"] for arm in params["arms"]}) > 1:
            params["procedure"] = RATIO_UNITS
    return params


def level_code(code: Any) -> str:
    """A codelist code as the stratum level it is (integers by their decimal text)."""
    return code if isinstance(code, str) else str(code)


def preserves_ratio(params: Mapping[str, Any]) -> bool:
    """Minimization over the ratio's units (always the case with equal ratios)."""
    return params.get("procedure") == RATIO_UNITS or len({a["ratio"] for a in params["arms"]}) == 1


def arms(params: Mapping[str, Any]) -> tuple[Arm, ...]:
    return tuple(Arm(arm["code"], arm["ratio"]) for arm in params["arms"])


def arm_names(params: Mapping[str, Any]) -> dict[str, str]:
    return {arm["code"]: arm["name"] for arm in params["arms"]}


def block_scheme(params: Mapping[str, Any]) -> BlockScheme:
    return BlockScheme(arms(params), tuple(params["block_sizes"]))


def factor_levels(params: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    return [(f["code"], [level["code"] for level in f["levels"]]) for f in params["factors"]]


def minimization_factors(params: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    factors = factor_levels(params)
    if params["stratify_by_site"]:
        factors.append((SITE_FACTOR, list(params["sites"])))
    return factors


def all_stratum_keys(params: Mapping[str, Any]) -> list[str]:
    if params["method"] == MINIMIZATION:
        return [MINIMIZATION_STRATUM]
    sites = params["sites"] if params["stratify_by_site"] else None
    return stratum_keys(factor_levels(params), sites)


def stratum_key(params: Mapping[str, Any], levels: Mapping[str, str], site_code: str) -> str:
    if params["method"] == MINIMIZATION:
        return MINIMIZATION_STRATUM
    site = site_code if params["stratify_by_site"] else None
    return stratum_key_for(factor_levels(params), levels, site)


def stratum_values(key: str) -> dict[str, str]:
    """``response=CR|site=01`` -> ``{"response": "CR", "site": "01"}``."""
    if "=" not in key:
        return {}
    return dict(part.split("=", 1) for part in key.split("|"))


def canonical_params_bytes(params: Mapping[str, Any]) -> bytes:
    extra = {"arm_names": ",".join(f"{a['code']}:{a['name']}" for a in params["arms"])}
    if "procedure" in params:
        extra["procedure"] = params["procedure"]
    if params["method"] == MINIMIZATION:
        return canonical_minimization_parameters(
            params["study"],
            arms(params),
            minimization_factors(params),
            params["weights"],
            params["p"],
            extra,
        )
    return canonical_parameters(
        params["study"],
        block_scheme(params),
        all_stratum_keys(params),
        params["min_slots_per_stratum"],
        extra,
    )


def generate_lists(seed: bytes, params: Mapping[str, Any]) -> dict[str, list[Slot]]:
    """Every stratum's slot list (none for minimization, which draws at allocation time)."""
    if params["method"] == MINIMIZATION:
        return {}
    return generate_schedule(
        seed,
        params["study"],
        all_stratum_keys(params),
        block_scheme(params),
        params["min_slots_per_stratum"],
    )


def commitment_hashes(
    seed: bytes, salt: bytes, params: Mapping[str, Any], lists: Mapping[str, Sequence[Slot]]
) -> dict[str, str]:
    import hashlib

    params_bytes = canonical_params_bytes(params)
    return {
        "params_sha256": hashlib.sha256(params_bytes).hexdigest(),
        "list_sha256": list_commitment(params_bytes, lists),
        "seed_sha256": seed_commitment(seed, salt),
    }


# ---- what check_study checks ------------------------------------------------------------

_METHOD_SETTINGS = {
    "minimization_probability": "minimization",
    "block_sizes": "stratified_permuted_block",
    "list_length_per_stratum": "stratified_permuted_block",
}


def _list_length_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The slots per stratum go-live would make (the list length, by default the target
    enrolment) must not exceed MAX_SLOTS_PER_STRATUM."""
    where = "randomization.list_length_per_stratum"
    length = definition["randomization"].get("list_length_per_stratum")
    if length is not None:
        if length > MAX_SLOTS_PER_STRATUM:
            return [(where, f"must be at most {MAX_SLOTS_PER_STRATUM} (slots made per stratum)")]
        return []
    target = definition.get("target_enrollment") or 0
    if target > MAX_SLOTS_PER_STRATUM:
        return [
            (
                where,
                f"is required when target_enrollment ({target}) is above "
                f"{MAX_SLOTS_PER_STRATUM}: by default each stratum gets that many slots",
            )
        ]
    return []


def dry_run_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a dry run of go-live's and an allocation's own checks meets, for a definition
    with no other problem (``setting_problems`` names the ones it can at their path)."""
    try:
        _dry_run(definition)
    except (TypeError, ValueError) as exc:
        return [("randomization", f"cannot go live: {exc}")]
    return []


def setting_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The randomization section's own problems, each at its path, needing nothing but a
    definition that has passed the schema (so check_study reports them beside any other
    problem of the file): each setting that does not apply to the method, minimization with
    nothing to balance, more slots per stratum than MAX_SLOTS_PER_STRATUM, duplicate block
    sizes, level codes that are not usable or collide as text, a factor named like the reserved
    site factor, and a probability outside its range at the generator's precision."""
    section = definition["randomization"]
    method = section["method"]
    problems: list[tuple[str, str]] = []
    for setting, applies_to in _METHOD_SETTINGS.items():
        if setting in section and method != applies_to:
            problems.append(
                (f"randomization.{setting}", f"applies only to method {applies_to}, not {method}")
            )
    if (
        method == "minimization"
        and not section.get("factors")
        and not section.get("stratify_by_site")
    ):
        # With nothing to balance every arm scores 0 and each allocation is a coin toss.
        problems.append(
            (
                "randomization.factors",
                "minimization needs at least one factor to balance (or stratify_by_site: true)",
            )
        )
    if method == "minimization" and "stratum" in section.get("caps", {}):
        problems.append(
            ("randomization.caps.stratum", "applies only to stratified_permuted_block strata")
        )
    if method == "stratified_permuted_block":
        problems += _list_length_problems(definition)
    sizes = section.get("block_sizes") or []
    for i, size in enumerate(sizes):
        if size in sizes[:i]:
            problems.append((f"randomization.block_sizes[{i}]", f"repeats block size {size}"))
    for f, factor in enumerate(section.get("factors", [])):
        if factor["code"] == SITE_FACTOR:
            problems.append(
                (
                    f"randomization.factors[{f}].code",
                    f"'{SITE_FACTOR}' is reserved for the site (use stratify_by_site: true)",
                )
            )
        seen: dict[str, Any] = {}
        for i, level in enumerate(factor["levels"]):
            where = f"randomization.factors[{f}].levels[{i}].code"
            text = level_code(level["code"])
            if text in seen:
                problems.append((where, f"{level['code']!r} is the same level as {seen[text]!r}"))
            seen.setdefault(text, level["code"])
            try:
                validate_token("a level code", text)
            except ValueError as exc:
                problems.append((where, str(exc)))
    arms_ok = True
    for a, arm in enumerate(definition.get("arms", [])):
        try:
            Arm(arm["code"], arm["ratio"])
        except (TypeError, ValueError) as exc:
            arms_ok = False
            problems.append((f"arms[{a}]", str(exc)))
    if method == "minimization" and arms_ok:
        p = section.get("minimization_probability", DEFAULT_MINIMIZATION_P)
        units = len(ratio_units([Arm(a["code"], a["ratio"]) for a in definition["arms"]]))
        # The generator's own fraction of p (0.9999999 is 1 there), strictly above 1/S: at
        # 1/S the minimizing unit would not be preferred at all.
        exact = exact_probability(p)
        if not Fraction(1, units) < exact < 1:
            problems.append(
                (
                    "randomization.minimization_probability",
                    f"must lie strictly between 1/{units} (the ratio's {units} units) and 1 "
                    f"at the generator's precision (p = {p} is {exact}): every allocation "
                    "needs a random element",
                )
            )
    return problems


def _dry_run(definition: Mapping[str, Any]) -> None:
    """Go-live's parameter, list and commitment steps and one allocation, on one site."""
    params = scheme_params(definition, ["01"], min_slots=1)
    canonical_params_bytes(params)
    seed = bytes(32)
    if params["method"] == PERMUTED_BLOCKS:
        lists = generate_lists(seed, params)
        list_commitment(canonical_params_bytes(params), lists)
        return
    patient = {name: levels[0] for name, levels in minimization_factors(params)}
    minimization_assign_preserving_ratio(
        {},
        patient,
        arms(params),
        params["weights"],
        params["p"],
        drbg=HmacDrbg(seed, params["study"], "minimization", block=1),
    )
