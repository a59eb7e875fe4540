"""Reading and checking study definition files. Pure Python: no Django import.

`check_file(path)` returns every problem with its path in the file, e.g.
`arms[2].ratio: must be a positive integer`. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from crf.rules import units
from edc.studies.texts import missing_texts

SCHEMA_PATH = Path(__file__).with_name("schema.json")

VALUE_OPERATORS = {
    "item",
    "context",
    "date",
    "age_years",
    "days_between",
    "add_years",
    "add_months",
    "add_days",
    "ratio",
    "crcl_cockcroft_gault",
    "qtc",
    "hbv_copies_per_ml",
    "count",
    "max",
    "min",
    "latest_within",
}
CONDITION_OPERATORS = {"all", "any", "not", "cmp", "in", "present", "exists", "within_days"}
CONTEXT_DATES = {
    "consent_date",
    "registration_date",
    "randomization_date",
    "first_dose_date",
    "enrol_date",
    "today",
}
COMPARATORS = {"<", "<=", ">", ">=", "==", "!="}
DATE_TYPES = {"date", "partial_date", "datetime"}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _message(error: jsonschema.ValidationError) -> tuple[list, str]:
    path = list(error.absolute_path)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return path + [missing], "is required"
    if error.validator == "additionalProperties":
        extras = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return path + [extras[0]] if extras else path, "unknown field (check the spelling)"
    if custom:
        return path, custom
    if error.validator == "enum":
        return path, "must be one of: " + ", ".join(str(v) for v in error.validator_value)
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return path, f"must be of type {expected}"
    if error.validator == "minItems":
        return path, f"must have at least {error.validator_value} entries"
    if error.validator == "minimum":
        return path, f"must be at least {error.validator_value}"
    if error.validator == "minLength":
        return path, "must not be empty"
    if error.validator == "const":
        return path, f"must be {error.validator_value!r}"
    return path, error.message


def schema_problems(data: Any) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(_schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path, message = _message(error)
        problems.append(Problem(format_path(path), message))
    return problems


# ---- cross-reference checks -------------------------------------------------------------


def _duplicates(entries: list[dict], key: str, where: str) -> Iterator[Problem]:
    seen: dict[Any, int] = {}
    for index, entry in enumerate(entries):
        value = entry.get(key)
        if value in seen:
            yield Problem(
                f"{where}[{index}].{key}",
                f"duplicate {key} {value!r} (also at {where}[{seen[value]}])",
            )
        else:
            seen[value] = index


def find_form(definition: dict, form_code: str) -> dict | None:
    """The form of a protocol definition with this code, if it has one."""
    return next((f for f in definition.get("forms", []) if f["code"] == form_code), None)


def form_items(form: dict) -> dict[str, dict]:
    """Every item of a form, top-level and inside groups, by code."""
    items = {item["code"]: item for item in form.get("items", [])}
    for group in form.get("groups", []):
        for item in group.get("items", []):
            items[item["code"]] = item
    return items


def item_choices(item: dict, codelists: dict) -> list | None:
    if "choices" in item:
        return [c["code"] for c in item["choices"]]
    if "codelist" in item:
        return [c["code"] for c in codelists.get(item["codelist"], [])]
    return None


class _Refs:
    def __init__(self, data: dict):
        self.codelists = data.get("codelists", {})
        self.forms = {f["code"]: f for f in data.get("forms", [])}
        self.items = {code: form_items(f) for code, f in self.forms.items()}
        self.groups = {
            f"{code}.{g['code']}": {i["code"] for i in g["items"]}
            for code, f in self.forms.items()
            for g in f.get("groups", [])
        }
        self.birth_date = data.get("dates", {}).get("birth_date")
        # A repeating form is a group of its own rows.
        for code, form in self.forms.items():
            if form.get("repeating"):
                self.groups[code] = set(self.items[code])

    def resolve(self, ref: str, local_form: str | None, row_items: set[str] | None) -> str | None:
        """None when the reference is valid, else the problem."""
        if "." in ref:
            form, item = ref.split(".", 1)
            if form not in self.forms:
                return f"names unknown form {form!r}"
            if item not in self.items[form]:
                return f"names unknown item {item!r} on form {form!r}"
            return None
        if row_items is not None and ref in row_items:
            return None
        if local_form is not None and ref in self.items[local_form]:
            return None
        return f"names unknown item {ref!r} (use form.ITEM outside a form's own edit checks)"


def _walk_expression(
    expr: Any, path: str, refs: _Refs, local_form: str | None, row_items: set[str] | None
) -> Iterator[Problem]:
    if isinstance(expr, list):
        for i, part in enumerate(expr):
            yield from _walk_expression(part, f"{path}[{i}]", refs, local_form, row_items)
        return
    if not isinstance(expr, dict):
        return
    if len(expr) != 1:
        yield Problem(path, "an expression node must have exactly one operator key")
        return
    ((op, arg),) = expr.items()
    here = f"{path}.{op}"
    if op not in VALUE_OPERATORS | CONDITION_OPERATORS:
        yield Problem(here, "unknown operator (see edc/studies/EXPRESSIONS.md)")
        return
    if op == "item":
        if not isinstance(arg, str):
            yield Problem(here, "must be a string such as form.ITEM")
        elif (problem := refs.resolve(arg, local_form, row_items)) is not None:
            yield Problem(here, problem)
        return
    if op == "context":
        if arg not in CONTEXT_DATES:
            yield Problem(here, "must be one of: " + ", ".join(sorted(CONTEXT_DATES)))
        return
    if op == "date":
        if not isinstance(arg, str) or len(arg) != 10:
            yield Problem(here, "must be a date written YYYY-MM-DD")
        return
    if op == "cmp":
        if not (isinstance(arg, list) and len(arg) == 3 and arg[1] in COMPARATORS):
            yield Problem(
                here, "must be [left, operator, right] with operator one of < <= > >= == !="
            )
            return
        yield from _walk_expression(arg[0], f"{here}[0]", refs, local_form, row_items)
        yield from _walk_expression(arg[2], f"{here}[2]", refs, local_form, row_items)
        return
    if op in {"exists", "count"}:
        group = arg.get("group") if isinstance(arg, dict) else None
        if group not in refs.groups:
            yield Problem(f"{here}.group", f"names unknown repeating group or form {group!r}")
            return
        yield from _walk_expression(
            arg.get("where"), f"{here}.where", refs, local_form, refs.groups[group]
        )
        return
    if op == "latest_within":
        for key in ("item", "date_item"):
            ref = arg.get(key) if isinstance(arg, dict) else None
            if not isinstance(ref, str):
                yield Problem(f"{here}.{key}", "is required")
            elif (problem := refs.resolve(ref, local_form, row_items)) is not None:
                yield Problem(f"{here}.{key}", problem)
        if isinstance(arg, dict):
            yield from _walk_expression(arg.get("ref"), f"{here}.ref", refs, local_form, row_items)
        return
    if op in {"not", "present"}:
        # Their argument is itself an expression node, not a dict of named parameters.
        yield from _walk_expression(arg, here, refs, local_form, row_items)
        return
    if isinstance(arg, dict):
        for key, value in arg.items():
            yield from _walk_expression(value, f"{here}.{key}", refs, local_form, row_items)
    else:
        yield from _walk_expression(arg, here, refs, local_form, row_items)


def reference_problems(data: dict) -> list[Problem]:
    problems: list[Problem] = []
    refs = _Refs(data)
    arms = data.get("arms", [])
    arm_codes = {a["code"] for a in arms}
    intervention_codes = {i["code"] for i in data.get("interventions", [])}
    problems += _duplicates(arms, "code", "arms")
    problems += _duplicates(data.get("interventions", []), "code", "interventions")
    problems += _duplicates(data.get("forms", []), "code", "forms")
    problems += _duplicates(data["schedule"]["events"], "code", "schedule.events")
    problems += _duplicates(data.get("eligibility", []), "id", "eligibility")

    for a, arm in enumerate(arms):
        for i, code in enumerate(arm.get("interventions", [])):
            if code not in intervention_codes:
                problems.append(
                    Problem(f"arms[{a}].interventions[{i}]", f"names unknown intervention {code!r}")
                )

    for f, form in enumerate(data.get("forms", [])):
        where = f"forms[{f}]"
        all_items = form.get("items", []) + [i for g in form.get("groups", []) for i in g["items"]]
        seen: set[str] = set()
        for i, item in enumerate(form.get("items", [])):
            problems += _item_problems(item, f"{where}.items[{i}]", refs, form)
        for g, group in enumerate(form.get("groups", [])):
            for i, item in enumerate(group["items"]):
                problems += _item_problems(item, f"{where}.groups[{g}].items[{i}]", refs, form)
        for item in all_items:
            if item["code"] in seen:
                problems.append(
                    Problem(f"{where}", f"item code {item['code']!r} is used twice on this form")
                )
            seen.add(item["code"])
        for c, check in enumerate(form.get("edit_checks", [])):
            problems += _walk_expression(
                check["rule"], f"{where}.edit_checks[{c}].rule", refs, form["code"], None
            )
            for i, code in enumerate(check.get("items", [])):
                if code not in refs.items[form["code"]]:
                    problems.append(
                        Problem(
                            f"{where}.edit_checks[{c}].items[{i}]", f"names unknown item {code!r}"
                        )
                    )

    problems += unit_problems(data, refs)
    birth = refs.birth_date
    if birth is not None:
        item = refs.items.get(birth["form"], {}).get(birth["item"])
        if item is None:
            problems.append(
                Problem("dates.birth_date", f"names unknown item {birth['form']}.{birth['item']}")
            )
        elif item["type"] != "date":
            problems.append(Problem("dates.birth_date", "must name a full date item"))

    randomization = data["randomization"]
    ratio_sum = sum(a["ratio"] for a in arms)
    if randomization["method"] == "stratified_permuted_block":
        sizes = randomization.get("block_sizes")
        if not sizes:
            problems.append(
                Problem("randomization.block_sizes", "is required for stratified_permuted_block")
            )
        for i, size in enumerate(sizes or []):
            if ratio_sum and size % ratio_sum:
                problems.append(
                    Problem(
                        f"randomization.block_sizes[{i}]",
                        f"must be a multiple of the ratio sum {ratio_sum}",
                    )
                )
    for f, factor in enumerate(randomization.get("factors", [])):
        where = f"randomization.factors[{f}]"
        source = factor["source"]
        item = refs.items.get(source["form"], {}).get(source["item"])
        if source["form"] not in refs.forms:
            problems.append(
                Problem(f"{where}.source.form", f"names unknown form {source['form']!r}")
            )
            continue
        if item is None:
            problems.append(
                Problem(
                    f"{where}.source.item",
                    f"names unknown item {source['item']!r} on form {source['form']!r}",
                )
            )
            continue
        choices = item_choices(item, refs.codelists)
        if choices is None:
            problems.append(
                Problem(f"{where}.source.item", "must be a choice item whose codes are the levels")
            )
            continue
        for level_index, level in enumerate(factor["levels"]):
            if level["code"] not in choices:
                problems.append(
                    Problem(
                        f"{where}.levels[{level_index}].code",
                        f"{level['code']!r} is not a choice of {source['form']}.{source['item']}",
                    )
                )
    problems += _duplicates(randomization.get("factors", []), "code", "randomization.factors")
    # Everything go-live and an allocation check, so what passes here goes live: the
    # section's own settings beside any other problem of the file, then (on an otherwise clean
    # file, which it needs) a dry run of go-live and one allocation.
    from randomization.scheme_params import dry_run_problems, setting_problems

    problems += [Problem(path, message) for path, message in setting_problems(data)]
    if not problems:
        problems += [Problem(path, message) for path, message in dry_run_problems(data)]

    for e, event in enumerate(data["schedule"]["events"]):
        for i, code in enumerate(event.get("forms", [])):
            if code not in refs.forms:
                problems.append(
                    Problem(f"schedule.events[{e}].forms[{i}]", f"names unknown form {code!r}")
                )
        for i, code in enumerate(event.get("arms", [])):
            if code not in arm_codes:
                problems.append(
                    Problem(f"schedule.events[{e}].arms[{i}]", f"names unknown arm {code!r}")
                )

    for c, criterion in enumerate(data.get("eligibility", [])):
        where = f"eligibility[{c}]"
        expected_kind = "inclusion" if "-IN" in criterion["id"] else "exclusion"
        if criterion["kind"] != expected_kind:
            problems.append(
                Problem(f"{where}.kind", f"must be {expected_kind} for {criterion['id']}")
            )
        if "rule" in criterion:
            problems += _walk_expression(criterion["rule"], f"{where}.rule", refs, None, None)
        if "attestation" in criterion:
            ref = criterion["attestation"]
            item = refs.items.get(ref["form"], {}).get(ref["item"])
            if item is None:
                problems.append(
                    Problem(
                        f"{where}.attestation", f"names unknown item {ref['form']}.{ref['item']}"
                    )
                )
            elif item_choices(item, refs.codelists) is None and item["type"] != "boolean":
                problems.append(Problem(f"{where}.attestation", "must name a yes/no item"))
    return problems


def _item_problems(item: dict, where: str, refs: _Refs, form: dict) -> list[Problem]:
    problems = []
    if (
        item["type"] in {"choice", "multichoice"}
        and "choices" not in item
        and "codelist" not in item
    ):
        problems.append(
            Problem(f"{where}.choices", "is required for a choice item (or give a codelist)")
        )
    if "codelist" in item and item["codelist"] not in refs.codelists:
        problems.append(
            Problem(f"{where}.codelist", f"names unknown codelist {item['codelist']!r}")
        )
    for key in ("range", "soft_range"):
        bounds = item.get(key)
        if bounds and "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            problems.append(Problem(f"{where}.{key}", "min must not exceed max"))
        if bounds and item["type"] not in {"integer", "decimal"}:
            problems.append(Problem(f"{where}.{key}", "only numeric items have a range"))
    dated = item["type"] in DATE_TYPES
    for key in ("allow_future", "not_before"):
        if key in item and not dated:
            problems.append(Problem(f"{where}.{key}", "only date items have date limits"))
    if "birth" in item.get("not_before", ()) and refs.birth_date is None:
        problems.append(
            Problem(f"{where}.not_before", "names birth, but the study sets no dates.birth_date")
        )
    for key in ("uln_item", "lln_item"):
        if key in item and item[key] not in form_items(form):
            problems.append(
                Problem(f"{where}.{key}", f"names unknown item {item[key]!r} on this form")
            )
    return problems


# ---- units ------------------------------------------------------------------------------

# What each unit-aware operator needs of its arguments: argument name -> the UCUM unit the
# computation works in. The engine converts an item declared in another unit.
DERIVATION_UNITS = {
    "crcl_cockcroft_gault": {"weight_kg": "kg", "creatinine_umol_l": "umol/L"},
}


def _unit_of(ref: str, refs: _Refs, local_form: str | None) -> tuple[str, dict] | None:
    """(form code, item) named by an item reference, when it resolves."""
    form, code = ref.split(".", 1) if "." in ref else (local_form, ref)
    item = refs.items.get(form or "", {}).get(code)
    return (form, item) if item is not None else None


def _expression_item(expr: Any, refs: _Refs, local_form: str | None) -> tuple[str, dict] | None:
    """The item an expression reads, when it is an item or the latest value of one."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return None
    ((op, arg),) = expr.items()
    if op == "item" and isinstance(arg, str):
        return _unit_of(arg, refs, local_form)
    if op == "latest_within" and isinstance(arg, dict) and isinstance(arg.get("item"), str):
        return _unit_of(arg["item"], refs, local_form)
    return None


