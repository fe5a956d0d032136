"""A ticker's out-of-sample track record from the models' tables: its ledger, its benchmark, a period's statistics.

Inputs are rows of the models family's lake tables: `predictions` (the champion's probability made
at D's close by a model whose as-of date is before D, with `base_rate`, the up-rate of the labels it
was trained on; a session without a champion has no probability and holds no position),
`trained_model` (one row per model trained: as-of date, registered model and version, OOS AUC,
trials) and `oof_predictions` (a model's out-of-fold predictions, keyed by its as-of date, each
sample's own date in sample_date, with `baseline_majority`, the up-rate of the fold's training rows, and
`base_rate`, the one served beside the forward-calibrated probability).

Configurations tried, for the deflated Sharpe ratio of a period: every model trained at the as-of
dates of the champions that made the period's predictions (the champions and the model types trained
beside them), each counting its recorded Optuna trials (at least one), plus the threshold settings
evaluated for PBO. The spread of their Sharpe ratios is measured on the configurations whose returns
are known: those models' out-of-fold predictions traded with each threshold setting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from financial_assets.backtest.config import BacktestConfig
from financial_assets.backtest.engine import buy_and_hold, run_backtest
from financial_assets.backtest.metrics import METRIC_NAMES, performance_metrics
from financial_assets.backtest.periods import sharpe_reliable, sharpe_significance, window
from financial_assets.core.errors import BarDataError

#: backtest_metrics' periods: a run's range, the whole out-of-sample history, the sessions one champion predicted
RANGE, HISTORY, MODEL = "range", "history", "model"
#: the columns of a prediction that say which model made it
MODEL_COLUMNS = ("registered_model", "model_type", "model_version", "model_as_of")
MODEL_KEY = ["registered_model", "model_version"]


def traded_predictions(predictions: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """One ticker's predictions by date, refused without the base rate of a champion's probability or when a model's
    as-of date is not before the date it predicts."""
    rows = predictions.sort_values("date").reset_index(drop=True)
    served = rows["probability"].notna()
    if "base_rate" not in rows.columns:
        raise BarDataError("prediction_base_rate", "predictions have no base_rate column: the entry rule trades the "
                           "edge p - base rate, so every champion's probability needs the base rate of its training "
                           "labels beside it: rebuild predictions", ticker=ticker, date=rows["date"].iloc[0].date())
    unknown = rows.loc[served & ~rows["base_rate"].between(0.0, 1.0)]
    if len(unknown):
        raise BarDataError("prediction_base_rate", f"{len(unknown)} prediction(s) have a probability without a base "
                           f"rate in [0, 1], e.g. {unknown['base_rate'].iloc[0]}: rebuild predictions", ticker=ticker,
                           date=unknown["date"].iloc[0].date())
    late = rows.loc[served & ~(rows["model_as_of"] < rows["date"])]
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
    by_date = predictions.set_index("date")
    ledger = run_backtest(traded, by_date["probability"], by_date["base_rate"], config)
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


def oof_sources(oof: pd.DataFrame, models: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each model's out-of-fold probability and base rate by sample date, the mean over folds when a date was tested
    more than once (CPCV): forward-calibrated with the base rate served beside it (`base_rate`) when the model trades
    calibrated probabilities, else the raw one with its fold's training up-rate (`baseline_majority`)."""
    sources = {}
    for model in models.itertuples():
        probability, base = ("calibrated", "base_rate") if model.calibrated else ("probability", "baseline_majority")
        if base not in oof.columns:
            base = "baseline_majority"  # out-of-fold rows stored before the served base rate was
        if base not in oof.columns:
            raise ValueError(f"oof_predictions of {model.registered_model} v{model.model_version} have no base rate "
                             "(base_rate or baseline_majority): the threshold settings trade the edge over it")
        rows = oof.loc[(oof["registered_model"] == model.registered_model)
                       & (oof["model_version"] == model.model_version)]
        by_date = rows.groupby("sample_date")
        source = pd.DataFrame({"probability": by_date[probability].mean(), "base_rate": by_date[base].mean()})
        if source["probability"].notna().any():
            sources[f"{model.model_type} v{model.model_version}"] = source
    return sources


def served_models(ledger: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The model of every session start..end that a champion predicted (MODEL_KEY and model_as_of)."""
    strategy = window(ledger, start, end)
    return strategy.loc[strategy["probability"].notna(), [*MODEL_KEY, "model_as_of"]]


def period_statistics(ledger: pd.DataFrame, benchmark: pd.DataFrame, trained: pd.DataFrame, start: pd.Timestamp,
                      end: pd.Timestamp, n_settings: int, trial_sharpes: np.ndarray, config: BacktestConfig,
                      min_exposure: float, min_trades: int) -> dict[str, object]:
    """Metrics of the sessions start..end beside buy-and-hold's (bh_*), PSR and DSR (with the spread of
    `trial_sharpes`) and whether they are reliable, with the models that traded."""
    strategy = window(ledger, start, end)
    served = strategy.loc[strategy["probability"].notna(), MODEL_KEY]
    auc = served.merge(trained[[*MODEL_KEY, "oos_auc"]].drop_duplicates(MODEL_KEY), on=MODEL_KEY, how="left")
    n_trials = configurations_tried(trained, served, n_settings)
    ours = performance_metrics(strategy, config.bars_per_year)
    theirs = performance_metrics(window(benchmark, start, end), config.bars_per_year)
    return {"first_date": start, "last_date": end, "predictions": len(served), "oos_auc": float(auc["oos_auc"].mean()),
            "n_trials": n_trials, "trial_configurations": len(trial_sharpes),
            **sharpe_significance(strategy["returns"].to_numpy(), n_trials, trial_sharpes),
            "sharpe_reliable": sharpe_reliable(ours["exposure"], ours["trades"], min_exposure, min_trades),
            **ours, **{f"bh_{name}": theirs[name] for name in METRIC_NAMES}}
