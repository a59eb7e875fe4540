"""The pure rules of API token keys (edc.accounts.tokenkeys)."""

import datetime as dt
import hashlib

from edc.accounts.tokenkeys import (
    LAST_USED_RESOLUTION,
    lifetime_ok,
    needs_last_used_write,
    new_key,
    password_stamp,
)


def test_a_new_key_is_40_url_safe_characters_with_its_digest_and_prefix():
    keys = {new_key().key for _ in range(50)}
    assert len(keys) == 50
    made = new_key()
    assert len(made.key) == 40 and made.key.replace("-", "").replace("_", "").isalnum()
    assert made.digest == hashlib.sha256(made.key.encode()).hexdigest()
    assert made.prefix == made.key[:8]


def test_a_lifetime_is_one_day_to_the_most():
    assert [lifetime_ok(days, 90) for days in (0, 1, 90, 91)] == [False, True, True, False]


def test_last_use_is_written_when_never_written_or_a_minute_old():
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert needs_last_used_write(None, now)
    assert not needs_last_used_write(now - LAST_USED_RESOLUTION + dt.timedelta(seconds=1), now)
    assert needs_last_used_write(now - LAST_USED_RESOLUTION, now)


def test_the_password_stamp_changes_with_the_password_hash_and_only_with_it():
    first = "pbkdf2_sha256$1000000$salt$hash-one"
    assert password_stamp(first) == password_stamp(first)
    assert password_stamp(first) != password_stamp("pbkdf2_sha256$1000000$salt$hash-two")
    assert first not in password_stamp(first) and len(password_stamp(first)) == 64
