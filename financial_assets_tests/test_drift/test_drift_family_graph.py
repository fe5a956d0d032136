"""The real graph on bars with a planted break: a champion, its drift report, the failed check, the retraining run
it requests and the alert on its outcome.

The bars are walks with a planted mean-reverting edge (the synthetic source with constant volatility, no drift
and AR(1) returns with phi -0.5, so that a model passes the promotion gate and serves) whose volatility triples
from 2011-01-03, written as files for the folder source. SYN001's model as of 2010-12-31 (631
training rows: enough to compare the 38 features whose memory fits 10 independent windows) is its first
champion and serves January 2011; its volatility features leave their reference, so the month-end report
drifts, drift_check fails at ERROR and drift_retrain_sensor retrains at 2011-01-31 through the stage job.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from financial_assets.app.runner import run_range
from financial_assets.definitions import defs
from financial_assets.defs.operations.alerting import retrain_outcome_sensor
from financial_assets.defs.operations.resources import AlertsResource, RetrainResource
from financial_assets.defs.operations.retrain import SENSOR
from financial_assets.defs.resources import LakeResource
from financial_assets.runs.internals import launch_in_process
from financial_assets.runs.stages import BARS_JOB, MODELS_JOB, SQL_MODELS_JOB
from financial_assets.sources import SyntheticSource
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.conftest import write_bar_files
from financial_assets_tests.dagster_helpers import check_results, module_settings, partition_metadata, run_stage

TICKERS, TICKER = ["SYN000", "SYN001"], "SYN001"
START, AS_OF, DAY = "2008-07-01", "2010-12-31", "2011-01-31"
LOAD_TIME = {"FA_SOURCE": "folder"}
pytestmark = pytest.mark.code_location(**LOAD_TIME)
SETTINGS = {**LOAD_TIME, "FA_BENCHMARK_TICKER": "SYN000", "FA_TUNING_TRIALS": "0"}


def _break_bars(folder: Path) -> None:
    """Two mean-reverting walks from 2006 whose volatility triples from 2011-01-03, as <TICKER>.csv files."""
    source = SyntheticSource(n_tickers=2, seed=7, start="2006-01-03", end=DAY, mu=0.0, alpha=0.0, beta=0.0, ar1=-0.5,
                             regime_shift="2011-01-03", shift_drift=1.0, shift_vol=3.0)
    write_bar_files(folder, {t: source.load(t).drop(columns=["ticker", "source_row"]) for t in TICKERS})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("drift_family") / "data"
    _break_bars(data_dir.parent / "bars")
    with module_settings(data_dir, {**SETTINGS, "FA_SOURCE_DIR": str(data_dir.parent / "bars")}):
        instance = dg.DagsterInstance.ephemeral()  # in memory: an on-disk SQLite event log costs 17 ms an event
        assert run_range(defs, instance, TICKERS, START, DAY, jobs={BARS_JOB, SQL_MODELS_JOB}).success
        trained = run_stage(MODELS_JOB, f"{AS_OF}|{TICKER}", f"{AS_OF}|{TICKER}", instance,
                            assets=["cv_folds", "trained_model"])
        assert trained.status == "SUCCESS", trained.error
        served = run_stage(MODELS_JOB, f"2011-01-03|{TICKER}", f"{DAY}|{TICKER}", instance,
                           assets=["predictions", "drift_report"])
        assert served.status == "SUCCESS", served.error
        yield instance, served, data_dir


@pytest.fixture
def graph(built, monkeypatch: pytest.MonkeyPatch):
    """The built graph, with its settings again (every test starts from the defaults)."""
    data_dir = built[2]
    settings = {**SETTINGS, "FA_DATA_DIR": str(data_dir), "FA_SOURCE_DIR": str(data_dir.parent / "bars")}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return built


def test_the_month_end_report_compares_the_champions_own_training_rows(graph):
    instance, served, data_dir = graph
    (row,) = ParquetLake(data_dir / "lake").read("drift_report").itertuples()
    assert (row.ticker, f"{row.date:%Y-%m-%d}", row.model_as_of) == (TICKER, DAY, pd.Timestamp(AS_OF))
    assert row.reference_matches_training and row.reference_rows == 631 and row.current_rows == 20
    unmonitored = json.loads(row.unmonitored)
    assert row.monitored_columns == 38 and len(unmonitored) == 13  # 3 calendar, 9 long memories, the predictions
    assert unmonitored["month"].startswith("calendar feature")
    assert row.level == "error" and row.dataset_drift and "rv_20" in row.drifted_features.split(",")
    meta = partition_metadata(instance, "drift_report", f"{DAY}|{TICKER}")
    assert "rv_20" in meta["drifted_features"] and meta["report"] == row.report_url and row.html_rendered
    assert check_results(served)["drift_check"] == (False, "ERROR")


def test_the_failed_check_retrains_the_ticker_and_the_outcome_is_alerted(graph):
    instance, _, data_dir = graph
    repository = defs.get_repository_def()
    alerts = AlertsResource(sinks="", data_dir=str(data_dir), ui_url="http://localhost:3000")
    context = dg.build_sensor_context(instance=instance, repository_def=repository,
                                      resources={"alerts": alerts, "retrain": RetrainResource(cooldown_sessions=5)})
    (request,) = repository.get_sensor_def(SENSOR).evaluate_tick(context).run_requests
    assert request.job_name == MODELS_JOB
    run = launch_in_process(instance, request.job_name, request.tags,
                            asset_selection=frozenset(request.asset_selection))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    models = ParquetLake(data_dir / "lake").read("trained_model", [TICKER], start=DAY, end=DAY)
    assert len(models) == 1 and models["alias"].iloc[0] in ("champion", "challenger")
    (record,) = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    outcome = dg.build_run_status_sensor_context("retrain_outcome_sensor", record.event_log_entry.dagster_event,
                                                 instance, run)
    retrain_outcome_sensor(outcome, alerts=alerts, lake=LakeResource(data_dir=str(data_dir)))
    logged = (data_dir / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert '"kind": "drift"' in logged[0] and '"kind": "retrain"' in logged[-1]
    assert models["promotion_reason"].iloc[0] in logged[-1]
