#!/usr/bin/env bash
# Install NPC EDC on a plain Debian server: runtime packages only, systemd units, nginx with
# HTTPS in front, PostgreSQL roles (the application cannot change the audit trail).
#
#   sudo deploy/install-debian.sh            # defaults below; re-running upgrades in place
#
# Every default can be changed with an environment variable of the same name:
EDC_PREFIX=${EDC_PREFIX:-/opt/edc}                     # code in app/, virtualenv in venv/
EDC_ETC=${EDC_ETC:-/etc/edc}                           # edc.env (secrets) and tls/
EDC_DATA=${EDC_DATA:-/var/lib/edc}                     # EDC_VAR_DIR: exports, media, mail
EDC_USER=${EDC_USER:-edc}                              # the system user the services run as
EDC_SERVER_NAME=${EDC_SERVER_NAME:-$(hostname -f 2>/dev/null || hostname)}
EDC_LISTEN=${EDC_LISTEN:-0.0.0.0}                      # nginx's address (127.0.0.1: loopback only)
EDC_HTTP_PORT=${EDC_HTTP_PORT:-80}
EDC_HTTPS_PORT=${EDC_HTTPS_PORT:-443}
EDC_WEB_PORTS=${EDC_WEB_PORTS:-8001 8002}              # one gunicorn instance (edc-web@PORT) each
EDC_WEB_WORKERS=${EDC_WEB_WORKERS:-4}                  # processes per gunicorn instance
EDC_WORKERS=${EDC_WORKERS:-2}                          # Celery workers (edc-worker@N)
EDC_WORKER_CONCURRENCY=${EDC_WORKER_CONCURRENCY:-2}
EDC_DB_NAME=${EDC_DB_NAME:-edc}
EDC_DB_HOST=${EDC_DB_HOST:-127.0.0.1}
EDC_DB_PORT=${EDC_DB_PORT:-5432}
# A superuser, only for creating the database and the roles (never written to edc.env).
DATABASE_ADMIN_URL=${DATABASE_ADMIN_URL:-postgres://postgres@$EDC_DB_HOST:$EDC_DB_PORT/postgres}
EDC_BROKER_URL=${EDC_BROKER_URL:-redis://127.0.0.1:6379/0}
EDC_SYSTEMD_DIR=${EDC_SYSTEMD_DIR:-/etc/systemd/system}
EDC_NGINX_SITE=${EDC_NGINX_SITE:-/etc/nginx/sites-available/edc.conf}
EDC_VENV=${EDC_VENV:-}                                 # an existing virtualenv to use instead
EDC_SKIP_APT=${EDC_SKIP_APT:-0}
EDC_START=${EDC_START:-auto}                           # auto: start with systemd if it runs

set -euo pipefail
SOURCE=$(cd "$(dirname "$0")/.." && pwd)
APP_DIR=$EDC_PREFIX/app
VENV=${EDC_VENV:-$EDC_PREFIX/venv}
ENV_FILE=$EDC_ETC/edc.env
say() { printf '== %s\n' "$*"; }

if [ "$EDC_SKIP_APT" != 1 ]; then
  missing=()
  for package in python3-venv postgresql-client redis-tools nginx openssl; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi

if ! id "$EDC_USER" >/dev/null 2>&1; then
  say "system user $EDC_USER"
  useradd --system --home-dir "$EDC_DATA" --shell /usr/sbin/nologin "$EDC_USER"
fi
EDC_GROUP=$(id -gn "$EDC_USER")

say "code into $APP_DIR"
mkdir -p "$APP_DIR" "$EDC_ETC/tls" "$EDC_DATA/exports" "$EDC_DATA/media"
if [ "$SOURCE" != "$APP_DIR" ]; then
  tar -C "$SOURCE" --exclude=./.git --exclude=./.venv --exclude=./var --exclude=./test-artifacts \
    --exclude='*/__pycache__' -cf - . | tar -C "$APP_DIR" -xf -
fi

if [ -z "$EDC_VENV" ]; then
  say "runtime packages into $VENV"
  test -x "$VENV/bin/python" || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$APP_DIR/requirements.txt"
fi

secret() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(40))'; }
if [ ! -f "$ENV_FILE" ]; then
  say "settings and fresh secrets in $ENV_FILE"
  owner_password=$(secret)
  app_password=$(secret)
  https_origin="https://$EDC_SERVER_NAME"
  [ "$EDC_HTTPS_PORT" = 443 ] || https_origin="$https_origin:$EDC_HTTPS_PORT"
  umask 077
  cat > "$ENV_FILE" <<ENV
# NPC EDC settings (every variable: README.md). Read by the edc-* systemd units.
SECRET_KEY=$(secret)
RANDOMIZATION_SEED_KEY=$(secret)
EDC_VAR_DIR=$EDC_DATA
EDC_HTTPS=1
ALLOWED_HOSTS=$EDC_SERVER_NAME,127.0.0.1,localhost
CSRF_TRUSTED_ORIGINS=$https_origin
# The application role: gunicorn and Celery. It cannot change the audit trail.
DATABASE_URL=postgres://edc_app:$app_password@$EDC_DB_HOST:$EDC_DB_PORT/$EDC_DB_NAME?conn_max_age=60
# The schema owner: deploy/migrate.sh (edc-migrate.service) migrates with it.
DATABASE_MIGRATE_URL=postgres://edc_owner:$owner_password@$EDC_DB_HOST:$EDC_DB_PORT/$EDC_DB_NAME
EDC_DB_OWNER_PASSWORD=$owner_password
EDC_DB_APP_PASSWORD=$app_password
CELERY_BROKER_URL=$EDC_BROKER_URL
# Export archives: this folder by default; any Django storage (S3 via django-storages) with
# EXPORT_STORAGE_BACKEND and EXPORT_STORAGE_OPTIONS (JSON).
# E-mail: EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD
ENV
  umask 022
fi
chown root:"$EDC_GROUP" "$ENV_FILE"
chmod 640 "$ENV_FILE"
set -a; . "$ENV_FILE"; set +a

say "database $EDC_DB_NAME and roles"
admin_db_url=$DATABASE_ADMIN_URL
if ! psql "$admin_db_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$EDC_DB_NAME'" | grep -q 1; then
  psql "$admin_db_url" -qc "CREATE DATABASE \"$EDC_DB_NAME\""
fi
target_admin_url="${admin_db_url%/*}/$EDC_DB_NAME"
(cd "$APP_DIR" && DATABASE_ADMIN_URL=$target_admin_url PYTHON="$VENV/bin/python" deploy/migrate.sh)
(cd "$APP_DIR" && "$VENV/bin/python" manage.py collectstatic --noinput -v0)
chown -R "$EDC_USER:$EDC_GROUP" "$EDC_DATA"

if [ ! -f "$EDC_ETC/tls/edc.crt" ]; then
  say "self-signed certificate for $EDC_SERVER_NAME (replace with a real one, e.g. certbot)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$EDC_SERVER_NAME" \
    -addext "subjectAltName=DNS:$EDC_SERVER_NAME,DNS:localhost,IP:127.0.0.1" \
    -keyout "$EDC_ETC/tls/edc.key" -out "$EDC_ETC/tls/edc.crt" 2>/dev/null
  chmod 600 "$EDC_ETC/tls/edc.key"
fi

say "systemd units in $EDC_SYSTEMD_DIR, nginx site $EDC_NGINX_SITE"
web_units="" worker_units="" upstream=""
for port in $EDC_WEB_PORTS; do
  web_units="$web_units edc-web@$port.service"
  upstream="$upstream    server 127.0.0.1:$port max_fails=1 fail_timeout=5s;\n"
done
for n in $(seq 1 "$EDC_WORKERS"); do worker_units="$worker_units edc-worker@$n.service"; done
https_suffix=""; [ "$EDC_HTTPS_PORT" = 443 ] || https_suffix=":$EDC_HTTPS_PORT"
fill() {
  sed -e "s|@USER@|$EDC_USER|g; s|@GROUP@|$EDC_GROUP|g; s|@APP_DIR@|$APP_DIR|g" \
      -e "s|@VENV@|$VENV|g; s|@ENV_FILE@|$ENV_FILE|g; s|@DATA_DIR@|$EDC_DATA|g" \
      -e "s|@WEB_WORKERS@|$EDC_WEB_WORKERS|g; s|@WORKER_CONCURRENCY@|$EDC_WORKER_CONCURRENCY|g" \
      -e "s|@WEB_UNITS@|${web_units# }|g; s|@WORKER_UNITS@|${worker_units# }|g" \
      -e "s|@UPSTREAM_SERVERS@|${upstream%\\n}|g; s|@LISTEN@|$EDC_LISTEN|g" \
      -e "s|@SERVER_NAME@|$EDC_SERVER_NAME|g; s|@HTTP_PORT@|$EDC_HTTP_PORT|g" \
      -e "s|@HTTPS_PORT@|$EDC_HTTPS_PORT|g; s|@HTTPS_PORT_SUFFIX@|$https_suffix|g" \
      -e "s|@TLS_CERT@|$EDC_ETC/tls/edc.crt|g; s|@TLS_KEY@|$EDC_ETC/tls/edc.key|g" "$1"
}
mkdir -p "$EDC_SYSTEMD_DIR" "$(dirname "$EDC_NGINX_SITE")"
for unit in edc-migrate.service edc-web@.service edc-worker@.service edc-beat.service edc.target; do
  fill "$APP_DIR/deploy/systemd/$unit" > "$EDC_SYSTEMD_DIR/$unit"
done
fill "$APP_DIR/deploy/nginx/edc.conf" > "$EDC_NGINX_SITE"

if [ "$EDC_START" = auto ]; then
  if [ -d /run/systemd/system ]; then EDC_START=systemd; else EDC_START=none; fi
fi
if [ "$EDC_START" = systemd ]; then
  say "starting edc.target and reloading nginx"
  ln -sf "$EDC_NGINX_SITE" /etc/nginx/sites-enabled/edc.conf
  systemctl daemon-reload
  systemctl enable --now edc.target
  nginx -t && systemctl reload nginx
else
  say "systemd is not running here: start the units' ExecStart commands yourself"
fi
say "done: https://$EDC_SERVER_NAME$https_suffix/"
