"""Target lesions that split or coalesce between scans (domain.md §2.3, RECIST 1.1 FAQ).

* A lesion that split into fragments is measured as the sum of the fragments' diameters.
* Lesions that coalesced into one mass: the mass is measured on one of them (`into`) and the
  others (`partners`) count 0 mm, so the mass counts once.

The derivation says what was applied as `LesionNote`s: an English template with named
parameters, marked for translation (the page translates the template, then fills it in), so
this module stays free of Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def gettext_noop(message: str) -> str:
    """Marks a template for the translation catalogue (makemessages reads this keyword)."""
    return message


SPLIT_TEMPLATE = gettext_noop(
    "%(lesion)s split into %(fragments)s: the fragments are summed, %(lesion)s = %(total)s"
)
COALESCED_TEMPLATE = gettext_noop(
    "%(partners)s coalesced into %(lesion)s: the mass (%(size)s) counts once on %(lesion)s "
    "and %(partners)s count 0 mm"
)
COALESCED_NE_TEMPLATE = gettext_noop(
    "%(partners)s coalesced into %(lesion)s, which was not evaluated: %(partners)s are not "
    "evaluated either"
)


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


@dataclass(frozen=True)
class LesionNote:
    """One sentence of the derivation: a translatable template and its parameters."""

    template: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.template % dict(self.params)

    def as_dict(self) -> dict[str, object]:
        return {"template": self.template, "params": dict(self.params)}
