# Khutwa: two commands. `make run` serves the portal with demo data; `make test` checks everything.
# `make serve` serves without demo data (production). Both run the web server, a worker, the
# scheduler and the log sequencer together (Procfile, honcho).
# Both bootstrap what is missing on a fresh Debian 12 machine with Python 3.11.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KHUTWA := $(BIN)/khutwa
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# Bytecode is written (to __pycache__, ignored by git), even where the environment says not to:
# a fresh .venv would otherwise compile every module again in each of the test suite's many
# processes (about 5 s of CPU each on this machine, measured with `khutwa check`).
export PYTHONDONTWRITEBYTECODE :=
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
# Proxies whose X-Forwarded-* headers gunicorn trusts (the TLS-terminating reverse proxy).
FORWARDED_ALLOW_IPS ?= 127.0.0.1
# The web server, one worker, the scheduler and the log sequencer (Procfile), started and stopped together by honcho.
PROCFILE_START = KHUTWA_BIND=$(HOST):$(PORT) KHUTWA_WEB_WORKERS=$(WORKERS) \
	FORWARDED_ALLOW_IPS=$(FORWARDED_ALLOW_IPS) $(BIN)/honcho --no-colour -f Procfile start
# pytest-xdist processes for the SQLite and PostgreSQL suites (one per core).
TEST_WORKERS ?= auto

.PHONY: help bootstrap bootstrap-test run serve demo test lint typecheck migrations-check \
        messages i18n-check test-sqlite test-postgres test-e2e fuzz bench bench-smoke bench-smoke-idle clean \
        cluster cluster-down cluster-status loadtest test-cluster

help:
	@echo "make run    - set up everything, load demo data, serve http://$(HOST):$(PORT)"
	@echo "make serve  - set up, migrate, collect static files and serve, without demo data"
	@echo "make test   - set up everything, then lint, types, migrations, translations,"
	@echo "              pytest on SQLite and PostgreSQL 15, browser tests, API fuzzing"

bootstrap:
	@scripts/bootstrap.sh run

bootstrap-test:
	@scripts/bootstrap.sh test

run: bootstrap
	$(KHUTWA) migrate --noinput
	$(KHUTWA) collectstatic --noinput -v0
	$(KHUTWA) demo
	@echo "Serving Khutwa on http://$(HOST):$(PORT)/ar/ (Arabic) and /en/ (English), with a worker, the scheduler and the log sequencer. Ctrl-C stops them."
	$(PROCFILE_START)

# The same without demo data: what a production host runs (KHUTWA_ENV=production and the
# variables of docs/configuration.md set in the environment); `khutwa demo` refuses there.
serve: bootstrap
	@if [ "$${KHUTWA_ENV:-development}" = production ]; then \
		$(KHUTWA) check --deploy --fail-level WARNING; else $(KHUTWA) check; fi
	$(KHUTWA) migrate --noinput
	$(KHUTWA) collectstatic --noinput -v0
	@echo "Serving Khutwa on http://$(HOST):$(PORT)/ (no demo data), with a worker, the scheduler and the log sequencer. Ctrl-C stops them."
	$(PROCFILE_START)

# make test runs its steps in three stages (docs/testing.md says what runs where and why). Within a
# stage the steps run side by side (a sub-make with -j, each step's output kept together, -O):
# each of them leaves much of a core idle (the SQLite suite used about half of the two cores on
# the idle machine). The stages keep their order, and a failure stops the rest as before. The time
# of each stage is printed (wall clock) for the breakdown. The fuzz run stays beside the browser
# tests, not the suites: its first PDF, beside them under load, outlasted schemathesis' 10 s.
# bench-smoke runs beside them at the lowest CPU priority (nice 19): the browser tests and the fuzz
# run leave about a core idle, which it takes, and it yields the CPU whenever they want it (alone,
# at the same priority, it had loaded the machine their timeouts were set for).
STAGE = @start=$$(date +%s); $(MAKE) --no-print-directory
STAGE_TIME = echo "== stage $(1): $$(( $$(date +%s) - start )) s =="

test: bootstrap-test
	$(STAGE) -j4 -O lint typecheck migrations-check i18n-check; $(call STAGE_TIME,static checks)
	$(STAGE) -j2 -O test-sqlite test-postgres; $(call STAGE_TIME,SQLite and PostgreSQL)
	$(STAGE) -j3 -O test-e2e fuzz bench-smoke-idle; $(call STAGE_TIME,browser tests / fuzzing / bench-smoke)
	@echo "make test: all checks passed"