def _molar_mass_problem(
    item: dict, source: str, target: str, analytes: dict, what: str
) -> str | None:
    """The problem with expressing `item` (in `source`) in `target`, or None."""
    try:
        kind = units.conversion(source, target)
    except units.UnitError as exc:
        return f"{what}: {exc}"
    if kind is units.Conversion.INCOMPATIBLE:
        return f"{what} is in {source}, which cannot be converted to {target}"
    if kind is units.Conversion.NEEDS_MOLAR_MASS:
        analyte = item.get("analyte")
        if not analyte or analyte not in analytes:
            return (
                f"{what} is in {source}; converting it to {target} needs a molar mass: give the "
                "item an analyte and declare its molar_mass under analytes"
            )
    return None


def _unit_wiring(
    expr: Any, path: str, refs: _Refs, local_form: str | None, analytes: dict
) -> Iterator[Problem]:
    if isinstance(expr, list):
        for i, part in enumerate(expr):
            yield from _unit_wiring(part, f"{path}[{i}]", refs, local_form, analytes)
        return
    if not isinstance(expr, dict) or len(expr) != 1:
        return
    ((op, arg),) = expr.items()
    here = f"{path}.{op}"
    if op in DERIVATION_UNITS and isinstance(arg, dict):
        for key, needed in DERIVATION_UNITS[op].items():
            found = _expression_item(arg.get(key), refs, local_form)
            unit = found[1].get("unit") if found else None
            if found and unit:
                what = f"{found[0]}.{found[1]['code']}"
                if problem := _molar_mass_problem(found[1], unit, needed, analytes, what):
                    yield Problem(f"{here}.{key}", problem)
    if op == "ratio" and isinstance(arg, list) and len(arg) == 2:
        value = _expression_item(arg[0], refs, local_form)
        limit = _expression_item(arg[1], refs, local_form)
        if value and limit and value[1].get("unit") and limit[1].get("unit"):
            what = f"{limit[0]}.{limit[1]['code']}"
            # The limit is converted to the value's unit, with the value's analyte.
            analyte_item = {**limit[1], "analyte": value[1].get("analyte")}
            problem = _molar_mass_problem(
                analyte_item, limit[1]["unit"], value[1]["unit"], analytes, what
            )
            if problem:
                yield Problem(f"{here}[1]", problem)
    if isinstance(arg, dict | list):
        children = arg.items() if isinstance(arg, dict) else enumerate(arg)
        for key, value in children:
            sub = f"{here}[{key}]" if isinstance(key, int) else f"{here}.{key}"
            yield from _unit_wiring(value, sub, refs, local_form, analytes)


