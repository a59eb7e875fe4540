#!/usr/bin/env bash
# Restore a deploy/backup.sh backup into a NEW database, with the production roles, and its
# file store into a folder:
#
#   DATABASE_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres \
#     deploy/restore.sh /var/backups/edc/edc-20261206T020000Z edc_restored /var/lib/edc-restored
#
# DATABASE_ADMIN_URL names a role that may create databases (a superuser, or the owner role
# with CREATEDB). The new database ends up owned by edc_owner, with edc_app's privileges as
# create_db_roles sets them; point DATABASE_URL at it as edc_app to use it. An existing
# database is never overwritten.
set -euo pipefail
backup=${1:?usage: restore.sh BACKUP_DIR NEW_DATABASE [VAR_DIR]}
database=${2:?usage: restore.sh BACKUP_DIR NEW_DATABASE [VAR_DIR]}
var_dir=${3:-}
: "${DATABASE_ADMIN_URL:?set DATABASE_ADMIN_URL (postgres://...) to a role that may create databases}"
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
admin=${DATABASE_ADMIN_URL%%\?*}
target="${admin%/*}/$database"

(cd "$backup" && sha256sum --check --quiet SHA256SUMS)
if [ -n "$(psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
  echo "restore.sh: database $database exists; restore into a new one" >&2
  exit 1
fi
psql "$admin" -qc "CREATE DATABASE \"$database\""
DATABASE_URL=$target "$PY" manage.py create_db_roles --roles-only
pg_restore --no-owner --exit-on-error --dbname "$target" "$backup/database.dump"
DATABASE_URL=$target "$PY" manage.py create_db_roles
if [ -n "$var_dir" ]; then
  mkdir -p "$var_dir"
  tar -C "$var_dir" -xzf "$backup/files.tar.gz"
fi
echo "restored into $database${var_dir:+ and $var_dir}"