lint:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck:
	$(BIN)/mypy src

migrations-check:
	$(KHUTWA) makemigrations --check --dry-run

messages:
	cd src/khutwa && ../../$(KHUTWA) makemessages -l ar --no-obsolete --no-location -i 'migrations/*'
	cd src/khutwa && ../../$(KHUTWA) compilemessages -l ar

i18n-check: messages
	$(BIN)/python scripts/check_translations.py src/khutwa/locale/ar/LC_MESSAGES/django.po

test-sqlite:
	@echo "== pytest on SQLite =="
	$(BIN)/pytest -m "not e2e and not cluster" -q -p no:cacheprovider -n $(TEST_WORKERS)

test-postgres:
	@echo "== pytest on PostgreSQL 15 =="
	KHUTWA_TESTS_DATABASE_ONLY=1 scripts/with-postgres.sh $(BIN)/pytest -m "not e2e and not cluster" -q -p no:cacheprovider -n $(TEST_WORKERS)

test-e2e:
	@echo "== browser tests (chromium) =="
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest tests/e2e -m e2e -q -p no:cacheprovider -n $(TEST_WORKERS) \
		-W error::pytest.PytestUnhandledThreadExceptionWarning

fuzz:
	@echo "== API fuzzing (schemathesis) =="
	scripts/fuzz-api.sh

bench: bootstrap-test
	$(BIN)/python -m bench
	scripts/with-postgres.sh sh -c '$(BIN)/python -m bench documents --only issue --database-url "$$DATABASE_URL"'
	scripts/with-postgres.sh $(BIN)/python -m bench issuing-parallel
	scripts/with-postgres.sh sh -c '$(BIN)/python -m bench documents-volume --database-url "$$DATABASE_URL"'

bench-smoke-idle:
	@nice -n 19 $(MAKE) --no-print-directory bench-smoke

# The four SQLite runs copy one database migrated here from nothing (KHUTWA_BENCH_MIGRATED,
# bench/harness.py migrate()) instead of migrating one each. `--variants` always renders the
# statement template's variants, which `bench documents` otherwise tries only when the statement
# misses its target: a path that ran only on a slow machine broke unseen when the template changed.
bench-smoke:
	@echo "== benchmarks, smoke run on small data (no numbers kept) =="
	migrated=$$(mktemp -d /tmp/khutwa-bench-migrated.XXXXXX); trap 'rm -rf "$$migrated"' EXIT; \
	KHUTWA_VAR_DIR="$$migrated" DATABASE_URL="sqlite:///$$migrated/migrated.sqlite3" $(KHUTWA) migrate --noinput -v0; \
	export KHUTWA_BENCH_MIGRATED="$$migrated/migrated.sqlite3"; \
	$(BIN)/python -m bench licensing --applications 1500 --requests 5 >/dev/null; \
	$(BIN)/python -m bench documents --invoices 30 --requests 20 --threads 2 --renders 2 --variants >/dev/null; \
	$(BIN)/python -m bench statistics --applications 1500 --requests 5 --cold 2 >/dev/null; \
	$(BIN)/python -m bench documents-volume --documents 600 --first 200 --licences 40 --per-holder 100 --requests 5 --threads 2 >/dev/null
	scripts/with-postgres.sh $(BIN)/python -m bench issuing-parallel --processes 1,2 --invoices 5 >/dev/null

# A cluster on this machine (docs/deployment.md): PostgreSQL primary + streaming replica behind
# PgBouncer, Redis, two gunicorn nodes behind HAProxy, two task workers, the scheduler, the log sequencer.
cluster: bootstrap-test
	scripts/cluster.sh up

cluster-down:
	scripts/cluster.sh down

cluster-status:
	scripts/cluster.sh status

# The load test (docs/scaling.md): one node then two, 60 s each, through HAProxy on loopback.
LOADTEST_SECONDS ?= 60
LOADTEST_USERS ?= 40
loadtest: bootstrap-test
	$(BIN)/python -m bench.loadtest --seconds $(LOADTEST_SECONDS) --users $(LOADTEST_USERS)

# The fault tests (tests/cluster, marker `cluster`): bring the cluster up, break it, take it down.
test-cluster: bootstrap-test
	scripts/cluster.sh purge
	KHUTWA_PUBLIC_RATE=100000/m KHUTWA_TASK_STALL_SECONDS=15 scripts/cluster.sh up
	status=0; $(BIN)/pytest tests/cluster -m cluster -q -p no:cacheprovider || status=$$?; \
		scripts/cluster.sh down; exit $$status

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache .pytest_cache
