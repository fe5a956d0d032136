# Two entry points, both safe on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run lint test test-slow bench ui clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## create the environment and run every asset on the embedded default data, then print a summary.
## Every model type is trained, untuned, at yearly as-of dates (the torch models at the last as-of date only), and
## drift is reported at the last date: under 10 minutes on 2 cores (README, "make run")
MAKE_RUN_SETTINGS := FA_RETRAIN_CALENDAR=year_end FA_MODEL_TYPES=xgboost,logistic,lstm,transformer \
	FA_TUNING_TRIALS=0 FA_DRIFT_CALENDAR=last
run: $(STAMP)
	$(MAKE_RUN_SETTINGS) $(BIN)/financial-assets run

## ruff's checks (pyproject.toml's [tool.ruff]) over the package, the benchmarks and the tests
lint: $(STAMP)
	$(BIN)/ruff check .

## create the environment if needed, lint, then run the test suite but the slow end-to-end tests (marked `slow`):
## a lint finding fails it
test: lint
	$(BIN)/pytest -m "not slow"

## the slow end-to-end tests alone (they launch Dagster processes, servers and a browser); .ci/run runs both
test-slow: $(STAMP)
	$(BIN)/pytest -m slow

bench: $(STAMP)
	$(BIN)/python -m benchmarks

## the UI on the project's instance, with the report server (drift reports over HTTP, FA_ARTIFACTS_URL) beside it;
## both bind loopback. MLflow's UI, which model links open: .venv/bin/mlflow ui -p 5000 (README, MLflow)
ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/financial-assets tickers > /dev/null  # the project's dagster.yaml
	$(BIN)/python -m financial_assets.defs.drift.report_server & reports=$$!; \
	trap 'kill $$reports' EXIT; DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev

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

## vectorbt and backtrader, the backtest benchmark's references, in their own environment: never the project's
## (vectorbt pins numba and an older numpy). `make bench-backtest` creates it if needed.
ORACLE_VENV := .venv-bench-oracles
ORACLE_PINS := backtrader==1.9.78.123 vectorbt==1.2.0

.PHONY: bench-oracles-env bench-backtest

$(ORACLE_VENV)/.installed:
	test -x $(ORACLE_VENV)/bin/python || $(PYTHON) -m venv $(ORACLE_VENV)
	$(ORACLE_VENV)/bin/pip install --quiet --upgrade pip
	$(ORACLE_VENV)/bin/pip install --quiet $(ORACLE_PINS)
	touch $@

## create .venv-bench-oracles with vectorbt and backtrader
bench-oracles-env: $(ORACLE_VENV)/.installed

## engine throughput vs vectorbt (warm JIT) and backtrader on the same signals, identical equity required
bench-backtest: $(STAMP) $(ORACLE_VENV)/.installed
	$(BIN)/python -m benchmarks backtest
