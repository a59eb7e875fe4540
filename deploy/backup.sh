#!/usr/bin/env bash
# Back up NPC EDC: PostgreSQL (pg_dump custom format, audit trail included) and the file store
# (export archives and uploads under EDC_VAR_DIR), with SHA-256 sums of both.
#
#   DATABASE_URL=postgres://edc_app:...@127.0.0.1:5432/edc EDC_VAR_DIR=/var/lib/edc \
#     deploy/backup.sh /var/backups/edc          # -> /var/backups/edc/edc-<UTC stamp>/
#
# The application role is enough (it reads every table). Run it nightly (cron or a systemd
# timer) and restore a copy into a scratch database monthly with deploy/restore.sh
# (ICH E6(R3) 4.3.3). With an object store for exports (EXPORT_STORAGE_BACKEND), back the
# bucket up with its own versioning or replication; this script saves the local folders.
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL (postgres://...) to the database to back up}"
var_dir=${EDC_VAR_DIR:-$(cd "$(dirname "$0")/.." && pwd)/var}
dest="${1:-${EDC_BACKUP_DIR:-/var/backups/edc}}/edc-$(date -u +%Y%m%dT%H%M%SZ)"
# libpq does not know the settings Django reads from the URL's query (conn_max_age ...).
url=${DATABASE_URL%%\?*}

mkdir -p "$dest"
pg_dump --format=custom --compress=6 --file "$dest/database.dump" "$url"
folders=()
for folder in exports media; do
  [ -d "$var_dir/$folder" ] && folders+=("$folder")
done
tar -C "$var_dir" -czf "$dest/files.tar.gz" "${folders[@]}"
(cd "$dest" && sha256sum database.dump files.tar.gz > SHA256SUMS)
echo "$dest"
