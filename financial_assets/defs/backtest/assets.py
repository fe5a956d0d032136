"""backtest: each ticker's out-of-sample predictions traded by the engine, and the run's metrics in backtest_metrics.

Partition D|T holds ticker T's ledger row for session D: the probability predicted at D's close
(by a champion trained strictly before D) and its base rate, the signal and target decided there,
the position and cash held at D's close, the fills during D (of the order decided at the previous
close), costs, P&L, equity, drawdown, and the exposure of the out-of-sample history to D. The equity
path depends on every earlier bar, so a run computes T's whole out-of-sample history up to its last
date and stores only its own partitions: a row never depends on how the runs were batched. Sessions
with a prediction row from the first champion's prediction on get a row; one without a champion
probability holds no position.

backtest_metrics, keyed by ticker and the run's last date, holds one row per period: the run's range
(from its first prediction), the whole out-of-sample history, and each champion that traded in the
range over the sessions it predicted; every row beside buy-and-hold of the same sessions, with PSR,
the deflated Sharpe ratio (V[SR] across the configurations tried), whether they are reliable, and
PBO (`financial_assets.backtest.track_record`, `financial_assets.backtest.configurations`). A ticker
without any champion gets one history row over the run's range: no position beside buy-and-hold.
The champions' rows are logged to their MLflow runs. The equity and drawdown chart is stored for the
tickers the check shows (`checks.detailed_tickers`): rendering one costs more than the ticker's backtest.
"""

import math

import dagster as dg
import numpy as np
import pandas as pd

from financial_assets.backtest import (
    METRIC_NAMES,
    RESULT_COLUMNS,
    BacktestConfig,
    equity_chart_png,
    performance_metrics,
    run_backtest,
)
from financial_assets.backtest.configurations import configuration_sharpes, overfitting_probability, return_matrix
from financial_assets.backtest.periods import window
from financial_assets.backtest.track_record import (
    HISTORY,
    MODEL,
    MODEL_COLUMNS,
    MODEL_KEY,
    RANGE,
    benchmark_ledger,
    oof_sources,
    period_statistics,
    served_models,
    ticker_ledger,
    traded_predictions,
)
from financial_assets.core.errors import BarDataError
from financial_assets.core.frames import concat
from financial_assets.defs.backtest.resources import StrategyResource
from financial_assets.defs.history import adjusted_history
from financial_assets.defs.models.resources import MlflowResource
from financial_assets.defs.partitions import bar_key
from financial_assets.defs.resources import LakeResource
from financial_assets.defs.ticker_date import TickerDates, Written, ticker_date_asset

GROUP = "backtest"
BACKTEST_COLUMNS = ("ticker", "date", *RESULT_COLUMNS[1:], "exposure", *MODEL_COLUMNS)
#: the equity and drawdown chart of the whole out-of-sample history, an artefact of partition (last date, ticker)
CHART = "equity.png"
#: what a ticker's chart draws: its strategy's and buy-and-hold's ledger over the sessions shown, and the title
Chart = tuple[pd.DataFrame, pd.DataFrame, str]
#: a bar's numbers in its partition's metadata
BAR_NUMBERS = ("probability", "base_rate", "signal", "target_weight", "position", "cash", "fill_price", "exit_price",
               "costs", "pnl", "equity", "returns", "drawdown", "exposure")
#: backtest_metrics columns logged on a champion's MLflow run, by their MLflow names
MLFLOW_METRICS = {"bt_sharpe": "sharpe", "bt_psr": "psr", "bt_deflated_sharpe": "deflated_sharpe",
                  "bt_trials": "n_trials", "bt_max_drawdown": "max_drawdown", "bt_total_return": "total_return",
                  "bt_exposure": "exposure", "bt_trades": "trades", "bt_pbo": "pbo",
                  "bh_total_return": "bh_total_return", "bh_sharpe": "bh_sharpe"}
#: logged only when PSR and DSR are reliable (enough exposure and trades)
EVIDENCE = ("bt_psr", "bt_deflated_sharpe")
#: a ticker's backtest reads every earlier prediction and bar: Dagster has no "every earlier date" mapping
_EARLIER = dg.AllPartitionMapping()
#: a backtest_metrics row's period, first and last session, and the prediction that names its model
Period = tuple[str, pd.Timestamp, pd.Timestamp, pd.Series]


