"""Random but consistent OHLCV series for property tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
