# Thecal — two commands: `make run` and `make test`. Each installs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck contracts pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/thecal serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks fuzz tools
	$(BIN)/ruff format --check src tests benchmarks fuzz tools

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict tools

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck contracts pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/forecast_fleet.py
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
