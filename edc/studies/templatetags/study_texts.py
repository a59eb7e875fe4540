"""`{{ text|study_text:study }}`: a study text (visit name, study title, label) in the reader's
language, through edc.studies.texts. `{{ reason|in_language:study }}`: a rule's explanation
(edc/phrases.py) as a sentence in the reader's language; a plain string is shown as it is.
The argument is a Study or a definition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from crf.definitions import study_forms
from edc.phrases import Phrase
from edc.phrases import in_language as phrase_in_language
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


@register.filter
def in_language(reason: Any, source: Any) -> str:
    if not isinstance(reason, Phrase):
        return reason
    definition = _definition(source)
    return phrase_in_language(reason, lambda text: texts.study_text(definition, text))
