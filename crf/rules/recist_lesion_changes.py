"""Target lesions that split or coalesce between scans (domain.md §2.3, RECIST 1.1 FAQ).

* A lesion that split into fragments is measured as the sum of the fragments' diameters.
* Lesions that coalesced into one mass: the mass is measured on one of them (`into`) and the
  others (`partners`) count 0 mm, so the mass counts once.

What the engine applied is said in translatable phrases (edc.phrases). Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from edc.phrases import Phrase, gettext_noop, phrase

SPLIT_TEMPLATE = gettext_noop(
    "{lesion} split into {fragments}: the fragments are summed, {lesion} = {total}"
)
COALESCED_TEMPLATE = gettext_noop(
    "{partners} coalesced into {lesion}: the mass ({size}) counts once on {lesion} "
    "and {partners} count 0 mm"
)
COALESCED_NE_TEMPLATE = gettext_noop(
    "{partners} coalesced into {lesion}, which was not evaluated: {partners} are not "
    "evaluated either"
)

# A sentence of the derivation (kept as a name of its own for the engine's signatures).
LesionNote = Phrase


@dataclass(frozen=True)
class Split:
    """`lesion_id` (a baseline target) split into fragments: (fragment id, size in tenths)."""

    lesion_id: str
    fragments: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        if not self.fragments:
            raise ValueError(f"{self.lesion_id}: a split needs at least one fragment")


@dataclass(frozen=True)
class Coalescence:
    """Baseline targets `partners` grew into one mass with `into`, which carries its size."""

    into: str
    partners: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.partners or self.into in self.partners:
            raise ValueError(f"{self.into}: a coalescence needs partners other than itself")


def split_phrase(lesion: str, fragments: str, total: str) -> Phrase:
    return phrase(SPLIT_TEMPLATE, lesion=lesion, fragments=fragments, total=total)


def coalesced_phrase(partners: str, lesion: str, size: str | None) -> Phrase:
    if size is None:
        return phrase(COALESCED_NE_TEMPLATE, partners=partners, lesion=lesion)
    return phrase(COALESCED_TEMPLATE, partners=partners, lesion=lesion, size=size)
