"""Test settings: the project's own settings, plus an embedded SQLite database alias so the
suite can prove database-level guarantees (audit triggers) on both backends."""

from edc.settings import *  # noqa: F403
from edc.settings import VAR_DIR

# Without a TEST name Django builds this test database in memory: private to each test run.
DATABASES["embedded"] = {  # noqa: F405
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": str(VAR_DIR / "embedded.sqlite3"),
}
EDC_DEMO = True
# As on a demo site: demo users sign in with the password alone (edc/mfa tests set roles).
EDC_MFA_ROLES: list[str] = []
# Fast hashing keeps user-heavy tests quick; one test checks the production hasher setting.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
