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

## DVC in its own environment: dvc pins an antlr4 runtime that breaks Dagster's asset selection parser
DVC_VENV := .venv-dvc
DVC := DVC_NO_ANALYTICS=1 $(DVC_VENV)/bin/dvc
DVC_PIN := dvc==3.67.1

.PHONY: dvc-env dvc-setup dvc-repro

$(DVC_VENV)/.installed:
	test -x $(DVC_VENV)/bin/python || $(PYTHON) -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/pip install --quiet --upgrade pip
	$(DVC_VENV)/bin/pip install --quiet '$(DVC_PIN)'
	touch $@

## create .venv-dvc with dvc (.ci/run does this for the DVC test)
dvc-env: $(DVC_VENV)/.installed

## create .venv-dvc with dvc, and initialise DVC in the repository if it has not been (.dvc/, .dvcignore)
dvc-setup: $(DVC_VENV)/.installed
	test -d .dvc || { $(DVC) init --quiet && printf '%s\n' '.venv/' '.venv-dvc/' '.dagster_home/' '.*.lock' >> .dvcignore; }

## reproduce the pipeline of dvc.yaml through the project's command line, then show its metrics
dvc-repro: $(STAMP) dvc-setup
	$(DVC) repro
	$(DVC) metrics show
