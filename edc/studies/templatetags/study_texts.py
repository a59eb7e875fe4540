"""`{{ text|study_text:study }}`: a study text (visit name, study title, label) in the reader's
language, through edc.studies.texts. The argument is a Study or a definition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from crf.definitions import study_forms
from edc.studies import texts

register = template.Library()


def _definition(source: Any) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    version_id = getattr(source, "current_version_id", None)
    # The parsed definition is cached per protocol version, so a list of visits costs no query.
    return study_forms(version_id).definition if version_id else {}


@register.filter
def study_text(text: Any, source: Any) -> str:
    return texts.study_text(_definition(source), text)
