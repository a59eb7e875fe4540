# The two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/edc
# The suite runs as the schema owner, no superuser (create_db_roles makes it; CREATEDB for the
# test database); the deploy tests connect as the application role edc_app. `make test` honours
# DATABASE_URL when it is set (then that user must be able to create the test database).
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_PG_URL ?= $(or $(DATABASE_URL),postgres://edc_owner@127.0.0.1:5432/edc)
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test setup setup-dev services chromium gettext messages nginx db-roles lint bench-site compose-check bench-randomize bench-crf bench-export bench-reminders

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Development and test tools on top of the runtime set (make run installs the runtime set only).
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# A working site with every seed study, demo users per role and demo subjects, at
# http://127.0.0.1:8000. Embedded by default (SQLite + filesystem broker); set DATABASE_URL
# and CELERY_BROKER_URL to use PostgreSQL and Redis.
# With DATABASE_MIGRATE_URL (the owner role) migrations run as the owner and the site as
# DATABASE_URL (the application role), as in production (deploy/README.md).
run: setup
	EDC_DEMO=1 $(if $(DATABASE_MIGRATE_URL),DATABASE_URL=$(DATABASE_MIGRATE_URL)) $(PY) manage.py migrate --noinput
	EDC_DEMO=1 $(PY) manage.py load_study --all
	EDC_DEMO=1 $(PY) manage.py seed_demo
	EDC_DEMO=1 $(PY) manage.py collectstatic --noinput -v0
	EDC_DEMO=1 $(PY) manage.py runall

services:
	bash deploy/ensure-services.sh

chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	# A CJK font, so screenshots of Chinese pages show characters, not empty boxes.
	fc-list :lang=zh | grep -q . || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-wqy-microhei)

# nginx fronts the two-web-instance and install-script tests (a config of their own, never the system's).
nginx:
	test -x /usr/sbin/nginx || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx)

# The owner and application roles (cluster-wide; the test database gets its grants per test).
# A test database left by a run as another user is handed to the owner, which may then drop it.
TEST_DB := test_$(notdir $(TEST_PG_URL))
db-roles: setup services
	DATABASE_URL=$(PG_ADMIN_URL) $(PY) manage.py create_db_roles --roles-only --owner-createdb
	psql "$(PG_ADMIN_URL)" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$(TEST_DB)'" | grep -q 1 \
		&& psql "$(PG_ADMIN_URL)" -qc 'ALTER DATABASE "$(TEST_DB)" OWNER TO edc_owner' || true

# The catalogue tests run makemessages (xgettext) and read compiled catalogues.
gettext:
	command -v xgettext >/dev/null && command -v msgfmt >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext)

# Regenerate the zh-Hans catalogue from the code, then compile it. New entries arrive empty:
# translate them in edc/locale/zh_Hans/LC_MESSAGES/django.po and run this again (the .mo is
# committed, so `make run` needs only Python). tests/i18n uses the same options.
messages: setup gettext
	$(PY) manage.py makemessages -l zh_Hans --no-location --no-obsolete --ignore "tests/*" --ignore "var/*" --ignore "deploy/*"
	$(PY) manage.py compilemessages -l zh_Hans

# Lint, then every test, against PostgreSQL and Redis, no skips.
test: setup-dev services chromium gettext nginx db-roles
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	DATABASE_URL=$(TEST_PG_URL) CELERY_BROKER_URL=$(REDIS_URL) $(VENV)/bin/pytest -q

lint: setup-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench-randomize: setup services
	DATABASE_URL=$(PG_URL) $(PY) -m randomization.bench

bench-crf: setup services
	DATABASE_URL=$(PG_URL) $(PY) -m crf.bench

# The export benchmark keeps its generated 2-million-value study in its own database between runs.
bench-export: setup services
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'edc_bench_export'" | grep -q 1 \
		|| createdb -h 127.0.0.1 -U postgres edc_bench_export
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc_bench_export $(PY) -m edc.exports.bench

bench-reminders: setup services
	DATABASE_URL=$(PG_URL) $(PY) -m edc.reminders.bench

# A site's working day under Locust against gunicorn + PostgreSQL (as the application role), at
# 1,000 and 10,000 demo subjects; users rise until p95 > 500 ms or errors. Databases are kept.
bench-site: setup-dev services
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=redis://127.0.0.1:6379/14 $(PY) -m edc.sitebench

# The compose file checked without a container daemon, with .env.example's settings when there is
# no .env yet (docker compose where the client has it, else Debian's docker-compose).
compose-check:
	cd deploy/docker && made=0 && { test -f .env || { cp .env.example .env && made=1; }; } \
		&& { docker compose config -q 2>/dev/null || docker-compose config -q; }; rc=$$?; \
		test $$made = 1 && rm -f .env; exit $$rc
