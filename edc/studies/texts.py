"""Study texts in several languages: the one place a study text is looked up in a language.

A study file declares its languages (`languages: [en, zh-Hans]`, default `[en]`); the first is
the language its texts are written in, where they stand. The other languages come from one
`translations:` block at the end of the file, mapping each language to {text as written -> text
in that language}. A repeated text is translated once, and another engineer adding an item next
to an existing one never edits the same lines as the translator. A text that needs a translation
of its own in one place may instead be written inline as `{en: ..., zh-Hans: ...}`.

    languages: [en, zh-Hans]
    ...
    translations:
      zh-Hans:
        texts:
          Complete response: 完全缓解(CR)
        review:              # texts a site clinician should confirm before go-live
        - Complete response

Pure module (no Django import): the language is passed in; `active_language()` asks Django
for the reader's language only when called.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULT_LANGUAGES = ("en",)

# Where the human-readable texts of a definition live: (path pattern, key). "*" is every entry
# of a list or mapping. Units, codes and proper names (sponsor) are not translated.
_TEXT_FIELDS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((), "title"),
    ((), "short_title"),
    (("codelists", "*", "*"), "label"),
    (("interventions", "*"), "name"),
    (("arms", "*"), "name"),
    (("arms", "*"), "description"),
    (("randomization", "factors", "*"), "name"),
    (("randomization", "factors", "*", "levels", "*"), "label"),
    (("schedule", "events", "*"), "name"),
    (("forms", "*"), "name"),
    (("forms", "*", "items", "*"), "label"),
    (("forms", "*", "items", "*"), "help"),
    (("forms", "*", "items", "*", "choices", "*"), "label"),
    (("forms", "*", "groups", "*"), "name"),
    (("forms", "*", "groups", "*", "items", "*"), "label"),
    (("forms", "*", "groups", "*", "items", "*"), "help"),
    (("forms", "*", "groups", "*", "items", "*", "choices", "*"), "label"),
    (("forms", "*", "edit_checks", "*"), "message"),
    (("eligibility", "*"), "text"),
)


def languages(definition: Mapping[str, Any]) -> list[str]:
    """The study's languages, its source language first."""
    return list(definition.get("languages") or DEFAULT_LANGUAGES)


def active_language() -> str:
    """The reader's language as Django resolved it for this request (e.g. "zh-hans")."""
    from django.utils.translation import get_language

    return get_language() or ""


def match_language(language: str, declared: list[str] | tuple[str, ...]) -> str | None:
    """The declared tag that serves `language`: the same tag in any letter case ("zh-hans" is
    "zh-Hans"), else the same primary language ("en-us" is "en")."""
    wanted = language.lower()
    for tag in declared:
        if tag.lower() == wanted:
            return tag
    primary = wanted.split("-")[0]
    for tag in declared:
        if tag.lower().split("-")[0] == primary:
            return tag
    return None


def study_text(definition: Mapping[str, Any], text: Any, language: str | None = None) -> str:
    """`text` of this study in `language` (default: the reader's), falling back to the study's
    first language when the study does not have the text in that language."""
    if text is None:
        return ""
    declared = languages(definition)
    tag = match_language(active_language() if language is None else language, declared)
    if isinstance(text, Mapping):
        return str(text.get(tag or declared[0]) or text.get(declared[0]) or source_text(text))
    if tag is None or tag == declared[0]:
        return text
    return _table(definition, tag).get(text, text)


def source_text(text: Any) -> str:
    """The text as written in the study's first language (an inline mapping's first entry)."""
    if isinstance(text, Mapping):
        return str(next(iter(text.values()), ""))
    return "" if text is None else str(text)


def _table(definition: Mapping[str, Any], tag: str) -> Mapping[str, str]:
    block = (definition.get("translations") or {}).get(tag) or {}
    return block.get("texts") or {}


def text_fields(definition: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(path, text) of every human-readable text of a definition, e.g.
    ("forms[3].items[2].label", "Haemoglobin")."""
    for pattern, key in _TEXT_FIELDS:
        for path, node in _nodes(definition, pattern, ""):
            if isinstance(node, Mapping) and key in node:
                yield (f"{path}.{key}" if path else key), node[key]


def _nodes(node: Any, pattern: tuple[str, ...], path: str) -> Iterator[tuple[str, Any]]:
    if not pattern:
        yield path, node
        return
    head, rest = pattern[0], pattern[1:]
    if head != "*":
        if isinstance(node, Mapping) and head in node:
            yield from _nodes(node[head], rest, f"{path}.{head}" if path else head)
        return
    if isinstance(node, list):
        for index, child in enumerate(node):
            yield from _nodes(child, rest, f"{path}[{index}]")
    elif isinstance(node, Mapping):
        for name, child in node.items():
            yield from _nodes(child, rest, f"{path}.{name}")


def missing_texts(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, message) for every text that a declared language lacks, and for translations of a
    language the study does not declare or review marks naming no translated text."""
    declared = languages(definition)
    problems: list[tuple[str, str]] = []
    translations = definition.get("translations") or {}
    for tag in translations:
        if tag not in declared:
            problems.append(
                (f"translations.{tag}", f"translates into {tag}, not a language of this study")
            )
    for path, text in text_fields(definition):
        for tag in declared:
            if isinstance(text, Mapping):
                if not text.get(tag):
                    problems.append((path, f"has no {tag} text"))
            elif tag != declared[0] and not _table(definition, tag).get(text):
                problems.append((path, f"has no {tag} text for {text!r}"))
    for tag in declared[1:]:
        texts = _table(definition, tag)
        block = translations.get(tag) or {}
        for index, text in enumerate(block.get("review") or []):
            if text not in texts:
                problems.append(
                    (f"translations.{tag}.review[{index}]", f"{text!r} is not translated above")
                )
    return problems


def localized(definition: Mapping[str, Any], language: str) -> dict:
    """A copy of the definition with every text in `language`, for pages that lay a definition
    out as it stands (forms, visits, codelists). Codes and rules are unchanged; the stored
    definition is not touched."""
    shown = copy.deepcopy(dict(definition))
    for pattern, key in _TEXT_FIELDS:
        for _, node in _nodes(shown, pattern, ""):
            if isinstance(node, dict) and key in node:
                node[key] = study_text(definition, node[key], language)
    return shown
