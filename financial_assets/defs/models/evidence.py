"""What a promotion decision weighs, gathered at its as-of date D from what was known at D.

The champion's out-of-sample record is its out-of-fold predictions (lake table oof_predictions, or
the run's own) up to its as-of date, and after it its own predictions: its stored predictor applied
to each later date's features, which is exactly what `predictions` serves (or keeps in shadow) at
those dates, recomputed here because a range run trains every model before it predicts. Labels count
only once they ended by D. The rule itself is `financial_assets.models.promotion`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from financial_assets.defs.resources import LakeResource
from financial_assets.models import Predictor, TrainingConfig, TrainingResult, label_source
from financial_assets.models.champions import prior_champion, sessions_between, successor
from financial_assets.models.promotion import (
    Champion,
    Decision,
    Evidence,
    Policy,
    decide,
    gate,
    paired_rows,
    paired_test,
)

if TYPE_CHECKING:  # the drift package imports Evidently: only the decay check loads it
    from financial_assets.drift import PerformanceDecay

#: feature rows a sequence model reads before the row it predicts
LOOKBACK = TrainingConfig().lookback


def predict_dates(predictor: Predictor, rows: pd.DataFrame, dates: pd.DatetimeIndex) -> np.ndarray:
    """P(up) at each of `dates` from one ticker's feature `rows` (sorted by date; NaN for a date without a row); a
    sequence model reads the LOOKBACK rows before each."""
    found = rows["date"]
    first = max(found.searchsorted(dates.min()) - LOOKBACK, 0)
    window = rows.iloc[first:found.searchsorted(dates.max(), side="right")]
    if window.empty:
        return np.full(len(dates), np.nan)
    p = predictor.predict_proba(window)
    return pd.Series(p, index=window["date"].to_numpy()).reindex(dates).to_numpy()


def labels_of(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """ticker, date, label (1 up, 0 not, NaN while open) and t1 (the label's end) of training_table rows."""
    value, end = label_source(label)
    known = frame[value].notna()
    return pd.DataFrame({"ticker": frame["ticker"], "date": frame["date"],
                         "label": (frame[value] > 0).astype(float).where(known), "t1": frame[end]})


@dataclass
class Judge:
    """Takes the promotion decisions of one trained_model run, in training order."""

    lake: LakeResource
    frames: Mapping[str, pd.DataFrame]  # unit -> its training_table rows up to the run's last as-of date
    sessions: pd.DatetimeIndex
    policy: Policy
    label: str
    predictors: Callable[[pd.Series], Predictor]  # the stored predictor of a trained_model row (ModelStoreResource)
    oof: dict[tuple[str, int], pd.DataFrame] = field(default_factory=dict)  # the run's models: ticker, date, fold, p

    def remember(self, name: str, version: int, result: TrainingResult) -> None:
        """Keep a model trained in this run: a later decision of the run may compare with it."""
        self.oof[(name, version)] = result.oof[["ticker", "date", "fold", "probability"]]

    def decide(self, unit: str, name: str, chain: pd.DataFrame, new: Mapping[str, object],
               result: TrainingResult) -> Decision:
        """The decision on the new model (`new`: its trained_model columns, decision aside) at its as-of date."""
        as_of, evidence = result.data.as_of, Evidence.of(new)
        current = prior_champion(chain, as_of)
        if current is None:
            return decide(evidence, self.policy, None)
        frame = self.frames[unit]
        labels = labels_of(frame, self.label)
        live = self._after(current, frame, as_of)
        champion = Champion(Evidence.of(current), sessions_between(self.sessions, current["date"], as_of),
                            self._decay(live, labels, current, as_of, unit))
        paired = None
        if (champion.age < self.policy.max_age and not champion.decayed
                and gate(evidence, self.policy.min_oos_rows).passed):
            record = pd.concat([self._out_of_fold(name, current), live.assign(stretch="live")], ignore_index=True)
            pairs = paired_rows(record, result.oof, labels, as_of, self.policy.paired_window)
            paired = paired_test(pairs, horizon=result.data.horizon, policy=self.policy)
        taker = successor(chain, current, as_of, self.sessions, self.policy.max_age)
        return decide(evidence, self.policy, champion, paired, None if taker is None else Evidence.of(taker))

    def _after(self, model: pd.Series, frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        """ticker, date, probability: `model`'s predictions at the dates after its as-of date, up to `as_of`."""
        predictor, parts = self.predictors(model), []
        for ticker, rows in frame.groupby("ticker", sort=True):
            rows = rows.sort_values("date")
            dates = pd.DatetimeIndex(rows.loc[(rows["date"] > model["date"]) & (rows["date"] <= as_of), "date"])
            if len(dates):
                parts.append(pd.DataFrame({"ticker": ticker, "date": dates,
                                           "probability": predict_dates(predictor, rows, dates)}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            {"ticker": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
             "probability": pd.Series(dtype=float)})

    def _out_of_fold(self, name: str, model: pd.Series) -> pd.DataFrame:
        """ticker, date, probability, stretch: `model`'s out-of-fold predictions, each fold a stretch."""
        version = int(model["model_version"])
        rows = self.oof.get((name, version))
        if rows is None:
            stored = self.lake.read("oof_predictions", str(model["data_tickers"]).split(","), start=model["date"],
                                    end=model["date"])
            stored = stored.loc[(stored["registered_model"] == name) & (stored["model_version"] == version)]
            rows = stored.rename(columns={"date": "as_of", "sample_date": "date"})
        return rows.assign(stretch="oof fold " + rows["fold"].astype(str))[["ticker", "date", "probability",
                                                                             "stretch"]]

    def _decay(self, live: pd.DataFrame, labels: pd.DataFrame, model: pd.Series, as_of: pd.Timestamp,
               unit: str) -> PerformanceDecay:
        """The drift report's decay check of `model` on its own predictions whose labels ended by `as_of`."""
        from financial_assets.drift.performance import performance_decay
        from financial_assets.drift.rules import decayed_beyond_interval

        outcomes = live.merge(labels, on=["ticker", "date"]).rename(columns={"probability": "proba"})
        return decayed_beyond_interval(performance_decay(
            outcomes, as_of=as_of, oos_auc=float(model["oos_auc"]),
            oos_auc_ci=(float(model["oos_auc_ci_low"]), float(model["oos_auc_ci_high"])),
            window=self.policy.decay_window, ticker=unit))
