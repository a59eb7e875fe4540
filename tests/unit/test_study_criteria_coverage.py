"""Each seed study file holds exactly the criteria of the domain spec tables and checks cleanly."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from edc.studies.protocol import check_file, form_items
from tests.unit.eligibility_subjects import STUDIES_DIR, STUDY_FILES

# Criterion IDs as listed in docs/domain.md §1.2.4-1.2.5, §1.3.3 (+ the assumed T-REIRR-style exclusions of
# §1.3.1), §1.4.3-1.4.4 and §1.5.
EXPECTED_IDS = {
    "T-REIRR": [
        "R-IN1",
        "R-IN2a",
        "R-IN2b",
        "R-IN2c",
        "R-IN3",
        "R-IN4",
        "R-IN5",
        "R-IN6",
        "R-IN7",
        "R-IN8",
        "R-IN9",
        "R-IN10",
        *[f"R-EX{n}" for n in range(1, 16)],
    ],
    "T-LRRT": [*[f"L-IN{n}" for n in range(1, 11)], *[f"L-EX{n}" for n in range(1, 14)]],
    "T-REFR": [*[f"F-IN{n}" for n in range(1, 11)], *[f"F-EX{n}" for n in range(1, 19)]],
    "T-RTV": [*[f"V-IN{n}" for n in range(1, 9)], "V-EX1"],
}
STUDY_CODES = {
    "T-REIRR": "NCT07332247",
    "T-LRRT": "NCT07235319",
    "T-REFR": "NCT05549466",
    "T-RTV": "NCT07188584",
}


@cache
def checked(study: str) -> tuple[dict, tuple]:
    data, problems = check_file(STUDIES_DIR / STUDY_FILES[study])
    return data, tuple(problems)


def load(study: str) -> dict:
    data, problems = checked(study)
    assert not problems, "\n".join(map(str, problems))
    return data


@pytest.mark.parametrize("study", STUDY_FILES)
def test_file_passes_the_protocol_checker(study):
    data = load(study)
    assert data["code"] == study
    assert data["identifiers"]["nct"] == STUDY_CODES[study]


@pytest.mark.parametrize("study", STUDY_FILES)
def test_criterion_ids_equal_the_domain_spec_tables(study):
    ids = [c["id"] for c in load(study)["eligibility"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(EXPECTED_IDS[study])


def _references(
    expr: Any, local: str | None, row_form: str | None, row_items: set[str] | None, out: list
):
    """Every item an expression reads, with the form it must live on; also under `not` and `present`,
    which the protocol checker does not descend into."""
    if isinstance(expr, list):
        for part in expr:
            _references(part, local, row_form, row_items, out)
    elif isinstance(expr, dict):
        for op, arg in expr.items():
            if op == "item":
                out.append((arg, local, row_items))
            elif op == "latest_within":
                out += [(arg["item"], local, None), (arg["date_item"], local, None)]
                _references(arg["ref"], local, row_form, row_items, out)
            elif op in ("exists", "count"):
                out.append((arg["group"], "GROUP", None))
                _references(arg.get("where"), local, arg["group"], {"__group__": arg["group"]}, out)
            else:
                _references(arg, local, row_form, row_items, out)


def _resolvable(ref: str, local: str | None, row: Any, definition: dict) -> bool:
    forms = {f["code"]: f for f in definition["forms"]}
    groups = {
        f"{f['code']}.{g['code']}": {i["code"] for i in g["items"]}
        for f in forms.values()
        for g in f.get("groups", [])
    }
    groups |= {code: set(form_items(f)) for code, f in forms.items() if f.get("repeating")}
    if local == "GROUP":
        return ref in groups
    if "." in ref:
        form, item = ref.split(".", 1)
        return form in forms and item in form_items(forms[form])
    if row is not None and ref in groups[row["__group__"]]:
        return True
    return local is not None and ref in form_items(forms[local])


@pytest.mark.parametrize("study", STUDY_FILES)
def test_every_item_a_rule_reads_exists(study):
    definition = load(study)
    refs: list = []
    for criterion in definition["eligibility"]:
        _references(criterion.get("rule"), None, None, None, refs)
    for form in definition["forms"]:
        for check in form.get("edit_checks", []):
            _references(check["rule"], form["code"], None, None, refs)
    assert refs
    unresolved = sorted(
        {ref for ref, local, row in refs if not _resolvable(ref, local, row, definition)}
    )
    assert not unresolved


@pytest.mark.parametrize("study", STUDY_FILES)
def test_attestations_are_yes_no_items_on_the_eligibility_form(study):
    definition = load(study)
    forms = {f["code"]: f for f in definition["forms"]}
    for criterion in definition["eligibility"]:
        if criterion["type"] == "rule":
            assert "attestation" not in criterion
            continue
        ref = criterion["attestation"]
        assert forms[ref["form"]]["kind"] == "eligibility"
        item = form_items(forms[ref["form"]])[ref["item"]]
        codes = [c["code"] for c in definition["codelists"][item["codelist"]]]
        assert {"Y", "N"} <= set(codes), criterion["id"]


@pytest.mark.parametrize("study", STUDY_FILES)
def test_randomization_factors_read_the_randomization_form(study):
    definition = load(study)
    kinds = {f["code"]: f.get("kind") for f in definition["forms"]}
    for factor in definition["randomization"]["factors"]:
        assert kinds[factor["source"]["form"]] == "randomization"
