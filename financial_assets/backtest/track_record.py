"""A ticker's out-of-sample track record from the models' tables: its ledger, its benchmark, a period's statistics.

Inputs are rows of the models family's lake tables: `predictions` (the champion's probability made
at D's close by a model whose as-of date is before D), `trained_model` (one row per model trained:
as-of date, registered model and version, OOS AUC, trials) and `oof_predictions` (a model's
out-of-fold predictions, keyed by its as-of date, each sample's own date in sample_date).

Configurations tried, for the deflated Sharpe ratio of a period: every model trained at the as-of
dates of the champions that made the period's predictions (the champions and the model types trained
beside them), each counting its recorded Optuna trials (at least one), plus the threshold settings
evaluated for PBO.
"""

from __future__ import annotations

import pandas as pd

from financial_assets.backtest.config import BacktestConfig
from financial_assets.backtest.engine import buy_and_hold, run_backtest
from financial_assets.backtest.metrics import METRIC_NAMES, performance_metrics
from financial_assets.backtest.periods import sharpe_significance, window
from financial_assets.core.errors import BarDataError

#: backtest_metrics' periods: a run's range, the whole out-of-sample history, the sessions one champion predicted
RANGE, HISTORY, MODEL = "range", "history", "model"
#: the columns of a prediction that say which model made it
MODEL_COLUMNS = ("registered_model", "model_type", "model_version", "model_as_of")
MODEL_KEY = ["registered_model", "model_version"]


def traded_predictions(predictions: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """One ticker's predictions by date, refused when a model's as-of date is not before the date it predicts."""
    rows = predictions.sort_values("date").reset_index(drop=True)
    late = rows.loc[~(rows["model_as_of"] < rows["date"])]
    if len(late):
        raise BarDataError("prediction_out_of_sample", f"{len(late)} prediction(s) come from a model whose as-of date "
                           f"is not before the date predicted, e.g. model as of {late['model_as_of'].iloc[0]}: "
                           "rebuild predictions", ticker=ticker, date=late["date"].iloc[0].date())
    return rows


def ticker_ledger(bars: pd.DataFrame, predictions: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """The engine's rows with the model of each prediction, from `vol_window` + 1 bars before the first prediction
    (so a vol-target size is known at the first signal; flat until then) to the last bar."""
    dates = pd.to_datetime(bars["date"])
    first = max(int(dates.searchsorted(predictions["date"].iloc[0])) - config.vol_window - 1, 0)
    traded = bars.iloc[first:].reset_index(drop=True)
    ledger = run_backtest(traded, predictions.set_index("date")["probability"], config)
    merged = ledger.merge(predictions[["date", *MODEL_COLUMNS]], on="date", how="left", validate="one_to_one")
    return merged.astype({"model_version": "Int64"})  # NaN on sessions without a prediction


def benchmark_ledger(bars: pd.DataFrame, first: pd.Timestamp, config: BacktestConfig) -> pd.DataFrame:
    """Buy-and-hold with the strategy's timing and costs, deciding at the first prediction's close."""
    return buy_and_hold(bars.loc[pd.to_datetime(bars["date"]) >= first].reset_index(drop=True), config)


def configurations_tried(trained: pd.DataFrame, served: pd.DataFrame, n_settings: int) -> int:
    """Trials of every model trained at the as-of dates of the `served` models, plus the threshold settings."""
    as_of = trained.merge(served[MODEL_KEY].drop_duplicates(), on=MODEL_KEY)["date"].unique()
    beside = trained.loc[trained["date"].isin(as_of) & trained["registered_model"].isin(served["registered_model"])]
    return int(beside["trials"].clip(lower=1).sum()) + n_settings


def oof_sources(oof: pd.DataFrame, models: pd.DataFrame) -> dict[str, pd.Series]:
    """Each model's out-of-fold probability by sample date: forward-calibrated when the model trades calibrated
    probabilities, the mean over folds when a date was tested more than once (CPCV)."""
    sources = {}
    for model in models.itertuples():
        rows = oof.loc[(oof["registered_model"] == model.registered_model)
                       & (oof["model_version"] == model.model_version)]
        probability = rows.groupby("sample_date")["calibrated" if model.calibrated else "probability"].mean()
        if probability.notna().any():
            sources[f"{model.model_type} v{model.model_version}"] = probability
    return sources


def period_statistics(ledger: pd.DataFrame, benchmark: pd.DataFrame, trained: pd.DataFrame, start: pd.Timestamp,
                      end: pd.Timestamp, n_settings: int, bars_per_year: int) -> dict[str, object]:
    """Metrics of the sessions start..end beside buy-and-hold's (bh_*), PSR and DSR, with the models that traded."""
    strategy = window(ledger, start, end)
    served = strategy.loc[strategy["probability"].notna(), MODEL_KEY]
    auc = served.merge(trained[[*MODEL_KEY, "oos_auc"]].drop_duplicates(MODEL_KEY), on=MODEL_KEY, how="left")
    n_trials = configurations_tried(trained, served, n_settings)
    ours = performance_metrics(strategy, bars_per_year)
    theirs = performance_metrics(window(benchmark, start, end), bars_per_year)
    return {"first_date": start, "last_date": end, "predictions": len(served), "oos_auc": float(auc["oos_auc"].mean()),
            "n_trials": n_trials, **sharpe_significance(strategy["returns"].to_numpy(), n_trials),
            **ours, **{f"bh_{name}": theirs[name] for name in METRIC_NAMES}}
