"""backtest: each ticker's out-of-sample predictions traded by the engine, and the run's metrics in backtest_metrics.

Partition D|T holds ticker T's ledger row for session D: the probability predicted at D's close
(by a champion trained strictly before D), the signal and target decided there, the position held at
D's close, the fills during D (of the order decided at the previous close), costs, P&L, equity and
drawdown. The equity path depends on every earlier bar, so a run computes T's whole out-of-sample
history up to its last date and stores only its own partitions: a row never depends on how the runs
were batched. Only sessions with a prediction get a row.

backtest_metrics, keyed by ticker and the run's last date, holds one row per period: the run's range
(from its first prediction), the whole out-of-sample history, and each champion that traded in the
range over the sessions it predicted; every row beside buy-and-hold of the same sessions, with PSR,
the deflated Sharpe ratio and PBO (`financial_assets.backtest.track_record`,
`financial_assets.backtest.configurations`). The champions' rows are logged to their MLflow runs.
"""

import math

import dagster as dg
import pandas as pd

from financial_assets.backtest import RESULT_COLUMNS, BacktestConfig, equity_chart_png
from financial_assets.backtest.configurations import overfitting_probability, return_matrix
from financial_assets.backtest.periods import window
from financial_assets.backtest.track_record import (HISTORY, MODEL, MODEL_COLUMNS, MODEL_KEY, RANGE, benchmark_ledger,
                                                    oof_sources, period_statistics, ticker_ledger, traded_predictions)
from financial_assets.core.errors import BarDataError
from financial_assets.defs.backtest.resources import StrategyResource
from financial_assets.defs.bars.assets import concat
from financial_assets.defs.history import adjusted_history
from financial_assets.defs.metadata import partition_metadata
from financial_assets.defs.models.resources import MlflowResource
from financial_assets.defs.partitions import bar_key, bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource
from financial_assets.runs.internals import planned_partitions, report_partitions

GROUP = "backtest"
BACKTEST_COLUMNS = ("ticker", "date", *RESULT_COLUMNS[1:], *MODEL_COLUMNS)
#: the equity and drawdown chart of the whole out-of-sample history, an artefact of partition (last date, ticker)
CHART = "equity.png"
#: a bar's numbers in its partition's metadata
BAR_NUMBERS = ("probability", "signal", "target_weight", "position", "fill_price", "exit_price", "costs", "pnl",
               "equity", "returns", "drawdown")
#: backtest_metrics columns logged on a champion's MLflow run, by their MLflow names
MLFLOW_METRICS = {"bt_sharpe": "sharpe", "bt_psr": "psr", "bt_deflated_sharpe": "deflated_sharpe",
                  "bt_trials": "n_trials", "bt_max_drawdown": "max_drawdown", "bt_total_return": "total_return",
                  "bt_pbo": "pbo", "bh_total_return": "bh_total_return", "bh_sharpe": "bh_sharpe"}
#: a ticker's backtest reads every earlier prediction and bar: Dagster has no "every earlier date" mapping
_EARLIER = dg.AllPartitionMapping()
#: a backtest_metrics row's period, first and last session, and the prediction that names its model
Period = tuple[str, pd.Timestamp, pd.Timestamp, pd.Series]


def _overfitting(lake: LakeResource, ticker: str, model: pd.Series, trained: pd.DataFrame, bars: pd.DataFrame,
                 settings: list[BacktestConfig], max_blocks: int) -> dict[str, float]:
    """PBO over the models trained beside `model` (its as-of date) x the threshold settings, on their OOF returns."""
    as_of = model["model_as_of"]
    models = trained.loc[(trained["date"] == as_of) & (trained["registered_model"] == model["registered_model"])]
    oof = lake.read("oof_predictions", [ticker], start=as_of, end=as_of)
    sources = oof_sources(oof, models) if len(oof) else {}
    if not sources:
        return {"pbo": math.nan, "pbo_configurations": 0, "pbo_bars": 0}
    matrix = return_matrix(bars.loc[bars["date"] <= as_of], sources, settings)
    return {"pbo": overfitting_probability(matrix, max_blocks), "pbo_configurations": matrix.shape[1],
            "pbo_bars": len(matrix)}


def _periods(dates: pd.DatetimeIndex, predictions: pd.DataFrame) -> list[Period]:
    """The periods of a ticker's backtest_metrics rows: the range from its first prediction and the history, both to
    the run's last date and named by the newest model, then each champion that predicted in the range, over every
    session it predicted."""
    in_range, newest = predictions.loc[predictions["date"] >= dates[0]], predictions.iloc[-1]
    periods = [(RANGE, in_range["date"].iloc[0], dates[-1], newest)] if len(in_range) else []
    periods.append((HISTORY, predictions["date"].iloc[0], dates[-1], newest))
    first = predictions.groupby(MODEL_KEY)["date"].min()
    for key, served in in_range.groupby(MODEL_KEY, sort=False):
        periods.append((MODEL, first[key], served["date"].iloc[-1], served.iloc[-1]))
    return periods


