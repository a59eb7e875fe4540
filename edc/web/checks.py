"""Start-up checks about how the application is deployed."""

from __future__ import annotations

import logging

from django.core import checks
from django.db import DatabaseError, connections

logger = logging.getLogger("edc.deploy")


@checks.register("edc_deploy")
def superuser_connection(app_configs=None, databases=None, **kwargs) -> list[checks.Warning]:
    """Warn when the application talks to PostgreSQL as a superuser: such a user can TRUNCATE
    the audit trail, disable its triggers or set session_replication_role (deploy/README.md).
    Runs on every management command (runall, migrate, check) and when gunicorn loads."""
    warnings = []
    for alias in databases or ["default"]:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            superuser = connected_as_superuser(connection)
        except DatabaseError:
            continue  # an unreachable database is reported by whatever needs it
        if superuser:
            warnings.append(
                checks.Warning(
                    f"The application connects to PostgreSQL as the superuser "
                    f"{connection.settings_dict['USER']!r}, which can wipe the audit trail.",
                    hint="Run `manage.py create_db_roles` once and connect as the application "
                    "role (edc_app); see deploy/README.md.",
                    id="edc.W001",
                )
            )
    return warnings


def connected_as_superuser(connection) -> bool:
    """PostgreSQL reports it to every new session (the is_superuser parameter): no query."""
    connection.ensure_connection()
    return connection.connection.info.parameter_status("is_superuser") == "on"


def log_superuser_warning() -> None:
    """The same warning in the log of processes that run no management command (gunicorn)."""
    for warning in superuser_connection():
        logger.warning("%s %s (%s)", warning.msg, warning.hint, warning.id)
    connections.close_all()
