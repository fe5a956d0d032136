"""Random but consistent OHLCV series for property tests, and bar files with a planted edge for end-to-end tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from financial_assets.sources import SyntheticSource


def random_bars(n: int, seed: int, start: str = "2010-01-04", ticker: str | None = None) -> pd.DataFrame:
    """`n` weekday bars of a random walk with consistent OHLC and positive volume."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    frame = pd.DataFrame({"date": pd.bdate_range(start, periods=n), "open": open_, "high": high, "low": low,
                          "close": close, "volume": rng.uniform(1e5, 1e6, n).round()})
    if ticker is not None:
        frame.insert(0, "ticker", ticker)
    return frame


def planted_edge_files(folder: Path, tickers: Sequence[str], start: str, end: str, phi: float = -0.25,
                       seed: int = 7) -> Path:
    """`<TICKER>.csv` files of bars on the XNYS sessions from `start` to `end` whose returns carry a planted
    mean-reverting edge (AR(1) with `phi`, constant volatility, no drift: the synthetic source's), one independent
    series per ticker, so that a model finds the edge, passes the promotion gate and serves."""
    source = SyntheticSource(n_tickers=len(tickers), seed=seed, start=start, end=end, mu=0.0, alpha=0.0, beta=0.0,
                             ar1=phi)
    folder.mkdir(parents=True, exist_ok=True)
    for number, ticker in enumerate(tickers):
        source.load(f"SYN{number:03d}").drop(columns=["ticker", "source_row"]).to_csv(folder / f"{ticker}.csv",
                                                                                     index=False)
    return folder
