"""What a drift report of partition D|T compares, read from the models family's tables.

The champion in force at D is the model that made T's prediction at D (`predictions`: the newest
champion trained strictly before D). Its reference is its own training rows, rebuilt with
`build_dataset` from `training_table` as of its as-of date (the rows its data description names;
the data hash says whether they are still the same), over the model's feature columns. The current
window is T's `training_table` rows of the last `window` sessions up to D. Prediction drift compares
the champion's out-of-fold probabilities (`oof_predictions`, calibrated when the champion is) with the
window's predicted probabilities; performance compares the champion's own predictions whose labels
ended by D with its OOS AUC.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.defs.resources import LakeResource
from financial_assets.drift import PREDICTION_COLUMN, DriftConfig
from financial_assets.drift.calibration import values_needed
from financial_assets.drift.columns import CALENDAR_REASON, calendar_features, feature_memory
from financial_assets.models import TrainingConfig, build_dataset, label_source
from financial_assets.models.config import POOLED


@dataclass(frozen=True)
class Tables:
    """The lake tables a run of drift_report reads, each once."""

    training: pd.DataFrame  # training_table up to the run's last date, every ticker (pooled references)
    trained: pd.DataFrame  # trained_model rows of the run's tickers
    predictions: pd.DataFrame  # predictions of the run's tickers up to the run's last date
    oof: pd.DataFrame  # oof_predictions, every ticker

    @classmethod
    def read(cls, lake: LakeResource, tickers: list[str], last: pd.Timestamp) -> "Tables":
        """Read the four tables for a run over `tickers` ending at `last`."""
        return cls(lake.read("training_table", end=last), lake.read("trained_model", tickers),
                   lake.read("predictions", tickers, end=last), lake.read("oof_predictions"))


@dataclass(frozen=True)
class DriftInputs:
    """Everything `build_drift_report` and `performance_decay` take for one partition."""

    champion: pd.Series  # the champion's trained_model row
    reference: pd.DataFrame  # its training rows, monitored columns only (none: too short a reference to calibrate)
    current: pd.DataFrame  # the window's rows, monitored columns only
    memory: dict[str, int]  # each monitored column's lookback in rows; the predictions': the compared features' largest
    reference_matches_training: bool  # the rebuilt rows hash to the champion's data_hash
    unmonitored: dict[str, str]  # column -> why it could not be compared
    reference_predictions: np.ndarray | None  # None: prediction drift not evaluated (see unmonitored)
    current_predictions: np.ndarray | None
    outcomes: pd.DataFrame  # date, t1, label, proba of the champion's own predictions up to the date


def partition_inputs(tables: Tables, ticker: str, day: pd.Timestamp, window: int,
                     config: DriftConfig) -> DriftInputs | None:
    """The inputs of partition day|ticker; None when no champion made a prediction at `day`."""
    predictions = _rows(tables.predictions, ticker)
    # a date without a champion holds only the shadow prediction: nothing serves, nothing to monitor
    served = (predictions.loc[(predictions["date"] == day) & predictions["model_version"].notna()]
              if len(predictions) else predictions)
    if served.empty:
        return None
    champion = _champion(tables.trained, served.iloc[0], ticker, day)
    pooled = champion["unit"] == POOLED
    tickers = str(champion["data_tickers"]).split(",")
    config_of = TrainingConfig(model_type=champion["model_type"], label=champion["label"],
                               ticker=None if pooled else ticker, pooled=pooled)
    data = build_dataset(tables.training.loc[tables.training["ticker"].isin(tickers)], config_of, champion["date"])
    names = list(data.panel.names)
    reference = pd.DataFrame(data.panel.features[data.rows], columns=names)
    mine = _rows(tables.training, ticker)
    current = mine.loc[mine["date"] <= day].tail(window).reset_index(drop=True)
    if current.empty or current["date"].iloc[-1] != day:
        raise BarDataError("drift_current_window", "training_table has no row at the partition's date", ticker,
                           day.date())
    current_values = current[names].astype(float).replace([np.inf, -np.inf], np.nan)
    memory = feature_memory(names)
    unmonitored = dict.fromkeys(calendar_features(names), CALENDAR_REASON)
    unmonitored |= {c: why for c in names if c not in unmonitored
                    and (why := _why_not(reference[c], current_values[c], memory[c], config))}
    kept = [c for c in names if c not in unmonitored]
    keys = pd.DataFrame({"ticker": data.panel.tickers[data.rows], "date": data.panel.dates[data.rows]})
    ref_p = _oof_probabilities(tables.oof, champion, keys)
    cur_p = current[["date"]].merge(predictions[["date", "probability"]], on="date", how="left")["probability"]
    longest = max((memory[c] for c in kept), default=0)  # the prediction is judged beside the compared features
    why = _why_not(pd.Series(ref_p), cur_p, longest, config)
    if why:
        unmonitored["predicted probability"] = why
    return DriftInputs(
        champion=champion, reference=reference[kept], current=current_values[kept],
        memory={c: memory[c] for c in kept} | {PREDICTION_COLUMN: longest},
        reference_matches_training=data.description.data_hash == champion["data_hash"], unmonitored=unmonitored,
        reference_predictions=None if why else ref_p, current_predictions=None if why else cur_p.to_numpy(float),
        outcomes=_outcomes(predictions, mine, champion, day))


def _rows(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    return frame.loc[frame["ticker"] == ticker].reset_index(drop=True) if len(frame) else frame


def _champion(trained: pd.DataFrame, served: pd.Series, ticker: str, day: pd.Timestamp) -> pd.Series:
    """The trained_model row of the model that made the prediction `served`."""
    rows = _rows(trained, ticker)
    if len(rows):
        rows = rows.loc[(rows["registered_model"] == served["registered_model"])
                        & (rows["model_version"] == served["model_version"])]
    if rows.empty:
        raise BarDataError("drift_champion", f"predictions name {served['registered_model']} "
                           f"v{served['model_version']}, which trained_model does not hold", ticker, day.date())
    return rows.iloc[-1]


def _why_not(reference: pd.Series, current: pd.Series, memory: int, config: DriftConfig) -> str:
    """Why a column cannot be compared ('' when it can): too few current values, or too few reference values to
    hold `config.min_independent_windows` windows of the current window's rows apart by the column's memory."""
    window = int(current.notna().sum())
    if window < 2:
        return f"{window} value(s) in the current window"
    needed, known = values_needed(len(current), memory, config.min_independent_windows), int(reference.notna().sum())
    return (f"{known} reference values, {needed} needed to calibrate ({config.min_independent_windows} windows of "
            f"{len(current)} rows with a margin of its {memory}-bar memory on each side)") if known < needed else ""


def _oof_probabilities(oof: pd.DataFrame, champion: pd.Series, keys: pd.DataFrame) -> np.ndarray:
    """The champion's out-of-fold probability of each reference row (NaN where it has none)."""
    column = "calibrated" if bool(champion["calibrated"]) else "probability"
    if oof.empty:
        return np.full(len(keys), np.nan)
    mine = oof.loc[(oof["registered_model"] == champion["registered_model"])
                   & (oof["model_version"] == champion["model_version"])]
    by_row = mine.groupby(["ticker", "sample_date"])[column].mean()  # combinatorial CV tests a row more than once
    index = pd.MultiIndex.from_frame(keys)
    return by_row.reindex(index).to_numpy(dtype=float)


def _outcomes(predictions: pd.DataFrame, history: pd.DataFrame, champion: pd.Series, day: pd.Timestamp) -> pd.DataFrame:
    """The champion's own predictions up to `day` with their labels: date, t1, label (0/1), proba."""
    value, end = label_source(champion["label"])
    own = predictions.loc[(predictions["registered_model"] == champion["registered_model"])
                          & (predictions["model_version"] == champion["model_version"]) & (predictions["date"] <= day)]
    joined = own[["date", "probability"]].merge(history[["date", value, end]], on="date", how="left")
    label = joined[value].where(joined[value].isna(), (joined[value] > 0).astype(float))
    return pd.DataFrame({"date": joined["date"], "t1": joined[end], "label": label, "proba": joined["probability"]})