def _configurations(oof: pd.DataFrame, name: str, as_of: pd.Timestamp, trained: pd.DataFrame, bars: pd.DataFrame,
                    settings: list[BacktestConfig], max_blocks: int) -> dict[str, object]:
    """PBO over the models of `name` trained at `as_of` x the threshold settings, on their OOF returns (`oof`: the
    ticker's out-of-fold rows), and each such configuration's Sharpe ratio (`sharpes`, for the DSR's V[SR])."""
    models = trained.loc[(trained["date"] == as_of) & (trained["registered_model"] == name)]
    oof = oof.loc[oof["date"] == as_of] if len(oof) else oof
    sources = oof_sources(oof, models) if len(oof) else {}
    if not sources:
        return {"pbo": math.nan, "pbo_configurations": 0, "pbo_bars": 0, "sharpes": np.zeros(0)}
    matrix = return_matrix(bars.loc[bars["date"] <= as_of], sources, settings)
    return {"pbo": overfitting_probability(matrix, max_blocks), "pbo_configurations": matrix.shape[1],
            "pbo_bars": len(matrix), "sharpes": configuration_sharpes(matrix)}


def _periods(dates: pd.DatetimeIndex, predictions: pd.DataFrame) -> list[Period]:
    """The periods of a ticker's backtest_metrics rows from its champions' predictions: the range from its first
    prediction and the history, both to the run's last date and named by the newest model, then each champion that
    predicted in the range, over every session it predicted."""
    in_range, newest = predictions.loc[predictions["date"] >= dates[0]], predictions.iloc[-1]
    periods = [(RANGE, in_range["date"].iloc[0], dates[-1], newest)] if len(in_range) else []
    periods.append((HISTORY, predictions["date"].iloc[0], dates[-1], newest))
    first = predictions.groupby(MODEL_KEY)["date"].min()
    for key, served in in_range.groupby(MODEL_KEY, sort=False):
        periods.append((MODEL, first[key], served["date"].iloc[-1], served.iloc[-1]))
    return periods


def _ticker_backtest(ticker: str, dates: pd.DatetimeIndex, bars: pd.DataFrame, predictions: pd.DataFrame,
                     trained: pd.DataFrame, oof: pd.DataFrame, strategy: StrategyResource
                     ) -> tuple[pd.DataFrame, pd.DataFrame, Chart]:
    """The stored rows of the run's sessions, the backtest_metrics rows and the chart of one ticker (`oof`: its
    out-of-fold rows)."""
    config, settings, last = strategy.config(), strategy.settings(), dates[-1]
    served = predictions.loc[predictions["probability"].notna()].reset_index(drop=True)
    first = served["date"].iloc[0]
    ledger = ticker_ledger(bars, predictions.loc[predictions["date"] >= first], config)
    since = (ledger["date"] >= first).to_numpy()
    held = ledger["position"].ne(0).to_numpy()
    in_market = (held | np.concatenate(([False], held[:-1])))[since]  # held at the previous close or at this one
    ledger["exposure"] = np.nan
    ledger.loc[since, "exposure"] = np.cumsum(in_market) / np.arange(1, in_market.size + 1)
    benchmark = benchmark_ledger(bars, first, config)
    models = trained.drop_duplicates(MODEL_KEY).set_index(MODEL_KEY)
    tried: dict[tuple[str, pd.Timestamp], dict[str, object]] = {}  # by registered model and as-of date

    def configurations(name: str, as_of: pd.Timestamp) -> dict[str, object]:
        if (name, as_of) not in tried:
            tried[name, as_of] = _configurations(oof, name, as_of, trained, bars, settings, strategy.max_blocks())
        return tried[name, as_of]

    metrics = []
    for period, start, end, model in _periods(dates, served):
        key = (model["registered_model"], int(model["model_version"]))
        if key not in models.index:
            raise BarDataError("trained_model_of_prediction", f"predictions name {key[0]} v{key[1]}, which "
                               "trained_model does not hold: rebuild predictions", ticker=ticker,
                               date=model["date"].date())
        as_of_dates = served_models(ledger, start, end).drop_duplicates(["registered_model", "model_as_of"])
        trial_sharpes = np.concatenate([configurations(r.registered_model, r.model_as_of)["sharpes"]
                                        for r in as_of_dates.itertuples()])
        pbo = {k: v for k, v in configurations(key[0], model["model_as_of"]).items() if k != "sharpes"}
        metrics.append({"ticker": ticker, "date": last, "period": period, "registered_model": key[0],
                        "model_version": key[1], "model_as_of": model["model_as_of"], "unit": models.loc[key, "unit"],
                        "mlflow_run_id": models.loc[key, "mlflow_run_id"],
                        **period_statistics(ledger, benchmark, trained, start, end, len(settings), trial_sharpes,
                                            config, *strategy.reliability()),
                        **pbo})
    chart = (window(ledger, first, last), window(benchmark, first, last),
             f"{ticker}: out of sample, {first:%Y-%m-%d} to {last:%Y-%m-%d}")
    rows = ledger.loc[since & ledger["date"].isin(dates) & ledger["date"].isin(predictions["date"])]
    rows = rows.assign(ticker=ticker)
    return rows[list(BACKTEST_COLUMNS)], pd.DataFrame(metrics), chart


