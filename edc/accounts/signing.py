"""The components of an electronic signature (21 CFR 11.200(a)(1)): the user ID and the
password. The first signing in a continuous session asks for both; later signings in the same
session ask for the password alone; a new session (after signing out, or after the idle timeout
ends the session: SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST) asks for both again.

The signing services (edc.datamanagement.services.sign, crf.services.confirm_eligibility) check
the components here and, only after a signature succeeded, mark the session. A TOTP code is a
sign-in factor (edc.mfa), never a signature component.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _

from edc.errors import DomainError

# Set in the session by the signing services after a signature with both components.
SESSION_KEY = "edc_signed_with_user_id"


def user_id_required(session: SessionBase | None) -> bool:
    """Whether the next signing must include the user ID. Without a session (the API, where each
    request stands alone) the caller decides: the API asks for it every time."""
    return session is not None and not session.get(SESSION_KEY, False)


def signer_problem(
    user, *, username: str | None, password: str, session: SessionBase | None
) -> DomainError | None:
    """What is wrong with the components given, or None. A user ID given is always checked; it
    is required when `user_id_required(session)`."""
    if username is not None:
        username = username.strip()
    if not username and user_id_required(session):
        return DomainError(
            "user_id_required",
            "username",
            _("enter your user ID: the first signature of a session needs user ID and password"),
        )
    if username and username != user.get_username():
        return DomainError(
            "wrong_user_id",
            "username",
            _("this is not the user ID you are signed in with"),
            status=403,
        )
    if not password or not user.check_password(password):
        return DomainError(
            "bad_credentials", "password", _("the password is not correct"), status=403
        )
    return None


def is_failed_attempt(problem: DomainError | None) -> bool:
    """Whether a refused signature is audited as a failed attempt. A missing user ID is not:
    nothing was checked against the account, the form was only incomplete."""
    return problem is not None and problem.code != "user_id_required"


def mark_signed(session: SessionBase | None, *, username: str | None) -> None:
    """After a signature succeeded: with the user ID given, later ones in this session need
    the password alone."""
    if session is not None and username:
        session[SESSION_KEY] = True
