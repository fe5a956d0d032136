# Two entry points, both safe on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test bench ui clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## create the environment and run every asset on the embedded default data, then print a summary
run: $(STAMP)
	$(BIN)/financial-assets run

## create the environment if needed and run the test suite
test: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m financial_assets.bench

ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev

clean:
	rm -rf data .dagster_home