def _no_champion(ticker: str, dates: pd.DatetimeIndex, bars: pd.DataFrame,
                 config: BacktestConfig) -> tuple[pd.DataFrame, Chart]:
    """The history row of a ticker no champion predicted up to the run's last date: no position over the run's range,
    beside buy-and-hold of the same sessions; and its chart."""
    first, last = dates[0], dates[-1]
    traded = bars.loc[bars["date"].between(first, last)].reset_index(drop=True)
    flat, benchmark = run_backtest(traded, pd.Series(dtype=float), 0.0, config), benchmark_ledger(bars, first, config)
    ours = performance_metrics(flat, config.bars_per_year)
    theirs = performance_metrics(window(benchmark, first, last), config.bars_per_year)
    chart = (flat, window(benchmark, first, last), f"{ticker}: no champion, no position, "
             f"{first:%Y-%m-%d} to {last:%Y-%m-%d}")
    row = {"ticker": ticker, "date": last, "period": HISTORY, "registered_model": None, "model_version": pd.NA,
           "model_as_of": pd.NaT, "unit": None, "mlflow_run_id": None, "first_date": first, "last_date": last,
           "predictions": 0, "oos_auc": math.nan, "n_trials": 0, "trial_configurations": 0, "psr": math.nan,
           "deflated_sharpe": math.nan, "trial_sharpe_variance": math.nan, "sharpe_reliable": False, **ours,
           **{f"bh_{name}": theirs[name] for name in METRIC_NAMES}, "pbo": math.nan, "pbo_configurations": 0,
           "pbo_bars": 0}
    return pd.DataFrame([row]).astype({"model_version": "Int64", "model_as_of": "datetime64[ns]"}), chart


def _store_charts(lake: LakeResource, charts: dict[str, Chart], last: dict[str, pd.Timestamp],
                  shown: list[str]) -> None:
    """Render the charts of the `shown` tickers; remove the others' charts of an earlier run of the same date."""
    for ticker, (strategy, benchmark, title) in charts.items():
        if ticker in shown:
            lake.store_artifact("backtest", ticker, last[ticker], CHART, equity_chart_png(strategy, benchmark, title))
        else:
            lake.artifacts.path("backtest", ticker, last[ticker], CHART).unlink(missing_ok=True)


class _ByTicker:
    """A lake table read once for the run, split by ticker (rows keep their order); a ticker without rows gets none."""

    def __init__(self, frame: pd.DataFrame):
        self.none = frame.iloc[:0]
        self.groups = dict(tuple(frame.groupby("ticker", sort=False))) if len(frame) else {}

    def __getitem__(self, ticker: str) -> pd.DataFrame:
        return self.groups.get(ticker, self.none)


def _own_oof(oof: _ByTicker, ticker: str, predictions: pd.DataFrame) -> pd.DataFrame:
    """The ticker's out-of-fold rows from its first to its last champion's as-of date (PBO reads those dates')."""
    rows, as_of = oof[ticker], predictions.loc[predictions["probability"].notna(), "model_as_of"]
    return rows.loc[rows["date"].between(as_of.min(), as_of.max())] if len(rows) else rows


def _log_to_mlflow(mlflow: MlflowResource, metrics: pd.DataFrame) -> None:
    """Each champion's own period onto its MLflow run (a finished run stays finished), at step YYYYMMDD of the run's
    last date; a model pooled over tickers gets them per ticker, suffixed _<TICKER>."""
    from financial_assets.tracking import TrackedRun

    store = mlflow.store()
    for row in metrics.loc[metrics["period"] == MODEL].itertuples():
        suffix = "" if row.unit == row.ticker else f"_{row.ticker}"
        values = {f"{name}{suffix}": float(getattr(row, column)) for name, column in MLFLOW_METRICS.items()
                  if row.sharpe_reliable or name not in EVIDENCE}
        TrackedRun(row.mlflow_run_id, store).log_metrics({k: v for k, v in values.items() if math.isfinite(v)},
                                                         step=int(row.date.strftime("%Y%m%d")))