def _ticker_backtest(lake: LakeResource, ticker: str, dates: pd.DatetimeIndex, bars: pd.DataFrame,
                     predictions: pd.DataFrame, trained: pd.DataFrame, strategy: StrategyResource
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored rows of the run's sessions and the backtest_metrics rows of one ticker; stores its chart."""
    config, settings, last = strategy.config(), strategy.settings(), dates[-1]
    ledger = ticker_ledger(bars, predictions, config)
    first = predictions["date"].iloc[0]
    benchmark = benchmark_ledger(bars, first, config)
    models = trained.drop_duplicates(MODEL_KEY).set_index(MODEL_KEY)
    pbo: dict[tuple[str, pd.Timestamp], dict[str, float]] = {}  # by registered model and as-of date
    metrics = []
    for period, start, end, model in _periods(dates, predictions):
        key = (model["registered_model"], int(model["model_version"]))
        if key not in models.index:
            raise BarDataError("trained_model_of_prediction", f"predictions name {key[0]} v{key[1]}, which "
                               "trained_model does not hold: rebuild predictions", ticker=ticker,
                               date=model["date"].date())
        if (key[0], model["model_as_of"]) not in pbo:
            pbo[key[0], model["model_as_of"]] = _overfitting(lake, ticker, model, trained, bars, settings,
                                                             strategy.max_blocks())
        metrics.append({"ticker": ticker, "date": last, "period": period, "registered_model": key[0],
                        "model_version": key[1], "model_as_of": model["model_as_of"], "unit": models.loc[key, "unit"],
                        "mlflow_run_id": models.loc[key, "mlflow_run_id"],
                        **period_statistics(ledger, benchmark, trained, start, end, len(settings),
                                            config.bars_per_year),
                        **pbo[key[0], model["model_as_of"]]})
    png = equity_chart_png(window(ledger, first, last), window(benchmark, first, last),
                           title=f"{ticker}: out of sample, {first:%Y-%m-%d} to {last:%Y-%m-%d}")
    lake.store_artifact("backtest", ticker, last, CHART, png)
    rows = ledger.loc[ledger["date"].isin(dates) & ledger["probability"].notna()].assign(ticker=ticker)
    return rows[list(BACKTEST_COLUMNS)], pd.DataFrame(metrics)


def _log_to_mlflow(mlflow: MlflowResource, metrics: pd.DataFrame) -> None:
    """Each champion's own period onto its MLflow run (a finished run stays finished), at step YYYYMMDD of the run's
    last date; a model pooled over tickers gets them per ticker, suffixed _<TICKER>."""
    from financial_assets.tracking import TrackedRun

    store = mlflow.store()
    for row in metrics.loc[metrics["period"] == MODEL].itertuples():
        suffix = "" if row.unit == row.ticker else f"_{row.ticker}"
        values = {f"{name}{suffix}": float(getattr(row, column)) for name, column in MLFLOW_METRICS.items()}
        TrackedRun(row.mlflow_run_id, store).log_metrics({k: v for k, v in values.items() if math.isfinite(v)},
                                                         step=int(row.date.strftime("%Y%m%d")))


def _bar_metadata(rows: pd.DataFrame) -> dict[str, dict[str, dg.MetadataValue]]:
    """Per stored row: that bar's numbers and the model that predicted it."""
    out = {}
    for row in rows.itertuples():
        meta = {name: dg.MetadataValue.float(float(getattr(row, name))) for name in BAR_NUMBERS
                if pd.notna(getattr(row, name))}
        meta["model"] = dg.MetadataValue.text(f"{row.model_type} v{row.model_version} as of {row.model_as_of:%Y-%m-%d}")
        out[bar_key(row.date, row.ticker)] = meta
    return out


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep("predictions", partition_mapping=_EARLIER),
          dg.AssetDep("validated_bars", partition_mapping=_EARLIER)],
    group_name=GROUP,
    kinds={"python", "parquet", "mlflow"},
    description="Ticker T's ledger row for session D from trading its out-of-sample predictions (only sessions with a "
    "prediction get a row) on the split-adjusted bars of validated_bars with FA_BT_* fills, sizing, costs and stops: "
    "probability, signal, target weight and position, fill and exit prices, traded shares and value, commission, "
    "slippage, P&L, equity, return, drawdown, and the model that predicted it. A run computes the whole "
    "out-of-sample history up to its last date, so no row depends on batching. The lake table backtest_metrics, keyed "
    "by ticker and the run's last date, holds the range's, the history's and each trading champion's metrics beside "
    "buy-and-hold, with PSR, deflated Sharpe and PBO; each champion's numbers go to its MLflow run as bt_*.",
)
def backtest(context: dg.AssetExecutionContext, lake: LakeResource, strategy: StrategyResource,
             mlflow: MlflowResource) -> None:
    wanted = dates_by_ticker(planned_partitions(context))
    tickers, last = list(wanted), max(d[-1] for d in wanted.values())
    predictions = lake.read("predictions", tickers, end=last)
    trained = lake.read("trained_model", tickers, end=last)
    bars = adjusted_history(lake, tickers, last)
    rows, metrics = [], []
    for ticker, dates in wanted.items():
        mine = predictions.loc[(predictions["ticker"] == ticker) & (predictions["date"] <= dates[-1])] \
            if len(predictions) else predictions
        if mine.empty:
            context.log.info(f"backtest: {ticker}: no prediction up to {dates[-1].date()}: nothing to trade")
            continue
        ours, numbers = _ticker_backtest(lake, ticker, dates, bars.loc[bars["ticker"] == ticker].reset_index(drop=True),
                                         traded_predictions(mine, ticker), trained.loc[trained["ticker"] == ticker],
                                         strategy)
        rows.append(ours)
        metrics.append(numbers)
    frame, table = concat(rows, BACKTEST_COLUMNS), concat(metrics, ["ticker", "date"])
    lake.write("backtest", frame, wanted)
    lake.write("backtest_metrics", table, {ticker: dates[-1:] for ticker, dates in wanted.items()})
    if len(table):
        _log_to_mlflow(mlflow, table)
    written = {t: pd.DatetimeIndex(sorted(d)) for t, d in frame.groupby("ticker")["date"]} if len(frame) else {}
    report_partitions(context, "backtest", partition_metadata(frame, written, _bar_metadata(frame)))
