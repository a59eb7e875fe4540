"""Who signs in with a second factor, and which step a signed-in person is at. Pure Python: no
Django import.

A person who has enrolled an authenticator always gives its code after the password. A person
without one must enrol first when any of their roles requires a second factor: a study's own
policy decides for that study's roles, else the system's default roles
(settings.EDC_MFA_ROLES). A TOTP code is a sign-in factor only, never a signature component.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# The production default: everyone who signs, locks, exports or administers.
PRODUCTION_ROLES = ("investigator", "data_manager", "statistician", "study_admin")


class Step(StrEnum):
    PASSWORD_ONLY = "password_only"  # nothing more to give
    VERIFY = "verify"  # a code from the authenticator (or a recovery code) is still due
    ENROL = "enrol"  # required but no authenticator yet: enrol before anything else
    DONE = "done"  # the second factor was given in this session


def default_roles(*, demo: bool) -> tuple[str, ...]:
    """Demo sites (make run, the tests) let demo users in with the password alone."""
    return () if demo else PRODUCTION_ROLES


def is_required(
    memberships: Iterable[tuple[str, frozenset[str] | None]],
    *,
    default: Iterable[str],
    is_admin: bool,
) -> bool:
    """`memberships` are (role, the study's required roles or None when the study has no policy
    of its own). `is_admin` is a Django staff user (the admin site), counted as a study admin
    under the default policy."""
    default = frozenset(default)
    if is_admin and "study_admin" in default:
        return True
    return any(role in (default if study is None else study) for role, study in memberships)


def step_after_password(*, has_device: bool, required: bool) -> Step:
    if has_device:
        return Step.VERIFY
    return Step.ENROL if required else Step.PASSWORD_ONLY
