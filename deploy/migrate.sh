#!/usr/bin/env bash
# Bring the database up to date the production way; every deploy runs this before the app.
#   1. As a superuser (DATABASE_ADMIN_URL; needed the first time, optional after): create the
#      owner and application roles and hand the schema to the owner (manage.py create_db_roles).
#   2. As the owner (DATABASE_MIGRATE_URL): migrate, then re-apply the application role's
#      privileges, so a table added by this release is covered like the others.
# The application itself (gunicorn, Celery) connects with DATABASE_URL, the application role.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
: "${DATABASE_MIGRATE_URL:?set DATABASE_MIGRATE_URL to the owner role (postgres://edc_owner:...)}"
if [ -n "${DATABASE_ADMIN_URL:-}" ]; then
  DATABASE_URL=$DATABASE_ADMIN_URL "$PY" manage.py create_db_roles
fi
DATABASE_URL=$DATABASE_MIGRATE_URL "$PY" manage.py migrate --noinput
DATABASE_URL=$DATABASE_MIGRATE_URL "$PY" manage.py create_db_roles --grants-only
