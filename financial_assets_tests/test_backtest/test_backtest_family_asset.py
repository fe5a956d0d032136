"""The backtest asset and its check, run through the project's runner on a lake written here: random-walk bars and
noise predictions of a known champion chain, with their MLflow runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from financial_assets.backtest import buy_and_hold, performance_metrics
from financial_assets.backtest.periods import window
from financial_assets.core.calendar import trading_sessions
from financial_assets.definitions import defs
from financial_assets.runs.stages import plan_stages
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.dagster_helpers import check_results, materialized, partition_metadata, run_stage
from financial_assets_tests.synthetic_bars import random_bars

if TYPE_CHECKING:  # MLflow takes a second to import
    from financial_assets.tracking import MlflowStore

S = trading_sessions("XNYS", "2010-01-04", "2011-12-30")
TICKERS = ["AAA", "BBB"]
#: version -> (model type, alias, as-of date): v1 serves S[150..349], v4 from S[350]; v2 and v3 never trade
MODELS = {1: ("xgboost", "champion", S[149]), 2: ("logistic", "challenger", S[149]),
          3: ("xgboost", "challenger", S[299]), 4: ("xgboost", "champion", S[349])}
TRIALS = 48
SETTINGS = 5  # the default threshold grid
GAPS = S[[200, 201]]  # sessions without a feature row: no prediction
JOB = next(s.job_name for s in plan_stages(defs) if dg.AssetKey("backtest") in s.asset_keys)
LABEL = "dir_5"
BASE = 0.53  # the models' training up-rate


def _model_rows(ticker: str, runs: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame([{"ticker": ticker, "date": as_of, "unit": ticker, "model_type": kind, "label": LABEL,
                          "registered_model": f"fa_{ticker}_{LABEL}", "model_version": v, "mlflow_run_id": runs[v],
                          "alias": alias, "oos_auc": 0.5, "trials": TRIALS, "calibrated": True}
                         for v, (kind, alias, as_of) in MODELS.items()])


def _oof_rows(ticker: str, rng: np.random.Generator) -> pd.DataFrame:
    parts = []
    for v, (kind, _, as_of) in MODELS.items():
        dates = S[20:S.get_loc(as_of) - 5]
        calibrated = np.clip(BASE + rng.normal(0, 0.05, len(dates)), 0, 1)
        calibrated[:30] = np.nan  # forward calibration has no earlier folds yet
        parts.append(pd.DataFrame({"sample_date": dates, "ticker": ticker, "probability": rng.uniform(0, 1, len(dates)),
                                   "calibrated": calibrated, "baseline_majority": BASE, "date": as_of,
                                   "model_type": kind, "registered_model": f"fa_{ticker}_{LABEL}", "model_version": v}))
    return pd.concat(parts, ignore_index=True)


def _predictions(ticker: str, rng: np.random.Generator) -> pd.DataFrame:
    dates = S[150:].difference(GAPS)
    version = np.where(dates > MODELS[4][2], 4, 1)
    return pd.DataFrame({"ticker": ticker, "date": dates, "registered_model": f"fa_{ticker}_{LABEL}",
                         "model_type": pd.array(["xgboost"] * len(dates), dtype="string"),
                         "model_version": pd.array(version, dtype="Int64"),
                         "model_as_of": [MODELS[v][2] for v in version],
                         "probability": np.clip(BASE + rng.normal(0, 0.05, len(dates)), 0, 1), "base_rate": BASE})


def write_lake(data_dir: Path, store: MlflowStore) -> dict[str, dict[int, str]]:
    """Bars, trained_model, oof_predictions and predictions of TICKERS, and a finished MLflow run per model in
    `store`; {ticker: {version: MLflow run id}}."""
    from financial_assets.tracking import tracked_run

    lake, runs = ParquetLake(data_dir / "lake"), {}
    for i, ticker in enumerate(TICKERS):
        rng = np.random.default_rng(100 + i)
        bars = random_bars(len(S), seed=i, ticker=ticker).assign(date=S)
        adjusted = bars.rename(columns={c: f"adj_{c}" for c in ("open", "high", "low", "close", "volume")})
        lake.write("validated_bars", adjusted, {ticker: S})
        runs[ticker] = {}
        for v, (kind, _, as_of) in MODELS.items():
            with tracked_run(store, ticker=ticker, as_of=as_of.date(), model_type=kind, label=LABEL) as run:
                runs[ticker][v] = run.run_id
        lake.write("trained_model", _model_rows(ticker, runs[ticker]), {ticker: [m[2] for m in MODELS.values()]})
        lake.write("oof_predictions", _oof_rows(ticker, rng), {ticker: [m[2] for m in MODELS.values()]})
        lake.write("predictions", _predictions(ticker, rng), {ticker: S})
    return runs


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> MlflowStore:
    """One MLflow store for the module (creating one takes seconds); every test logs to runs of its own."""
    from financial_assets.tracking import mlflow_uris

    return mlflow_uris(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture
def lake_runs(data_dir, store, monkeypatch):
    monkeypatch.setenv("FA_MLFLOW_TRACKING_URI", store.tracking_uri)
    return ParquetLake(data_dir / "lake"), write_lake(data_dir, store)


def _run(instance: dg.DagsterInstance, first: pd.Timestamp, last: pd.Timestamp, tickers: list[str] = TICKERS):
    run = run_stage(JOB, f"{first.date()}|{tickers[0]}", f"{last.date()}|{tickers[-1]}", instance, tickers,
                    assets=["backtest"])
    assert run.status == "SUCCESS", run.error
    return run


def test_only_sessions_with_a_prediction_get_a_row_and_each_partition_reports_its_own_bar(lake_runs, instance):
    lake, _ = lake_runs
    run = _run(instance, S[140], S[220])
    predicted = S[150:221].difference(GAPS)
    assert materialized(instance, run, "backtest") == sorted(f"{d.date()}|{t}" for t in TICKERS for d in predicted)
    rows = lake.read("backtest")
    assert rows.groupby("ticker")["date"].apply(list).to_dict() == {t: list(predicted) for t in TICKERS}
    predictions = lake.read("predictions", ["BBB"], start=S[210], end=S[210]).iloc[0]
    meta = partition_metadata(instance, "backtest", f"{S[210].date()}|BBB")
    row = rows.loc[(rows["ticker"] == "BBB") & (rows["date"] == S[210])].iloc[0]
    assert meta["probability"] == predictions["probability"] == row["probability"]
    assert meta["equity"] == row["equity"] and meta["dagster/row_count"] == 1
    assert meta["model"] == f"xgboost v1 as of {S[149].date()}"
    assert meta["base_rate"] == BASE and meta["cash"] == row["cash"] >= 0
    # exposure of the out-of-sample history to the session: the share of its sessions in the market (a position held
    # at the session's close or the one before)
    assert meta["exposure"] == row["exposure"] and 0 < row["exposure"] < 1
    held = rows.loc[rows["ticker"] == "BBB"].set_index("date")["position"].ne(0)
    first = [False, held[S[151]], held[S[151]] or held[S[152]]]
    np.testing.assert_allclose(rows.loc[rows["ticker"] == "BBB"].set_index("date")["exposure"].loc[S[150]:S[152]],
                               np.cumsum(first) / np.arange(1, 4))


def test_metrics_of_the_range_the_history_and_each_champion_sit_beside_buy_and_hold(lake_runs, instance, store):
    lake, runs = lake_runs
    run = _run(instance, S[300], S[400])
    table = lake.read("backtest_metrics")
    assert (table["date"] == S[400]).all()
    aaa = table.loc[table["ticker"] == "AAA"].set_index(["period", "model_version"])
    spans = {k: (r["first_date"], r["last_date"], r["n_trials"], r["pbo_configurations"]) for k, r in aaa.iterrows()}
    assert spans == {("range", 4): (S[300], S[400], 3 * TRIALS + SETTINGS, SETTINGS),
                     ("history", 4): (S[150], S[400], 3 * TRIALS + SETTINGS, SETTINGS),
                     ("model", 1): (S[150], S[349], 2 * TRIALS + SETTINGS, 2 * SETTINGS),
                     ("model", 4): (S[350], S[400], TRIALS + SETTINGS, SETTINGS)}
    # buy-and-hold decides at the first prediction's close; over the range it is about the price move from the
    # close before the range (its cash holds the entry's costs), and exactly the benchmark ledger's window
    close = lake.read("validated_bars", ["AAA"]).set_index("date")["adj_close"]
    assert aaa.loc[("range", 4), "bh_total_return"] == pytest.approx(close[S[400]] / close[S[299]] - 1, abs=1e-4)
    stored = lake.read("backtest", ["AAA"]).set_index("date")
    opening = stored.loc[S[300], "equity"] - stored.loc[S[300], "pnl"] + stored.loc[S[300], "costs"]
    assert aaa.loc[("range", 4), "total_return"] == pytest.approx(stored.loc[S[400], "equity"] / opening - 1, rel=1e-12)
    ohlcv = lake.read("validated_bars", ["AAA"]).rename(columns=lambda c: c.removeprefix("adj_"))
    benchmark = buy_and_hold(ohlcv.loc[ohlcv["date"] >= S[150]].reset_index(drop=True))
    for period, first in (("range", S[300]), ("history", S[150])):
        expected = performance_metrics(window(benchmark, first, S[400]))
        for name in ("total_return", "sharpe", "max_drawdown", "max_drawdown_duration", "turnover", "cost_drag"):
            assert aaa.loc[(period, 4), f"bh_{name}"] == pytest.approx(expected[name], rel=1e-12), (period, name)
    # honest numbers on a random walk traded by noise, with the exposure and trades that say how much they rest on
    assert (table["deflated_sharpe"] < 0.95).all() and table["pbo"].between(0, 1).all()
    assert table["exposure"].between(0.05, 0.95).all() and (table["trades"] >= 1).all()
    assert table["sharpe_reliable"].dtype == bool and (table["trial_configurations"] >= SETTINGS).all()
    assert (table["trial_sharpe_variance"] > 0).all()
    # the deflated Sharpe of the model-1 period spreads over the 2 x 5 configurations of its as-of date
    assert aaa.loc[("model", 1), "trial_configurations"] == 2 * SETTINGS

    client = store.client()
    for version, period in ((1, ("model", 1)), (4, ("model", 4))):
        logged = client.get_run(runs["AAA"][version])
        assert logged.info.status == "FINISHED"
        assert logged.data.metrics["bt_sharpe"] == pytest.approx(aaa.loc[period, "sharpe"])
        assert logged.data.metrics["bt_total_return"] == pytest.approx(aaa.loc[period, "total_return"])
        assert logged.data.metrics["bh_total_return"] == pytest.approx(aaa.loc[period, "bh_total_return"])
        assert {"bt_max_drawdown", "bt_pbo", "bt_exposure", "bt_trades"} <= set(logged.data.metrics)
        assert ("bt_deflated_sharpe" in logged.data.metrics) == bool(aaa.loc[period, "sharpe_reliable"])
    assert not any(k.startswith("bt_") for v in (2, 3) for k in client.get_run(runs["AAA"][v]).data.metrics)

    (outcome,) = check_results(run).values()
    evaluation = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    metadata = evaluation[0].event_log_entry.dagster_event.event_specific_data.metadata
    assert outcome == (metadata["alarms"].value == "_none_", "WARN")
    assert "| sharpe |" in metadata["AAA"].value and "buy & hold" in metadata["AAA"].value
    assert "data:image/png;base64," in metadata["BBB"].value and "AAA" in metadata["summary"].value


def test_a_sessions_row_does_not_depend_on_the_range_it_was_run_in(lake_runs, instance):
    lake, _ = lake_runs
    _run(instance, S[300], S[320])
    alone = lake.read("backtest", start=S[300], end=S[320])
    _run(instance, S[150], S[420])
    pd.testing.assert_frame_equal(lake.read("backtest", start=S[300], end=S[320]), alone)


def test_perturbing_predictions_after_a_session_leaves_its_row_and_the_next_fill_unchanged(lake_runs, instance):
    lake, _ = lake_runs
    cut = S[230]
    _run(instance, S[150], S[260], ["AAA"])
    before = lake.read("backtest", ["AAA"]).set_index("date")
    predictions = lake.read("predictions", ["AAA"])
    later = predictions["date"] > cut
    predictions.loc[later, "probability"] = 1.0 - predictions.loc[later, "probability"]
    lake.write("predictions", predictions, {"AAA": S})
    _run(instance, S[150], S[260], ["AAA"])
    after = lake.read("backtest", ["AAA"]).set_index("date")
    pd.testing.assert_frame_equal(after.loc[:cut], before.loc[:cut])
    filled = ["fill_price", "traded_shares", "position", "costs", "pnl", "equity", "drawdown"]
    pd.testing.assert_series_equal(after.loc[S[231], filled], before.loc[S[231], filled])
    assert not after.loc[S[232]:, "equity"].equals(before.loc[S[232]:, "equity"])  # the perturbation did matter


def test_a_prediction_from_a_model_not_trained_before_its_session_is_refused(lake_runs, instance):
    lake, _ = lake_runs
    predictions = lake.read("predictions", ["AAA"])
    predictions.loc[predictions["date"] == S[250], "model_as_of"] = S[250]
    lake.write("predictions", predictions, {"AAA": S})
    run = run_stage(JOB, f"{S[240].date()}|AAA", f"{S[260].date()}|AAA", instance, ["AAA"], assets=["backtest"])
    assert run.status == "FAILURE"
    assert "[prediction_out_of_sample] ticker='AAA'" in run.error


def test_predictions_without_a_base_rate_fail_the_run_with_the_rule(lake_runs, instance):
    lake, _ = lake_runs
    lake.write("predictions", lake.read("predictions", ["AAA"]).drop(columns="base_rate"), {"AAA": S})
    run = run_stage(JOB, f"{S[240].date()}|AAA", f"{S[260].date()}|AAA", instance, ["AAA"], assets=["backtest"])
    assert run.status == "FAILURE"
    assert "[prediction_base_rate] ticker='AAA'" in run.error and "no base_rate column" in run.error


def test_a_ticker_without_a_champion_holds_no_position_and_says_so(lake_runs, instance):
    from financial_assets.backtest.summary import summary_lines

    lake, _ = lake_runs

    def without_champion(ticker: str) -> None:
        shadow_only = lake.read("predictions", [ticker]).assign(  # rows without the champion's model and probability
            model_type=pd.NA, model_version=pd.NA, model_as_of=pd.NaT, probability=np.nan, base_rate=np.nan)
        lake.write("predictions", shadow_only.astype({"model_type": "string", "model_version": "Int64"}), {ticker: S})

    without_champion("AAA")
    run = _run(instance, S[300], S[400])
    assert not lake.read("backtest", ["AAA"]).shape[0]
    assert materialized(instance, run, "backtest") == sorted(f"{d.date()}|BBB" for d in S[300:401].difference(GAPS))
    table = lake.read("backtest_metrics", ["AAA"])
    (row,) = table.itertuples()
    assert (row.period, row.first_date, row.last_date, row.exposure, row.trades, row.total_return) == (
        "history", S[300], S[400], 0.0, 0.0, 0.0)
    assert pd.isna(row.model_version) and not row.sharpe_reliable and row.bh_total_return != 0
    (line,) = summary_lines(table)
    assert line.startswith(f"AAA: {S[300].date()} .. {S[400].date()} (101 bars): no champion, so no position held")
    (outcome,) = check_results(run).values()
    evaluation = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    metadata = evaluation[0].event_log_entry.dagster_event.event_specific_data.metadata
    assert "no champion: no position, no statistics" in metadata["AAA"].value
    # no ticker with a champion (no model passed the gate on random walks): every line says so, the check runs
    without_champion("BBB")
    run = _run(instance, S[300], S[400])
    lines = summary_lines(lake.read("backtest_metrics", start=S[400], end=S[400]))
    assert [line.split(":")[0] for line in lines] == TICKERS and all("no position held" in line for line in lines)
    assert list(check_results(run).values()) == [(True, "WARN")]
