"""The backtest end to end: the synthetic source through every stage of the project's runner, models included."""

from __future__ import annotations

import dagster as dg
import mlflow
import pytest

from financial_assets.app.runner import run_range
from financial_assets.definitions import defs
from financial_assets.sources import SyntheticSource
from financial_assets.storage.lake import ParquetLake
from financial_assets.tracking import mlflow_uris
from financial_assets_tests.conftest import write_bar_files
from financial_assets_tests.dagster_helpers import check_results, materialized, module_settings

START, END = "2011-01-03", "2012-06-29"
#: one model, as of 2011-12-30, predicts 2012: the smallest graph that trades. Its bars have a planted mean-reverting
#: edge (AR(1) returns, phi -0.5), so the model passes the promotion gate and serves
LOAD_TIME = {"FA_SOURCE": "folder"}
pytestmark = pytest.mark.code_location(**LOAD_TIME)
SETTINGS = {**LOAD_TIME, "FA_BENCHMARK_TICKER": "SYN000", "FA_RETRAIN_CALENDAR": "year_end",
            "FA_TUNING_TRIALS": "0", "FA_MIN_CHAMPION_OOS_ROWS": "40"}  # short test histories


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("backtest_family") / "data"
    source = SyntheticSource(n_tickers=1, seed=7, start="2009-01-02", end=END, ar1=-0.5)
    write_bar_files(data_dir.parent / "bars", {"SYN000": source.load("SYN000").drop(columns=["ticker", "source_row"])})
    with module_settings(data_dir, {**SETTINGS, "FA_SOURCE_DIR": str(data_dir.parent / "bars")}):
        instance = dg.DagsterInstance.ephemeral()
        summary = run_range(defs, instance, ["SYN000"], START, END)
        yield instance, summary, ParquetLake(data_dir / "lake"), mlflow_uris(data_dir)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_every_prediction_of_the_graph_is_traded_and_only_those(graph):
    instance, summary, lake, _ = graph
    assert summary.success, [run.error for run in summary.runs]
    last = summary.runs[-1]
    predicted = materialized(instance, last, "predictions")
    assert predicted and materialized(instance, last, "backtest") == predicted
    rows = lake.read("backtest").set_index("date")
    predictions = lake.read("predictions").set_index("date")
    assert rows["probability"].equals(predictions["probability"])
    assert (rows["model_as_of"] < rows.index).all()
    assert "backtest_not_too_good_to_be_true" in check_results(last)


def test_the_champion_run_gets_its_backtest_and_no_run_is_left_running(graph):
    _, _, lake, store = graph
    metrics = lake.read("backtest_metrics").set_index("period")
    assert set(metrics.index) == {"range", "history", "model"}
    champion = metrics.loc["model"]
    assert champion["n_trials"] == 1 + 5  # an untuned model is one configuration, plus the threshold grid
    assert champion["pbo_configurations"] == 5 and champion["pbo_bars"] > 32
    assert metrics["deflated_sharpe"].gt(0.9).all()  # the planted edge is real: deflating does not hide it
    run = store.client().get_run(champion["mlflow_run_id"])
    assert run.data.metrics["bt_total_return"] == pytest.approx(champion["total_return"])
    assert run.data.metrics["bh_total_return"] == pytest.approx(champion["bh_total_return"])
    assert {"bt_sharpe", "bt_max_drawdown", "bt_pbo", "bt_exposure", "bt_trades"} <= set(run.data.metrics)
    # PSR and DSR reach MLflow only as evidence: with enough exposure and trades
    assert ("bt_deflated_sharpe" in run.data.metrics) == bool(champion["sharpe_reliable"])
    runs = store.client().search_runs([store.experiment_id])
    assert runs and {r.info.status for r in runs} == {"FINISHED"}
