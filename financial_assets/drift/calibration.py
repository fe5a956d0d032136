"""What a drift-free window looks like, learned from the reference's own windows of consecutive rows.

Each column is scored with Evidently's normed Wasserstein distance (`stattest_score`, the function its
ValueDrift metric runs). Its drift-free distribution comes from up to `max_windows` windows of the
reference, each scored against the reference *without the window and `memory` rows on either side*: a
feature built over `memory` bars shares its information with its neighbours, so a window scored
against a reference that still holds them looks closer to it than a later window does (measured on a
200-bar moving average of noise, 3,000 reference rows: 7.5% of later 20-row windows beyond the 95%
quantile calibrated without the margin, 5.4% with it; `test_drift_stattest.py`).
`window_scores` computes all those scores at once, exactly (equal to Evidently's function on each
window with the rows deleted, to rounding; see the tests), because one call per window costs about
0.1 ms and a report needs tens of thousands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Evidently's name of the test every column is scored with
STATTEST = "wasserstein"
#: Evidently floors the reference's standard deviation at this value when it norms the distance
NORM_FLOOR = 0.001


def stattest_score(name: str, reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently's score of stattest `name` for one column (NaNs dropped)."""
    # Evidently takes 1.5 s to import: only a process that scores drift pays it, not every run that loads the graph
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    ref, cur = pd.Series(reference).dropna(), pd.Series(current).dropna()
    test = get_stattest(ref, cur, ColumnType.Numerical, name)
    return float(test(ref, cur, ColumnType.Numerical, None).drift_score)


def window_starts(rows: int, window: int, max_windows: int) -> np.ndarray:
    """First rows of up to `max_windows` windows of `window` rows, evenly spread over `rows` rows."""
    if rows < window:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, rows - window, min(rows - window + 1, max_windows)).round().astype(np.int64))


def values_needed(window: int, memory: int, min_independent_windows: int) -> int:
    """Fewest reference values that hold `min_independent_windows` windows apart by their memory margins."""
    return min_independent_windows * (window + 2 * memory)


def window_scores(values: np.ndarray, window: int, starts: np.ndarray, memory: int) -> np.ndarray:
    """Normed Wasserstein distance of each window `values[s:s+window]` to the values outside `[s - margin, s + window +
    margin)`.

    `margin` is `memory`, capped at a quarter of the rows so that most of the reference stays. NaNs are
    left out of both sides (a window of fewer than one value scores NaN). The distance between the
    window's and the rest's empirical distribution functions is integrated piecewise over the sorted
    values: between two consecutive values of the block taken out (window and margins), both functions
    are constant, so the integral over that stretch is a difference of two prefix sums.
    """
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    x = values[present]
    n, rows = len(x), len(values)
    margin = min(int(memory), max(0, (rows - window) // 4))
    at = np.r_[0, np.cumsum(present)]  # position in x of the first present value at or after each row
    starts = np.asarray(starts, dtype=np.int64)
    win_lo, win_hi = at[starts], at[np.minimum(starts + window, rows)]
    lo, hi = at[np.maximum(starts - margin, 0)], at[np.minimum(starts + window + margin, rows)]
    kept = n - (hi - lo)
    usable = (win_hi > win_lo) & (kept > 0)
    scores = np.full(len(starts), np.nan)
    if not usable.any() or n < 2:
        return scores
    win_lo, win_hi, lo, hi, kept = win_lo[usable], win_hi[usable], lo[usable], hi[usable], kept[usable]

    order = np.argsort(x, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    gaps = np.diff(x[order])  # gap i lies between sorted values i and i + 1
    sum0 = np.r_[0.0, np.cumsum(gaps)]
    sum1 = np.r_[0.0, np.cumsum(np.arange(1, n) * gaps)]

    width = int((hi - lo).max())
    row = lo[:, None] + np.arange(width)[None, :]
    inside = row < hi[:, None]
    ranks = np.where(inside, rank[np.minimum(row, n - 1)], n - 1)  # padding sorts last and opens no gap
    in_window = inside & (row >= win_lo[:, None]) & (row < win_hi[:, None])
    by_rank = np.argsort(ranks, axis=1, kind="stable")
    ranks = np.take_along_axis(ranks, by_rank, axis=1)
    taken = np.cumsum(np.take_along_axis(inside, by_rank, axis=1), axis=1)
    window_cdf = np.cumsum(np.take_along_axis(in_window, by_rank, axis=1), axis=1) / (win_hi - win_lo)[:, None]

    zero = np.zeros((len(kept), 1))
    first = np.concatenate([zero.astype(np.int64), ranks], axis=1)  # stretches of gaps [first, last)
    last = np.concatenate([ranks, np.full_like(zero, n - 1, dtype=np.int64)], axis=1)
    taken = np.concatenate([zero, taken], axis=1)
    window_cdf = np.concatenate([zero, window_cdf], axis=1)
    rest = kept[:, None].astype(float)
    # on gap i of a stretch: rest CDF - window CDF = (i + 1 - taken) / rest - window_cdf, zero at i = cross
    cross = np.clip(np.ceil(taken + window_cdf * rest - 1.0), first, last).astype(np.int64)
    slope, offset = 1.0 / rest, -taken / rest - window_cdf

    def integral(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return slope * (sum1[b] - sum1[a]) + offset * (sum0[b] - sum0[a])

    distance = (integral(cross, last) - integral(first, cross)).sum(axis=1)
    centred = x - x.mean()
    s1, s2 = np.r_[0.0, np.cumsum(centred)], np.r_[0.0, np.cumsum(centred * centred)]
    mean = (s1[-1] - (s1[hi] - s1[lo])) / kept
    spread = np.sqrt(np.maximum((s2[-1] - (s2[hi] - s2[lo])) / kept - mean**2, 0.0))
    scores[usable] = distance / np.maximum(spread, NORM_FLOOR)
    return scores
