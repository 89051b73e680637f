# taskq: `make demo` and `make test` are the two commands a newcomer needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: bootstrap demo test test-unit test-integration test-faults lint bench services worker dashboard

bootstrap:
	@scripts/bootstrap.sh

## Start a worker on bundled samples and run all three analyses (uses or starts Redis).
demo: bootstrap
	$(PY) scripts/demo.py

## The whole suite: unit, integration (real Redis, PostgreSQL, worker processes) and fault tests.
test: bootstrap services
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-unit: bootstrap
	$(VENV)/bin/pytest -m "not integration and not faults" $(PYTEST_ARGS)

test-integration: bootstrap services
	$(VENV)/bin/pytest -m "integration" $(PYTEST_ARGS)

test-faults: bootstrap services
	$(VENV)/bin/pytest -m "faults" $(PYTEST_ARGS)

services:
	@scripts/services.sh ensure

lint: bootstrap
	$(VENV)/bin/ruff check taskq tests scripts
	$(VENV)/bin/ruff format --check taskq tests scripts
	$(VENV)/bin/mypy taskq

bench: bootstrap
	$(PY) scripts/bench_jobs.py

worker: bootstrap
	$(VENV)/bin/taskq worker start

dashboard: bootstrap
	$(VENV)/bin/taskq dashboard
