"""API token keys: how one is made, stored and checked for age. Pure Python: no Django import.

A key is 40 URL-safe characters (240 random bits). The database keeps its SHA-256 digest, never
the key: a copy of the database does not sign anyone in. The first characters are kept in clear
so a person can tell their tokens apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

PREFIX_LENGTH = 8
# last_used_at is written at most once in this span, so a busy client does not add a write to
# every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    key: str
    prefix: str
    digest: str


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> NewKey:
    key = secrets.token_urlsafe(30)
    return NewKey(key=key, prefix=key[:PREFIX_LENGTH], digest=digest_of(key))


def lifetime_ok(asked: int, most: int) -> bool:
    """A token may be asked to live from one day to `most` days."""
    return 1 <= asked <= most


def needs_last_used_write(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION


def password_stamp(password_hash: str) -> str:
    """A token keeps the stamp of the password it was issued under; once the password changes,
    by whatever path (a service, the admin, `manage.py changepassword`), the stamps differ and
    the token is refused, as Django refuses sessions. A plain digest, not keyed with
    SECRET_KEY: it tells no more than the password hash beside it in the same database, and
    tokens then survive a key rotation and work in every process whatever its key."""
    return hashlib.sha256(f"edc.api-token.password:{password_hash}".encode()).hexdigest()
