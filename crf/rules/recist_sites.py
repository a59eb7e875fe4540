"""Anatomical site codes of lesions and the locoregional/distant class of a progression (§2.9)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class SiteCode(StrEnum):
    NP = "NP"
    RPN = "RPN"
    CN = "CN"
    DN = "DN"
    LUNG = "LUNG"
    LIVER = "LIVER"
    BONE = "BONE"
    BRAIN = "BRAIN"
    OTHER = "OTHER"


class SiteCategory(StrEnum):
    LOCAL = "local"
    REGIONAL = "regional"
    DISTANT = "distant"


SITE_CATEGORY: Mapping[SiteCode, SiteCategory] = {
    SiteCode.NP: SiteCategory.LOCAL,
    SiteCode.RPN: SiteCategory.REGIONAL,
    SiteCode.CN: SiteCategory.REGIONAL,
    SiteCode.DN: SiteCategory.DISTANT,
    SiteCode.LUNG: SiteCategory.DISTANT,
    SiteCode.LIVER: SiteCategory.DISTANT,
    SiteCode.BONE: SiteCategory.DISTANT,
    SiteCode.BRAIN: SiteCategory.DISTANT,
    SiteCode.OTHER: SiteCategory.DISTANT,
}


class ProgressionClass(StrEnum):
    LOCOREGIONAL_ONLY = "locoregional_only"
    DISTANT_ONLY = "distant_only"
    BOTH = "both"


def classify_progression(sites: Iterable[SiteCode]) -> ProgressionClass | None:
    """Locoregional (local and/or regional) vs distant; None when no site is known."""
    categories = {SITE_CATEGORY[SiteCode(site)] for site in sites}
    if not categories:
        return None
    distant = SiteCategory.DISTANT in categories
    locoregional = bool(categories - {SiteCategory.DISTANT})
    if distant and locoregional:
        return ProgressionClass.BOTH
    return ProgressionClass.DISTANT_ONLY if distant else ProgressionClass.LOCOREGIONAL_ONLY
