# One command per workflow, used alike by people, CI and hooks.
# Each target installs what it needs on first use: only Python 3.11 and make are assumed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck unit bench lock clean docs

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "BenSys needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

## up: start the whole system on the embedded default (Tansu + SecantusDB + five services)
up: $(STAMP)
	$(BIN)/bensys up

## test: lint, type-check, then the whole suite (unit, integration, system) on real servers
test: lint typecheck
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

## docs: regenerate JSON Schemas of every event into docs/ (golden files are checked by tests)
docs: $(STAMP)
	$(BIN)/bensys docs

bench: $(STAMP)
	$(BIN)/python -m bench

## lock: re-resolve requirements.lock from pyproject.toml in a throwaway venv
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet ".[dev]" "setuptools>=77"
	.lockenv/bin/python -m pip freeze --all --exclude bensys --exclude pip > requirements.lock
	rm -rf .lockenv build

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