def _item_unit_problems(item: dict, where: str, form: dict, analytes: dict) -> Iterator[Problem]:
    unit = item.get("unit")
    if unit and not units.is_known(unit):
        yield Problem(f"{where}.unit", f"unknown unit {unit!r}: use a UCUM code such as umol/L")
        return
    if "analyte" in item and item["analyte"] not in analytes:
        yield Problem(f"{where}.analyte", f"names undeclared analyte {item['analyte']!r}")
    for i, alt in enumerate(item.get("alt_units", [])):
        if not unit:
            yield Problem(f"{where}.alt_units", "an item with alternative units needs a unit")
            break
        if not units.is_known(alt):
            yield Problem(f"{where}.alt_units[{i}]", f"unknown unit {alt!r}: use a UCUM code")
        elif problem := _molar_mass_problem(item, alt, unit, analytes, f"alternative unit {alt}"):
            yield Problem(f"{where}.alt_units[{i}]", problem)
    items = form_items(form)
    for key in ("uln_item", "lln_item"):
        limit = items.get(item.get(key, ""))
        if unit and limit and limit.get("unit") and units.is_known(limit["unit"]):
            what = f"{key} {limit['code']}"
            probe = {**limit, "analyte": item.get("analyte")}
            if problem := _molar_mass_problem(probe, limit["unit"], unit, analytes, what):
                yield Problem(f"{where}.{key}", problem)
    needed = {"HEIGHT": "cm", "WEIGHT": "kg"}.get(item["code"])
    if needed and unit and units.conversion(unit, needed) is not units.Conversion.SAME_DIMENSION:
        yield Problem(
            f"{where}.unit", f"{item['code']} feeds BSA and doses: needs a unit of {needed}"
        )
    if dose := item.get("planned_dose"):
        if not unit or units.conversion(unit, "mg") is not units.Conversion.SAME_DIMENSION:
            yield Problem(f"{where}.planned_dose", "the given dose needs a mass unit such as mg")
        reason = dose.get("reason_item")
        if reason and reason not in items:
            yield Problem(
                f"{where}.planned_dose.reason_item", f"names unknown item {reason!r} on this form"
            )


