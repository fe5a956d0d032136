"""The backtest end to end: the synthetic source through every stage of the project's runner, models included."""

from __future__ import annotations

import dagster as dg
import mlflow
import pytest

from financial_assets.definitions import defs
from financial_assets.runs.runner import run_range
from financial_assets.storage.lake import ParquetLake
from financial_assets.tracking import mlflow_uris
from financial_assets_tests.dagster_helpers import check_results, materialized, module_settings

START, END = "2011-01-03", "2012-06-29"
#: one model, as of 2011-12-30, predicts 2012: the smallest graph that trades
SETTINGS = {"FA_SOURCE": "synthetic", "FA_SYNTHETIC_TICKERS": "1", "FA_RETRAIN_CALENDAR": "year_end",
            "FA_TUNING_TRIALS": "0", "FA_MIN_CHAMPION_OOS_ROWS": "40"}  # short test histories


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("backtest_family") / "data"
    with module_settings(data_dir, SETTINGS) as patch:
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
    assert metrics["deflated_sharpe"].lt(0.95).all()
    run = store.client().get_run(champion["mlflow_run_id"])
    assert run.data.metrics["bt_total_return"] == pytest.approx(champion["total_return"])
    assert run.data.metrics["bh_total_return"] == pytest.approx(champion["bh_total_return"])
    assert {"bt_sharpe", "bt_max_drawdown", "bt_pbo", "bt_exposure", "bt_trades"} <= set(run.data.metrics)
    # PSR and DSR reach MLflow only as evidence: with enough exposure and trades
    assert ("bt_deflated_sharpe" in run.data.metrics) == bool(champion["sharpe_reliable"])
    runs = store.client().search_runs([store.experiment_id])
    assert runs and {r.info.status for r in runs} == {"FINISHED"}
