"""The configurations a strategy is chosen among: threshold settings, their return matrix for PBO by CSCV, and the
spread of their Sharpe ratios for the deflated Sharpe ratio.

The matrix fed to `probability_of_backtest_overfitting` is T x N: one column per (probability
source, threshold setting), each the per-bar returns of `run_backtest` with the strategy's own
fills, sizing, costs and stops; one row per bar after the first date on which every source has a
probability, to the last bar given. A source is a frame by date with the model's `probability` and
the `base_rate` its edge is measured from; without a probability on some later date it is flat there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from financial_assets.backtest.config import BacktestConfig
from financial_assets.backtest.engine import run_backtest
from financial_assets.backtest.overfitting import probability_of_backtest_overfitting


def threshold_settings(config: BacktestConfig, thresholds: Sequence[float]) -> list[BacktestConfig]:
    """`config` first, then one setting per grid value of the edge threshold, none repeated."""
    settings, seen = [], set()
    for candidate in (config, *(replace(config, threshold=float(u)) for u in thresholds)):
        if candidate.threshold not in seen:
            seen.add(candidate.threshold)
            settings.append(candidate)
    return settings


def return_matrix(bars: pd.DataFrame, sources: Mapping[str, pd.DataFrame],
                  settings: Sequence[BacktestConfig]) -> pd.DataFrame:
    """Per-bar returns of every source x setting (columns), on the bars after the first date every source predicts."""
    start = max(s["probability"].dropna().index.min() for s in sources.values())
    traded = bars.loc[pd.to_datetime(bars["date"]) >= start].reset_index(drop=True)
    columns = {}
    for name, source in sources.items():
        known = source.loc[source.index >= start]
        for config in settings:
            returns = run_backtest(traded, known["probability"], known["base_rate"], config)["returns"].to_numpy()
            columns[f"{name} {config.threshold:g}"] = returns[1:]  # the first bar holds nothing yet
    return pd.DataFrame(columns, index=pd.DatetimeIndex(traded["date"].iloc[1:]))


def configuration_sharpes(matrix: pd.DataFrame) -> np.ndarray:
    """Per-period Sharpe ratio (ddof=1) of each configuration; 0 for one that never moved (it never traded)."""
    values = matrix.to_numpy(dtype=np.float64)
    if len(values) < 2:
        return np.zeros(0)
    std = values.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, values.mean(axis=0) / std, 0.0)


def overfitting_probability(matrix: pd.DataFrame, max_blocks: int) -> float:
    """PBO of the matrix with the most CSCV blocks up to `max_blocks` that it can fill (even, two rows each)."""
    blocks = min(max_blocks, len(matrix) // 2) // 2 * 2
    if matrix.shape[1] < 2 or blocks < 2:
        return math.nan
    return probability_of_backtest_overfitting(matrix.to_numpy(), blocks)
