"""The configurations a strategy is chosen among: threshold settings, and their return matrix for PBO by CSCV.

The matrix fed to `probability_of_backtest_overfitting` is T x N: one column per (probability
source, threshold setting), each the per-bar returns of `run_backtest` with the strategy's own
fills, sizing, costs and stops; one row per bar after the first date on which every source has a
probability, to the last bar given. A source without a probability on some later date is flat there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from financial_assets.backtest.config import BacktestConfig
from financial_assets.backtest.engine import run_backtest
from financial_assets.backtest.overfitting import probability_of_backtest_overfitting


def threshold_settings(config: BacktestConfig, uppers: Sequence[float]) -> list[BacktestConfig]:
    """`config` first, then one setting per grid value u: long above u, short below 1 - u (long_short only)."""
    settings, seen = [], set()
    for candidate in (config, *(replace(config, upper=u, lower=round(1.0 - u, 12)) for u in uppers)):
        key = (candidate.upper, candidate.lower if candidate.mode == "long_short" else None)
        if key not in seen:
            seen.add(key)
            settings.append(candidate)
    return settings


def return_matrix(bars: pd.DataFrame, sources: Mapping[str, pd.Series],
                  settings: Sequence[BacktestConfig]) -> pd.DataFrame:
    """Per-bar returns of every source x setting (columns), on the bars after the first date every source predicts."""
    start = max(p.dropna().index.min() for p in sources.values())
    traded = bars.loc[pd.to_datetime(bars["date"]) >= start].reset_index(drop=True)
    columns = {}
    for name, probability in sources.items():
        known = probability.loc[probability.index >= start]
        for config in settings:
            returns = run_backtest(traded, known, config)["returns"].to_numpy()
            columns[f"{name} {config.upper:g}/{config.lower:g}"] = returns[1:]  # the first bar holds nothing yet
    return pd.DataFrame(columns, index=pd.DatetimeIndex(traded["date"].iloc[1:]))


def overfitting_probability(matrix: pd.DataFrame, max_blocks: int) -> float:
    """PBO of the matrix with the most CSCV blocks up to `max_blocks` that it can fill (even, two rows each)."""
    blocks = min(max_blocks, len(matrix) // 2) // 2 * 2
    if matrix.shape[1] < 2 or blocks < 2:
        return math.nan
    return probability_of_backtest_overfitting(matrix.to_numpy(), blocks)
