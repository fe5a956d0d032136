"""Seeded training tables for the model tests: random walks and planted AR(1) edges through the real feature and
label code, and a bare AR(1) table built with numpy."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from financial_assets.features import compute_features_panel
from financial_assets.labels.compute import compute_labels
from financial_assets.models.honesty import ar1_bars
from financial_assets_tests.synthetic_bars import random_bars


def _training_table(bars: pd.DataFrame) -> pd.DataFrame:
    """The default features and every label of a multi-ticker bar frame, as the training_table joins them."""
    features = compute_features_panel(bars, threads=1)
    labels = pd.concat([compute_labels(b.reset_index(drop=True)).assign(ticker=t) for t, b in bars.groupby("ticker")],
                       ignore_index=True)
    return features.merge(labels, on=["ticker", "date"], how="left", validate="one_to_one")


@lru_cache(maxsize=32)
def _random_walk_table(n_tickers: int, n_bars: int, seed: int) -> pd.DataFrame:
    return _training_table(pd.concat([random_bars(n_bars, seed * 100 + i, ticker=f"RW{i}") for i in range(n_tickers)],
                                     ignore_index=True))


def random_walk_table(n_tickers: int = 1, n_bars: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Training table (ticker, date, default features, every label) of `n_tickers` seeded random walks."""
    return _random_walk_table(n_tickers, n_bars, seed).copy()


@lru_cache(maxsize=16)
def _planted_edge_table(phi: float, n_bars: int, seed: int, n_tickers: int) -> pd.DataFrame:
    return _training_table(pd.concat([ar1_bars(n_bars, phi, seed * 100 + i, ticker=f"AR{i}")
                                      for i in range(n_tickers)], ignore_index=True))


def planted_edge_table(phi: float, n_bars: int = 2000, seed: int = 0, n_tickers: int = 1) -> pd.DataFrame:
    """Training table (default features, every label) of `n_tickers` planted AR(1) edges with autocorrelation `phi`
    (`financial_assets.models.honesty.ar1_bars`, seeds 100 `seed` + i)."""
    return _planted_edge_table(phi, n_bars, seed, n_tickers).copy()


def ar1_table(n: int, phi: float, seed: int, ticker: str = "AR") -> pd.DataFrame:
    """Features and 1-bar labels of a Gaussian AR(1) return series r_t = phi r_{t-1} + e_t, built with numpy.

    Features at t: r_t (log_ret_1), r_{t-1..t-4} (lag_ret_k) and three pure-noise columns; labels:
    fwd_ret_1 = r_{t+1}, dir_1 = 1 if it is > 0, t1_1 the next date (NaN/NaT on the last row).
    """
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n + 100)
    r = np.empty_like(e)
    r[0] = e[0]
    for t in range(1, len(e)):
        r[t] = phi * r[t - 1] + e[t]
    r = 0.01 * r[100:]  # drop the burn-in
    dates = pd.bdate_range("2000-01-03", periods=n)
    frame = pd.DataFrame({"ticker": ticker, "date": dates, "log_ret_1": r})
    for k in range(1, 5):
        frame[f"lag_ret_{k}"] = frame["log_ret_1"].shift(k)
    for k in range(3):
        frame[f"noise_{k}"] = rng.standard_normal(n)
    forward = frame["log_ret_1"].shift(-1)
    frame["fwd_ret_1"] = forward
    frame["dir_1"] = np.where(forward.isna(), np.nan, (forward > 0).astype(float))
    frame["t1_1"] = pd.Series(dates).shift(-1)
    return frame
