"""Which of a person's roles the page header names, given the study and site being viewed.
Pure Python: no Django import (the words come from the caller)."""

from __future__ import annotations

from dataclasses import dataclass

from edc.accounts.roles import Role


@dataclass(frozen=True)
class Membership:
    study: str
    site: str | None  # None: every site of the study
    role: str


@dataclass(frozen=True)
class HeaderRole:
    """The roles to name (in ``Role`` order), how many more are not named, and the one place
    they all hold at: a site code (``site``), or a study code when no study is being viewed."""

    roles: tuple[str, ...]
    more: int = 0
    site: str | None = None
    study: str | None = None


MAX_NAMED = 2  # the header must fit a 390-px phone: two role names, then "+1"


def header_role(
    memberships: list[Membership], study: str | None = None, site: str | None = None
) -> HeaderRole | None:
    """The roles held in the study (and at the site) being viewed; with no study in view, all
    the person's roles. None when the person holds no role there."""
    held = memberships
    if study:
        held = [m for m in held if m.study.lower() == study.lower()]
        if site:
            held = [m for m in held if m.site in (None, site)]
    if not held:
        return None
    order = list(Role)
    roles = sorted({m.role for m in held}, key=lambda r: order.index(r) if r in order else 99)
    sites = {m.site for m in held}
    studies = {m.study for m in held}
    return HeaderRole(
        roles=tuple(roles[:MAX_NAMED]),
        more=max(0, len(roles) - MAX_NAMED),
        site=next(iter(sites)) if len(sites) == 1 and None not in sites else None,
        study=next(iter(studies)) if not study and len(studies) == 1 else None,
    )
