"""Score a current feature window against the champion's reference; Evidently's HTML report only when asked.

Scoring runs Evidently's stattest function once per column on the current window and the calibration
of `calibration.py` on the reference; it builds no Evidently `Report` (about 2.7 s for 50 columns,
most of a report's cost). `DriftResult.evidently_report()` builds that Report, with the same thresholds,
for the partitions someone will read: the flagged ones, or on demand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.drift.calibration import STATTEST, stattest_score, values_needed, window_scores, window_starts
from financial_assets.drift.config import DriftConfig
from financial_assets.drift.performance import PerformanceDecay
from financial_assets.drift.result import ColumnDrift, DriftResult

#: Name of the predicted-probability column in the Evidently report.
PREDICTION_COLUMN = "predicted_proba"
#: the smallest scale a column's scores are divided by: a column constant over the reference (up to rounding)
#: scores about 1e-13 when it stays so, and drifts when it moves
MIN_SCALE = 1e-9


@dataclass(frozen=True)
class Calibration:
    """A reference's thresholds for windows of `window` rows: reusable for every current window of that size."""

    columns: tuple[str, ...]
    window: int
    scale: np.ndarray  # each column's (1 - false_alarm_rate) quantile over the reference's windows
    warn_multiplier: float  # family-wise (1 - false_alarm_rate) quantile of the largest ratio score / scale
    drift_multiplier: float  # its maximum over the reference's windows
    n_windows: int
    prediction: tuple[float, float] | None  # the predictions' own (warn, drift) thresholds, when given


def calibrate(reference: pd.DataFrame, columns: Sequence[str], window: int, config: DriftConfig = DriftConfig(), *,
              memory: Mapping[str, int] | None = None,
              reference_predictions: Sequence[float] | np.ndarray | None = None, ticker: str | None = None,
              as_of: object = None) -> Calibration:
    """Thresholds of `columns` for `window`-row windows, learned from `reference`'s own windows (rows in time order).

    `memory` gives each column's lookback in rows (0 when absent): its calibration margin, and how long a
    reference it needs (`values_needed`; a shorter one raises `drift_reference_length`). The predicted
    probabilities, when given (one per reference row), are calibrated on their own, with the memory
    `memory[PREDICTION_COLUMN]` (default: the features' largest).
    """
    columns, memory = list(columns), dict(memory or {})
    when = _day(as_of)
    ref = _numeric(reference, columns, "reference", ticker, when)
    starts = window_starts(len(ref), window, config.max_windows)
    scores = np.array([_window_scores(ref[c], window, starts, memory.get(c, 0), config, c, ticker, when)
                       for c in columns])
    scale = np.maximum(np.nanquantile(scores, 1 - config.false_alarm_rate, axis=1), MIN_SCALE)
    family = np.nanmax(scores / scale[:, None], axis=0)
    prediction = None
    if reference_predictions is not None:
        own = _window_scores(pd.Series(_aligned(reference_predictions, ref, "reference", ticker, when)), window,
                             starts, memory.get(PREDICTION_COLUMN, max(memory.values(), default=0)), config,
                             PREDICTION_COLUMN, ticker, when)
        prediction = (max(float(np.nanquantile(own, 1 - config.false_alarm_rate)), MIN_SCALE),
                      max(float(np.nanmax(own)), MIN_SCALE))
    return Calibration(tuple(columns), window, scale, float(np.nanquantile(family, 1 - config.false_alarm_rate)),
                       float(np.nanmax(family)), int(np.isfinite(family).sum()), prediction)


