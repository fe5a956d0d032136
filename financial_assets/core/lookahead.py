"""The look-ahead guard: a value at date D may not change when bars after D change.

Used by the tests of every feature and SQL model, and by anyone adding a feature: perturb every bar
strictly after a cut date, recompute, and report any value at or before the cut that moved.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from financial_assets.core.bars import PRICE_COLUMNS


def perturb_after(bars: pd.DataFrame, cut: pd.Timestamp, seed: int) -> pd.DataFrame:
    """A copy of `bars` whose rows after `cut` get new, still consistent OHLCV values."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    later = out["date"] > cut
    n = int(later.sum())
    if n == 0:
        return out
    scale = np.exp(rng.normal(0.0, 0.05, size=n))
    for column in PRICE_COLUMNS:
        out.loc[later, column] = out.loc[later, column].to_numpy() * scale
    # widen the range so high/low still bound open and close after scaling
    out.loc[later, "high"] = out.loc[later, list(PRICE_COLUMNS)].max(axis=1) * (1 + rng.uniform(0, 0.02, n))
    out.loc[later, "low"] = out.loc[later, list(PRICE_COLUMNS)].min(axis=1) * (1 - rng.uniform(0, 0.02, n))
    if "volume" in out.columns:
        out.loc[later, "volume"] = out.loc[later, "volume"].to_numpy() * rng.uniform(0.2, 5.0, n)
    return out


def lookahead_violations(
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    bars: pd.DataFrame,
    cut: pd.Timestamp,
    seed: int = 0,
    atol: float = 1e-12,
    keys: tuple[str, ...] = ("date",),
) -> list[str]:
    """Columns of `compute(bars)` whose values at or before `cut` change when later bars change.

    `compute` returns a frame with the `keys` columns (at least `date`) and value columns.
    An empty list means no look-ahead was detected for this series and cut.
    """
    before = compute(bars)
    after = compute(perturb_after(bars, cut, seed))
    mask_b = before["date"] <= cut
    mask_a = after["date"] <= cut
    left = before[mask_b].sort_values(list(keys)).reset_index(drop=True)
    right = after[mask_a].sort_values(list(keys)).reset_index(drop=True)
    if len(left) != len(right) or not left[list(keys)].equals(right[list(keys)]):
        return ["<rows at or before the cut differ>"]
    bad = []
    for column in left.columns:
        if column in keys:
            continue
        a, b = left[column], right[column]
        if a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same_nan = np.isnan(x) == np.isnan(y)
            close = np.isclose(x, y, rtol=0.0, atol=atol) | (np.isnan(x) & np.isnan(y))
            if not (same_nan.all() and close.all()):
                bad.append(column)
        elif not a.equals(b):
            bad.append(column)
    return bad
