"""A seeded synthetic market: GBM with GARCH(1,1) volatility, an optional AR(1) signal and regime shift.

Daily log returns, per ticker i and session t:

    r_t = mu_t + ar1 * (r_{t-1} - mu_{t-1}) + s_t * sigma_t * z_t
    sigma_t^2 = omega_i + alpha * (sigma_{t-1} * z_{t-1})^2 + beta * sigma_{t-1}^2

with z_t standard normal, s_t = 1 before `regime_shift` and `shift_vol` from it on, and
mu_t = mu before and `mu * shift_drift` after. Every ticker has its own random stream keyed by
(seed, ticker), drawn in time order, so a ticker's bars do not depend on how many tickers there are,
and extending `end` leaves the earlier bars unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.calendar import trading_sessions
from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker
from financial_assets.sources.base import between

# order of the normal draws of each session (part of the seed: never reorder)
_SHOCK, _GAP, _UPPER, _LOWER, _VOLUME = range(5)
_UNIFORMS = 2  # drawn first, once per ticker: start price, long-run volatility


@dataclass(frozen=True)
class _Panel:
    """Arrays of shape (tickers, sessions)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _draws(seed: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per ticker: its uniforms (k, 2) and its normals (5, k, n), from the ticker's own stream.

    Each ticker's stream yields the uniforms, then the five normals of session 0, of session 1, ...
    so bars are prefix-stable in `n` and independent of the number of tickers.
    """
    uniforms, normals = np.empty((k, _UNIFORMS)), np.empty((5, k, n))
    for i in range(k):
        rng = np.random.default_rng([seed, i])
        uniforms[i] = rng.uniform(size=_UNIFORMS)
        normals[:, i, :] = rng.standard_normal((n, 5)).T
    return uniforms, normals


def garch_returns(z: np.ndarray, mu: np.ndarray, vol_scale: np.ndarray, omega: np.ndarray, alpha: float,
                  beta: float, ar1: float) -> tuple[np.ndarray, np.ndarray]:
    """Log returns and conditional volatilities, shape (n, k); the recursion is over time, vectorised over tickers."""
    n, k = z.shape
    returns, sigmas = np.empty((n, k)), np.empty((n, k))
    var = omega / (1.0 - alpha - beta)  # start at the long-run variance
    previous_excess = np.zeros(k)
    for t in range(n):
        sigma = np.sqrt(var)
        innovation = sigma * z[t]
        returns[t] = mu[t] + ar1 * previous_excess + vol_scale[t] * innovation
        sigmas[t] = vol_scale[t] * sigma
        previous_excess = returns[t] - mu[t]
        var = omega + alpha * innovation * innovation + beta * var
    return returns, sigmas


class SyntheticSource:
    """`n_tickers` tickers SYN000, SYN001, ... on the calendar's sessions, reproducible from `seed`."""

    name = "synthetic"

    def __init__(self, n_tickers: int = 20, seed: int = 7, calendar_code: str = "XNYS", start: str = "2000-03-01",
                 end: str | None = None, ar1: float = 0.0, regime_shift: str | None = None,
                 shift_drift: float = -1.0, shift_vol: float = 2.0, mu: float = 0.0003,
                 alpha: float = 0.08, beta: float = 0.90):
        if not -1.0 < ar1 < 1.0 or alpha < 0 or beta < 0 or alpha + beta >= 1.0 or n_tickers < 0:
            raise ValueError("need |ar1| < 1, alpha, beta >= 0, alpha + beta < 1 and n_tickers >= 0")
        self.n_tickers, self.seed, self.ar1, self.mu, self.alpha, self.beta = n_tickers, seed, ar1, mu, alpha, beta
        last = end or (dt.date.today() - dt.timedelta(days=1)).isoformat()  # no bar for a session not yet closed
        self.sessions = trading_sessions(calendar_code, start, last)
        self.regime_shift = pd.Timestamp(regime_shift) if regime_shift else None
        self.shift_drift, self.shift_vol = shift_drift, shift_vol

    def tickers(self) -> list[str]:
        """SYN000, SYN001, ... one per synthetic ticker."""
        return [f"SYN{i:03d}" for i in range(self.n_tickers)]

    @property
    def default_benchmark(self) -> str | None:
        """The first synthetic ticker stands for the market."""
        return "SYN000" if self.n_tickers else None

    @cached_property
    def _panel(self) -> _Panel:
        n, k = len(self.sessions), self.n_tickers
        uniforms, z = _draws(self.seed, k, n)
        start_price = 20.0 * np.exp(2.0 * uniforms[:, 0])  # 20 .. 150
        daily_vol = 0.01 + 0.02 * uniforms[:, 1]  # long-run volatility 1% .. 3% a day
        omega = daily_vol**2 * (1.0 - self.alpha - self.beta)
        after = np.zeros(n, dtype=bool) if self.regime_shift is None else np.asarray(self.sessions >= self.regime_shift)
        mu = np.where(after, self.mu * self.shift_drift, self.mu)
        vol_scale = np.where(after, self.shift_vol, 1.0)
        returns, sigma = garch_returns(np.ascontiguousarray(z[_SHOCK].T), np.repeat(mu[:, None], k, axis=1),
                                       vol_scale, omega, self.alpha, self.beta, self.ar1)
        returns, sigma = returns.T, sigma.T  # (k, n) from here on

        close = start_price[:, None] * np.exp(np.cumsum(returns, axis=1))
        previous_close = np.hstack([start_price[:, None], close[:, :-1]])
        open_ = previous_close * np.exp(0.3 * sigma * z[_GAP])  # overnight gap
        high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(z[_UPPER]))
        low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(z[_LOWER]))
        surprise = np.abs(returns - mu) / sigma  # volume rises on big moves
        volume = np.maximum(1.0, np.round(1e6 * np.exp(0.3 * surprise + 0.4 * z[_VOLUME])))
        return _Panel(open_, high, low, close, volume)

    @cached_property
    def _dates(self) -> np.ndarray:
        return self.sessions.to_numpy(dtype="datetime64[ns]")

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        """The ticker's simulated bars from `start` to `end`, the same for the same seed."""
        ticker = normalize_ticker(ticker)
        number = int(ticker[3:]) if ticker[:3] == "SYN" and ticker[3:].isdigit() else -1
        if not 0 <= number < self.n_tickers or ticker != f"SYN{number:03d}":
            raise BarDataError("ticker_in_source", f"the synthetic market has SYN000..SYN{self.n_tickers - 1:03d}",
                               ticker=ticker)
        p, i = self._panel, number
        bars = pd.DataFrame({
            "ticker": np.full(len(self._dates), ticker, dtype=object), "date": self._dates, "open": p.open[i],
            "high": p.high[i], "low": p.low[i], "close": p.close[i], "volume": p.volume[i], "adj_close": p.close[i],
            "source_row": np.arange(len(self._dates), dtype="int64"),
        }, columns=list(RAW_COLUMNS))
        return bars if start is None and end is None else between(bars, start, end)
