"""A seeded synthetic market: GBM with GARCH(1,1) volatility clustering, optional AR(1) signal and regime shift."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

import numpy as np
import pandas as pd

from financial_assets.bars import RAW_COLUMNS
from financial_assets.sources.base import between
from financial_assets.trading_calendar import trading_sessions


class SyntheticSource:
    """`n_tickers` tickers SYN000... on the calendar's sessions, reproducible from `seed`.

    Daily log returns r_t = mu + ar1 * r_{t-1} + sigma_t * z_t with GARCH(1,1) variance
    sigma_t^2 = omega + alpha * (r_{t-1} - mu)^2 + beta * sigma_{t-1}^2. After `regime_shift`
    the drift and volatility are multiplied by `shift_drift` and `shift_vol`.
    """

    name = "synthetic"

    def __init__(self, n_tickers: int = 20, seed: int = 7, calendar_code: str = "XNYS", start: str = "2000-03-01",
                 end: str | None = None, ar1: float = 0.0, regime_shift: str | None = None,
                 shift_drift: float = -1.0, shift_vol: float = 2.0, mu: float = 0.0002):
        self.n_tickers, self.seed, self.ar1, self.mu = n_tickers, seed, ar1, mu
        self.sessions = trading_sessions(calendar_code, start, end or (dt.date.today() - dt.timedelta(days=1)).isoformat())
        self.regime_shift = pd.Timestamp(regime_shift) if regime_shift else None
        self.shift_drift, self.shift_vol = shift_drift, shift_vol

    def tickers(self) -> list[str]:
        return [f"SYN{i:03d}" for i in range(self.n_tickers)]

    @cached_property
    def _panel(self) -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(self.seed)
        n, k = len(self.sessions), self.n_tickers
        z = rng.standard_normal((n, k))
        omega, alpha, beta = 2e-6, 0.08, 0.9
        after = np.zeros(n, dtype=bool) if self.regime_shift is None else (self.sessions >= self.regime_shift)
        mu = np.where(after, self.mu * self.shift_drift, self.mu)[:, None]
        vol_scale = np.where(after, self.shift_vol, 1.0)[:, None]
        returns = np.empty((n, k))
        var = np.full(k, omega / (1 - alpha - beta))
        prev = np.zeros(k)
        for t in range(n):  # the recursion is sequential in time but vectorised over tickers
            shock = np.sqrt(var) * z[t] * vol_scale[t]
            returns[t] = mu[t] + self.ar1 * prev + shock
            var = omega + alpha * shock**2 / vol_scale[t] ** 2 + beta * var
            prev = returns[t]
        close = 50.0 * np.exp(np.cumsum(returns, axis=0)) * rng.uniform(0.5, 2.0, k)
        open_ = np.vstack([close[:1], close[:-1]]) * np.exp(rng.normal(0, 0.002, (n, k)))
        spread = np.abs(rng.normal(0, 0.01, (n, k)))
        high = np.maximum(open_, close) * (1 + spread)
        low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, (n, k))))
        volume = np.round(rng.lognormal(13, 0.5, (n, k)))
        frames = {}
        for i, ticker in enumerate(self.tickers()):
            frames[ticker] = pd.DataFrame({
                "ticker": ticker, "date": self.sessions, "open": open_[:, i], "high": high[:, i], "low": low[:, i],
                "close": close[:, i], "volume": volume[:, i], "adj_close": close[:, i],
                "source_row": np.arange(n, dtype="int64"),
            })[list(RAW_COLUMNS)]
        return frames

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        from financial_assets.errors import BarDataError

        if ticker not in self._panel:
            raise BarDataError("file_exists", f"the synthetic market has {self.n_tickers} tickers", ticker=ticker)
        return between(self._panel[ticker], start, end)
