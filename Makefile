# The two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/edc
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test setup services chromium gettext messages lint bench-randomize bench-crf bench-export bench-reminders

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

# A working site with every seed study, demo users per role and demo subjects, at
# http://127.0.0.1:8000. Embedded by default (SQLite + filesystem broker); set DATABASE_URL
# and CELERY_BROKER_URL to use PostgreSQL and Redis.
run: setup
	EDC_DEMO=1 $(PY) manage.py migrate --noinput
	EDC_DEMO=1 $(PY) manage.py load_study --all
	EDC_DEMO=1 $(PY) manage.py seed_demo
	EDC_DEMO=1 $(PY) manage.py collectstatic --noinput -v0
	EDC_DEMO=1 $(PY) manage.py runall

services:
	bash deploy/ensure-services.sh

chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

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
test: setup services chromium gettext
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) $(VENV)/bin/pytest -q

lint: setup
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