def unit_problems(data: dict, refs: _Refs | None = None) -> list[Problem]:
    """Units that are not UCUM codes, and wiring that mixes dimensions or needs a molar mass
    the study does not declare."""
    refs = refs or _Refs(data)
    analytes = data.get("analytes", {})
    problems: list[Problem] = []
    for f, form in enumerate(data.get("forms", [])):
        where = f"forms[{f}]"
        for i, item in enumerate(form.get("items", [])):
            problems += _item_unit_problems(item, f"{where}.items[{i}]", form, analytes)
        for g, group in enumerate(form.get("groups", [])):
            for i, item in enumerate(group["items"]):
                problems += _item_unit_problems(
                    item, f"{where}.groups[{g}].items[{i}]", form, analytes
                )
        for c, check in enumerate(form.get("edit_checks", [])):
            problems += _unit_wiring(
                check["rule"], f"{where}.edit_checks[{c}].rule", refs, form["code"], analytes
            )
    for c, criterion in enumerate(data.get("eligibility", [])):
        if "rule" in criterion:
            problems += _unit_wiring(
                criterion["rule"], f"eligibility[{c}].rule", refs, None, analytes
            )
    problems += _dose_problems(data)
    return problems


def _dose_problems(data: dict) -> Iterator[Problem]:
    """A dose by agent names a choice item of its form and agents among its choices; a dose by
    AUC needs the study's creatinine clearance item, in a unit convertible to mL/min."""
    codelists = data.get("codelists", {})
    crcl_code = data.get("dosing", {}).get("crcl_item")
    crcl_items = [
        item
        for form in data.get("forms", [])
        for item in form_items(form).values()
        if crcl_code and item["code"] == crcl_code
    ]
    if crcl_code and not crcl_items:
        yield Problem("dosing.crcl_item", f"names unknown item {crcl_code!r}")
    for item in crcl_items:
        unit = item.get("unit")
        if not unit or units.conversion(unit, "mL/min") is not units.Conversion.SAME_DIMENSION:
            yield Problem("dosing.crcl_item", f"{crcl_code} needs a unit of mL/min")
            break
    for f, form in enumerate(data.get("forms", [])):
        items = form_items(form)
        for i, item in enumerate(form.get("items", [])):
            dose = item.get("planned_dose")
            if not dose:
                continue
            where = f"forms[{f}].items[{i}].planned_dose"
            doses = [(where, dose)] if "per" in dose else []
            if by_agent := dose.get("by_agent"):
                agent = items.get(by_agent["item"])
                choices = item_choices(agent, codelists) if agent else None
                if choices is None:
                    yield Problem(
                        f"{where}.by_agent.item",
                        f"names {by_agent['item']!r}, not a choice item on this form",
                    )
                for code, spec in by_agent["doses"].items():
                    if choices is not None and code not in [str(c) for c in choices]:
                        yield Problem(
                            f"{where}.by_agent.doses.{code}",
                            f"{code!r} is not a choice of {by_agent['item']}",
                        )
                    doses.append((f"{where}.by_agent.doses.{code}", spec))
            for path, spec in doses:
                if spec.get("per") == "auc" and not crcl_code:
                    yield Problem(
                        f"{path}.per",
                        "a dose by AUC (Calvert) needs the study's dosing.crcl_item",
                    )