def _bar_metadata(rows: pd.DataFrame) -> dict[str, dict[str, dg.MetadataValue]]:
    """Per stored row: that bar's numbers and the model that predicted it."""
    out = {}
    for row in rows.itertuples():
        meta = {name: dg.MetadataValue.float(float(getattr(row, name))) for name in BAR_NUMBERS
                if pd.notna(getattr(row, name))}
        meta["model"] = dg.MetadataValue.text(f"{row.model_type} v{row.model_version} as of {row.model_as_of:%Y-%m-%d}"
                                              if pd.notna(row.model_version) else "no champion: no position")
        out[bar_key(row.date, row.ticker)] = meta
    return out


@ticker_date_asset(
    deps=[dg.AssetDep("predictions", partition_mapping=_EARLIER),
          dg.AssetDep("validated_bars", partition_mapping=_EARLIER)],
    group=GROUP,
    kinds={"mlflow"},
    description="Ticker T's ledger row for session D from trading its out-of-sample predictions (sessions with a "
    "prediction row from the first champion's on) on the split-adjusted bars of validated_bars with FA_BT_* fills, "
    "sizing, costs and stops: long (or short) when the edge p - base rate passes FA_BT_THRESHOLD, no buy beyond the "
    "cash; probability, base rate, signal, target weight, position and cash, fill and exit prices, traded shares and "
    "value, commission, slippage, P&L, equity, return, drawdown, exposure to date, and the model that predicted it. A "
    "run computes the whole out-of-sample history up to its last date, so no row depends on batching. The lake table "
    "backtest_metrics, keyed by ticker and the run's last date, holds the range's, the history's and each trading "
    "champion's metrics (exposure and trades included) beside buy-and-hold, with PSR, deflated Sharpe (V[SR] across "
    "the configurations tried), whether they are reliable, and PBO; a ticker without a champion gets a history row "
    "with no position. Each champion's numbers go to its MLflow run as bt_*.",
)
def backtest(run: TickerDates, lake: LakeResource, strategy: StrategyResource, mlflow: MlflowResource) -> Written:
    """Each ticker's out-of-sample ledger up to the run's last date, its metrics table, charts and MLflow metrics."""
    from financial_assets.defs.backtest.checks import detailed_tickers  # the check module imports this one

    context, wanted = run.context, run.wanted
    tickers, last = list(wanted), max(d[-1] for d in wanted.values())
    read = lake.read("predictions", tickers, end=last)
    predictions, trained = _ByTicker(read), _ByTicker(lake.read("trained_model", tickers, end=last))
    bars = _ByTicker(adjusted_history(lake, tickers, last))
    as_of = read.loc[read["probability"].notna(), "model_as_of"] if len(read) else pd.Series(dtype="datetime64[ns]")
    oof = _ByTicker(lake.read("oof_predictions", tickers, start=as_of.min(), end=as_of.max()) if len(as_of)
                    else pd.DataFrame())
    rows, metrics, charts = [], [], {}
    for ticker, dates in wanted.items():
        mine = predictions[ticker]
        mine = mine.loc[mine["date"] <= dates[-1]] if len(mine) else mine
        history = bars[ticker].reset_index(drop=True)
        if mine.empty or mine["probability"].isna().all():
            context.log.info(f"backtest: {ticker}: no champion prediction up to {dates[-1].date()}: no position")
            numbers, charts[ticker] = _no_champion(ticker, dates, history, strategy.config())
            metrics.append(numbers)
            continue
        ours, numbers, charts[ticker] = _ticker_backtest(ticker, dates, history, traded_predictions(mine, ticker),
                                                         trained[ticker], _own_oof(oof, ticker, mine),
                                                         strategy)
        rows.append(ours)
        metrics.append(numbers)
    frame, table = concat(rows, BACKTEST_COLUMNS), concat(metrics, ["ticker", "date"])
    lake.write("backtest_metrics", table, {ticker: dates[-1:] for ticker, dates in wanted.items()})
    _store_charts(lake, charts, {ticker: dates[-1] for ticker, dates in wanted.items()}, detailed_tickers(table))
    if len(table):
        _log_to_mlflow(mlflow, table)
    written = {t: pd.DatetimeIndex(sorted(d)) for t, d in frame.groupby("ticker")["date"]} if len(frame) else {}
    return Written(frame, reported=written, metadata=_bar_metadata(frame))
