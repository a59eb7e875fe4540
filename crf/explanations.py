"""Rule explanations shown in the reader's language.

The pure engines return phrases (edc/phrases.py); here they are rendered with gettext and
with the study's own texts (item labels) from edc.studies.texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edc.phrases import Phrase, from_json, in_language
from edc.studies.texts import study_text


def sentence(p: Phrase, definition: Mapping[str, Any]) -> str:
    return in_language(p, lambda text: study_text(definition, text))


def working(p: Phrase, definition: Mapping[str, Any]) -> str:
    return in_language(p, lambda text: study_text(definition, text), working=True)


@dataclass(frozen=True)
class Explained:
    """One step of an explanation: the sentence, and its working behind a "details" toggle."""

    sentence: str
    working: str


def explain(phrases: Iterable[Phrase], definition: Mapping[str, Any]) -> list[Explained]:
    return [Explained(sentence(p, definition), working(p, definition)) for p in phrases]


def explain_stored(lines: Iterable[Any], definition: Mapping[str, Any]) -> list[Explained]:
    """Steps kept in a record as JSON phrases (or, from before phrases, as English lines)."""
    return explain((from_json(line) for line in lines), definition)