# ---- public entry points ----------------------------------------------------------------


def schedule_problems(data: dict) -> list[Problem]:
    """The schedule must also be one the visit-schedule engine can plan from."""
    from edc.schedule.definition import DefinitionError as ScheduleError
    from edc.schedule.definition import from_definition

    try:
        from_definition(data)
    except ScheduleError as exc:
        return [Problem(exc.path, exc.message)]
    return []


def validate(data: Any) -> list[Problem]:
    problems = schema_problems(data)
    if problems:
        return problems
    return reference_problems(data) or schedule_problems(data)


def translation_problems(data: Any) -> list[Problem]:
    """Every text missing in a language the study declares, with its path. Reported by
    check_study but not refused by load_study: a missing translation shows the study's first
    language, which is worse but not wrong."""
    if not isinstance(data, dict):
        return []
    return [Problem(path, message) for path, message in missing_texts(data)]


# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, about
# six times faster than the pure-Python one on a seed study, which every load and check parses.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_text(text: str, source: str = "<text>") -> tuple[Any, list[Problem]]:
    try:
        return yaml.load(text, Loader=SAFE_LOADER), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
        return None, [
            Problem("", f"{source}: not valid YAML at {where}: {getattr(exc, 'problem', exc)}")
        ]


def check_file(path: Path) -> tuple[Any, list[Problem]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Problem("", f"cannot read {path}: {exc.strerror}")]
    data, problems = parse_text(text, str(path))
    if problems:
        return None, problems
    return data, validate(data)


def canonical_sha256(data: Any) -> str:
    """The content hash of a definition: key order and YAML formatting do not matter."""
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def study_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.yaml"))