def score_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    config: DriftConfig = DriftConfig(),
    *,
    memory: Mapping[str, int] | None = None,
    ticker: str | None = None,
    as_of: object = None,
    reference_predictions: Sequence[float] | np.ndarray | None = None,
    current_predictions: Sequence[float] | np.ndarray | None = None,
    performance: PerformanceDecay | None = None,
    calibration: Calibration | None = None,
) -> DriftResult:
    """Compare `current` (e.g. the 20 sessions up to `as_of`) with `reference` (the champion's training rows, in order).

    Each column is scored with Evidently's normed Wasserstein distance and judged against the
    thresholds of `calibrate` (pass `calibration` to reuse one made on the same reference and window
    size). A column is unusual beyond its warn threshold and drifted beyond its drift threshold; the
    predicted probabilities, when both arrays are given (one per row of each frame), drift beyond the
    largest score of their own reference windows. `performance`, from `performance_decay`, is
    attached as is. Errors name the ticker, `as_of` and the rule.
    """
    columns = list(columns)
    when = _day(as_of)
    if (reference_predictions is None) != (current_predictions is None):
        raise BarDataError("drift_predictions", "pass both reference_predictions and current_predictions, or neither",
                           ticker, when)
    if PREDICTION_COLUMN in columns:
        raise BarDataError("drift_predictions", f"a feature is named {PREDICTION_COLUMN!r}", ticker, when)
    ref = _numeric(reference, columns, "reference", ticker, when)
    cur = _numeric(current, columns, "current", ticker, when)
    if calibration is None:
        calibration = calibrate(ref, columns, len(cur), config, memory=memory, ticker=ticker, as_of=as_of,
                                reference_predictions=reference_predictions)
    if calibration.columns != tuple(columns) or calibration.window != len(cur):
        raise BarDataError("drift_calibration", f"the calibration is for {calibration.window}-row windows of "
                           f"{len(calibration.columns)} columns, not {len(cur)} rows of {len(columns)}", ticker, when)
    drifts = [_judged(c, stattest_score(STATTEST, ref[c].to_numpy(), cur[c].to_numpy()),
                      s * calibration.warn_multiplier, s * calibration.drift_multiplier)
              for c, s in zip(columns, calibration.scale, strict=True)]
    prediction = None
    if reference_predictions is not None:
        if calibration.prediction is None:
            raise BarDataError("drift_calibration", "the calibration has no predictions", ticker, when)
        ref[PREDICTION_COLUMN] = _aligned(reference_predictions, ref, "reference", ticker, when)
        cur[PREDICTION_COLUMN] = _aligned(current_predictions, cur, "current", ticker, when)
        score = stattest_score(STATTEST, ref[PREDICTION_COLUMN].to_numpy(), cur[PREDICTION_COLUMN].to_numpy())
        prediction = _judged(PREDICTION_COLUMN, score, *calibration.prediction)
    return DriftResult(
        ticker=ticker, as_of=when, config=config, n_reference=len(ref), n_current=len(cur),
        n_windows=calibration.n_windows, warn_multiplier=calibration.warn_multiplier,
        drift_multiplier=calibration.drift_multiplier,
        columns=tuple(sorted(drifts, key=lambda d: d.ratio, reverse=True)), prediction=prediction,
        performance=performance, frames=(ref, cur),
    )


def _day(as_of: object) -> str | None:
    return None if as_of is None else pd.Timestamp(as_of).strftime("%Y-%m-%d")


def _window_scores(values: pd.Series, window: int, starts: np.ndarray, memory: int, config: DriftConfig, column: str,
                   ticker: str | None, when: str | None) -> np.ndarray:
    """The column's calibration scores; refuses a reference too short for its memory."""
    needed, known = values_needed(window, memory, config.min_independent_windows), int(values.notna().sum())
    if known < needed:
        raise BarDataError("drift_reference_length",
                           f"column {column!r}: {known} reference values hold fewer than "
                           f"{config.min_independent_windows} independent windows of {window} rows with a margin of "
                           f"{memory} rows (its memory) on each side; {needed} are needed", ticker, when)
    return window_scores(values.to_numpy(), window, starts, memory)


def _judged(column: str, score: float, warn_at: float, drift_at: float) -> ColumnDrift:
    score, warn_at, drift_at = float(score), float(warn_at), float(drift_at)
    return ColumnDrift(column=column, stattest=STATTEST, score=score, threshold=drift_at, warn_threshold=warn_at,
                       drifted=score > drift_at, unusual=score > warn_at)


def _numeric(frame: pd.DataFrame, columns: list[str], which: str, ticker: str | None, when: str | None) -> pd.DataFrame:
    """`frame[columns]` as float with a fresh index, infinities as NaN; errors name the rule that failed."""
    if not columns:
        raise BarDataError("drift_columns", "no columns to monitor", ticker, when)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BarDataError("drift_columns", f"{which} window lacks columns {missing}", ticker, when)
    try:
        out = frame[columns].astype(float).replace([np.inf, -np.inf], np.nan).reset_index(drop=True)
    except (TypeError, ValueError) as error:
        raise BarDataError("drift_numeric", f"{which} window has non-numeric columns: {error}", ticker, when) from error
    empty = [c for c in columns if out[c].notna().sum() == 0]
    if empty:
        raise BarDataError("drift_columns", f"{which} window has no values in columns {empty}", ticker, when)
    return out


def _aligned(values: Sequence[float] | np.ndarray, frame: pd.DataFrame, which: str, ticker: str | None,
             when: str | None) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if len(array) != len(frame):
        raise BarDataError("drift_predictions", f"{len(array)} {which} predictions for {len(frame)} {which} rows",
                           ticker, when)
    return array
