"""Deployment tests run the processes production runs, connected as production's roles."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

APP_ROLE = "edc_app"
OWNER_ROLE = "edc_owner"


def database_url(user: str | None = None) -> str:
    """The test database's URL, as the test run's own user or as `user` (loopback is trusted
    here; production gives each role a password)."""
    s = connection.settings_dict
    login = user or s["USER"]
    password = f":{s['PASSWORD']}" if s["PASSWORD"] and user is None else ""
    return (
        f"postgres://{login}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


def apply_roles() -> None:
    """What a deploy does once after migrate: the roles and their privileges, committed."""
    call_command("create_db_roles", verbosity=0)


@pytest.fixture
def app_role_url(transactional_db) -> str:
    assert connection.vendor == "postgresql", "the deploy tests need PostgreSQL"
    apply_roles()
    return database_url(APP_ROLE)
