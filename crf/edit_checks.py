"""Edit checks of a form, evaluated with the study expression engine over the subject's data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crf.rules.expressions import SubjectData, evaluate_edit_check
from crf.study_forms import StudyForms
from crf.subject_record import rule_references
from crf.validation import RuleEvaluator


def references(form: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """Other forms the form's edit checks read, and the subject dates they read."""
    forms: set[str] = set()
    context: set[str] = set()
    for check in form.get("edit_checks", []):
        found, dates = rule_references(check["rule"], form["code"])
        forms |= found
        context |= dates
    return forms, context


def evaluator(form: Mapping[str, Any], forms: StudyForms, data: SubjectData) -> RuleEvaluator:
    def evaluate(rule: Any, values: Mapping[str, Any]) -> tuple[bool | None, str]:
        outcome = evaluate_edit_check(rule, form["code"], values, data, forms.labels)
        return outcome.truth, outcome.reason

    return evaluate
