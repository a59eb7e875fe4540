"""Explanations built from translatable pieces, for the pure rule engines.

An engine does not write English sentences: it returns `Phrase`s, each a message template (the
msgid, e.g. "{value} is below {limit}") with named parameters. A parameter is a plain value
(a number with its unit, a date, a lesion id: shown as it is), a `Label` (a study text such as
an item label: shown in the reader's language by edc.studies.texts) or another `Phrase`. A
phrase may also carry its `working`: the terse form of the same step ("{value} < {limit}"),
shown behind a "details" toggle. The page layer renders phrases with gettext; `str(phrase)` is
the English working, which is what the engines' own tests and stored records read: a phrase
is a `str` subclass, so code that handled the English lines before handles phrases unchanged.

Templates are marked with `gettext_noop` so that makemessages finds them; they are translated
only when rendered. Pure module: Django's gettext is imported only by `in_language`, when a
page or message renders a phrase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union


def gettext_noop(message: str) -> str:
    """Marks a message template for translation at render time (makemessages extracts it)."""
    return message


@dataclass(frozen=True)
class Label:
    """A study text (item label, group or form name), shown in the study's language."""

    text: str

    def __str__(self) -> str:
        return self.text


Param = Union[str, Label, "Phrase"]


class Phrase(str):
    """A step of an explanation. As a string it is its English working (what tests, logs and
    stored records read, unchanged from before phrases); `message`, `params` and `working`
    say how to write it in any language."""

    message: str
    params: tuple[tuple[str, Param], ...]
    working: str | None

    def __new__(
        cls, message: str, params: tuple[tuple[str, Param], ...] = (), working: str | None = None
    ) -> Phrase:
        english = _render(message, params, working, _same, _same, working=True)
        self = super().__new__(cls, english)
        self.message, self.params, self.working = message, params, working
        return self

    def __reduce__(self):
        return (Phrase, (self.message, self.params, self.working))

    @property
    def sentence(self) -> str:
        """The English sentence (untranslated)."""
        return render(self, _same, _same)


def phrase(message: str, working: str | None = None, /, **params: Any) -> Phrase:
    return Phrase(message, tuple((k, _param(v)) for k, v in params.items()), working)


def counted(count: int, one: str, many: str, working: str | None = None, /, **params) -> Phrase:
    """A phrase about `count` things: the template for one or for several (English and Chinese
    need no more), with `count` among its parameters."""
    return phrase(one if count == 1 else many, working, count=str(count), **params)


def _param(value: Any) -> Param:
    if isinstance(value, Phrase | Label):
        return value
    return str(value)


def _same(text: str) -> str:
    return text


def render(
    p: Phrase,
    translate: Callable[[str], str],
    label: Callable[[str], str],
    *,
    working: bool = False,
) -> str:
    """The phrase in one language: `translate` gives a template's translation (gettext),
    `label` a study text's. With `working`, the terse form where the phrase has one."""
    return _render(p.message, p.params, p.working, translate, label, working=working)


def _render(
    message: str,
    params: tuple[tuple[str, Param], ...],
    terse: str | None,
    translate: Callable[[str], str],
    label: Callable[[str], str],
    *,
    working: bool,
) -> str:
    template = terse if working and terse is not None else message
    values = {
        name: (
            render(value, translate, label, working=working)
            if isinstance(value, Phrase)
            else label(value.text)
            if isinstance(value, Label)
            else value
        )
        for name, value in params
    }
    return translate(template).format(**values)


def joined(parts: Sequence[Phrase], separator: str = "; ") -> Phrase:
    """Several steps of one explanation, one after another (the separator is punctuation)."""
    if len(parts) == 1:
        return parts[0]
    template = separator.join(f"{{p{i}}}" for i in range(len(parts)))
    return phrase(template, **{f"p{i}": part for i, part in enumerate(parts)})


def in_language(p: Phrase, label: Callable[[str], str] = _same, *, working: bool = False) -> str:
    """The phrase in the reader's language (Django's active one), study texts through `label`."""
    from django.utils.translation import gettext

    return render(p, gettext, label, working=working)


def english(phrases: Sequence[Phrase], separator: str = "; ") -> str:
    return separator.join(str(p) for p in phrases)


# ---- storage: phrases kept in a record (JSON) and rendered again when shown -------------------


def to_json(p: Phrase) -> dict:
    out: dict[str, Any] = {"m": p.message, "p": {k: _param_json(v) for k, v in p.params}}
    if p.working is not None:
        out["w"] = p.working
    return out


def _param_json(value: Param) -> Any:
    if isinstance(value, Phrase):
        return to_json(value)
    if isinstance(value, Label):
        return {"label": value.text}
    return value


def from_json(data: Any) -> Phrase:
    """A stored phrase; a plain string (stored before phrases existed) is its own template."""
    if isinstance(data, str):
        return Phrase(data.replace("{", "{{").replace("}", "}}"))
    params = tuple((k, _param_from_json(v)) for k, v in (data.get("p") or {}).items())
    return Phrase(data["m"], params, data.get("w"))


def _param_from_json(value: Any) -> Param:
    if isinstance(value, Mapping):
        return Label(value["label"]) if "label" in value else from_json(value)
    return str(value)
