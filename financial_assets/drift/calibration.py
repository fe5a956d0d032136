"""Per-column drift thresholds calibrated on the reference window's own drift-free variation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from evidently.legacy.calculations.stattests import get_stattest
from evidently.legacy.core import ColumnType

from financial_assets.core.errors import BarDataError
from financial_assets.drift.config import DriftConfig

#: Windows scored per column: enough for a 5% quantile (5 windows beyond it), few enough to stay fast.
MAX_WINDOWS = 100


def stattest_score(name: str, reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently's score of `name` for one column: the same function its ValueDrift metric runs."""
    test = get_stattest(pd.Series(reference), pd.Series(current), ColumnType.Numerical, name)
    return float(test(pd.Series(reference), pd.Series(current), ColumnType.Numerical, None).drift_score)


def calibrated_threshold(
    reference: np.ndarray,
    window: int,
    config: DriftConfig,
    *,
    column: str,
    ticker: str | None = None,
    as_of: object = None,
) -> float:
    """The score a `window`-row sample exceeds on only `false_alarm_rate` of the reference's own windows.

    Up to MAX_WINDOWS windows of `window` rows, evenly spread over the reference and overlapping by at
    most half, are each scored against the rest of the reference (the window taken out), as the current
    window is scored against the whole reference. The threshold sits one float step beyond the
    quantile, so "drift" means strictly beyond it whatever comparison (`<`, `<=`, `>`, `>=`) the
    Evidently stattest uses. NaNs must already be dropped.
    """
    alpha = config.false_alarm_rate
    stride = max(1, window // 2)
    available = (len(reference) - window) // stride + 1 if len(reference) >= window else 0
    needed = math.ceil(2 / alpha)  # at least two windows beyond the quantile
    if window < 2 or available < needed:
        raise BarDataError(
            "drift_reference_length",
            f"column {column!r}: {len(reference)} reference values give {available} calibration windows of "
            f"{window} rows; a {alpha:.0%} false-alarm rate needs {needed} (about {window + (needed - 1) * stride} "
            "values): pass a longer reference or a fixed stattest_threshold",
            ticker,
            as_of,
        )
    starts = np.unique(np.linspace(0, len(reference) - window, min(available, MAX_WINDOWS)).round().astype(int))
    scores = np.array([
        stattest_score(config.stattest, np.delete(reference, slice(s, s + window)), reference[s : s + window])
        for s in starts
    ])
    if config.score_is_p_value:
        return float(np.nextafter(np.quantile(scores, alpha), -np.inf))
    return float(np.nextafter(np.quantile(scores, 1 - alpha), np.inf))
