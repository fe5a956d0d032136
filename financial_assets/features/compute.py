"""Computing registry features from split-adjusted bars, TA-Lib for every classic indicator.

Each value at row i uses rows <= i only. Recursive indicators (EMA, RSI, ADX, OBV, MACD) are seeded
at the first bar passed in: callers pass a ticker's whole history so a value never depends on
where a run's batch started.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import pandas as pd
from talib import _ta_lib as talib  # the C functions, without the pandas/polars dispatch wrapper

from financial_assets.features.registry import FEATURE_REGISTRY, resolve_feature_names
from financial_assets.trading_calendar import trading_days_to_month_end

LN2 = np.log(2.0)


class _Bars:
    """One ticker's arrays with the intermediates several features share, computed on demand."""

    def __init__(self, dates: np.ndarray, ohlcv: np.ndarray, calendar_code: str):
        self.dates = pd.DatetimeIndex(dates)
        self.o, self.h, self.l, self.c, self.v = ohlcv
        self.calendar_code = calendar_code

    @cached_property
    def log_ret(self) -> np.ndarray:
        out = np.full_like(self.c, np.nan)
        out[1:] = np.diff(np.log(self.c))
        return out

    def ret(self, n: int) -> np.ndarray:
        out = np.full_like(self.c, np.nan)
        out[n:] = np.log(self.c[n:] / self.c[:-n])
        return out

    def lag(self, k: int) -> np.ndarray:
        out = np.full_like(self.c, np.nan)
        out[k:] = self.log_ret[:-k]
        return out

    @cached_property
    def macd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return talib.MACD(self.c, 12, 26, 9)

    @cached_property
    def stoch(self) -> tuple[np.ndarray, np.ndarray]:
        return talib.STOCH(self.h, self.l, self.c, 14, 3, 0, 3, 0)

    @cached_property
    def bbands(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return talib.BBANDS(self.c, 20, 2.0, 2.0, 0)

    def rv(self, n: int) -> np.ndarray:
        return talib.STDDEV(self.log_ret, n, 1.0)

    @cached_property
    def log_hl_sq(self) -> np.ndarray:
        return np.log(self.h / self.l) ** 2

    def sma(self, n: int) -> np.ndarray:
        return self._sma_cache(n)

    def _sma_cache(self, n: int) -> np.ndarray:
        cache = self.__dict__.setdefault("_smas", {})
        if n not in cache:
            cache[n] = talib.SMA(self.c, n)
        return cache[n]

    def keltner_pos(self) -> np.ndarray:
        ema, atr = talib.EMA(self.c, 20), talib.ATR(self.h, self.l, self.c, 20)
        return (self.c - (ema - 2 * atr)) / (4 * atr)

    def cross(self, fast: int, slow: int) -> np.ndarray:
        a, b = self.sma(fast), self.sma(slow)
        return np.where(np.isnan(b), np.nan, (a > b).astype(np.float64))

    def ratio_of_sums(self, numerator: np.ndarray, n: int) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return talib.SUM(numerator, n) / talib.SUM(self.v, n)

    def money_flow_multiplier(self) -> np.ndarray:
        span = self.h - self.l
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(span > 0, ((self.c - self.l) - (self.h - self.c)) / span, 0.0)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / b


_COMPUTE: dict[str, Callable[[_Bars], np.ndarray]] = {
    "log_ret_1": lambda b: b.log_ret,
    **{f"ret_{n}": (lambda b, n=n: b.ret(n)) for n in (5, 10, 20)},
    **{f"lag_ret_{k}": (lambda b, k=k: b.lag(k)) for k in range(1, 6)},
    **{f"rsi_{n}": (lambda b, n=n: talib.RSI(b.c, n)) for n in (9, 14, 21)},
    "macd": lambda b: b.macd[0],
    "macd_signal": lambda b: b.macd[1],
    "macd_hist": lambda b: b.macd[2],
    "stoch_k": lambda b: b.stoch[0],
    "stoch_d": lambda b: b.stoch[1],
    "willr_14": lambda b: talib.WILLR(b.h, b.l, b.c, 14),
    "roc_10": lambda b: talib.ROC(b.c, 10),
    "mom_10": lambda b: talib.MOM(b.c, 10),
    "adx_14": lambda b: talib.ADX(b.h, b.l, b.c, 14),
    "cci_14": lambda b: talib.CCI(b.h, b.l, b.c, 14),
    "atr_14": lambda b: talib.ATR(b.h, b.l, b.c, 14),
    "natr_14": lambda b: talib.NATR(b.h, b.l, b.c, 14),
    "bb_upper_20": lambda b: b.bbands[0],
    "bb_middle_20": lambda b: b.bbands[1],
    "bb_lower_20": lambda b: b.bbands[2],
    "bb_pctb_20": lambda b: _safe_div(b.c - b.bbands[2], b.bbands[0] - b.bbands[2]),
    "bb_width_20": lambda b: _safe_div(b.bbands[0] - b.bbands[2], b.bbands[1]),
    "keltner_pos_20": lambda b: b.keltner_pos(),
    **{f"rv_{n}": (lambda b, n=n: b.rv(n)) for n in (5, 10, 20)},
    "parkinson_20": lambda b: np.sqrt(talib.SMA(b.log_hl_sq, 20) / (4 * LN2)),
    "garman_klass_20": lambda b: np.sqrt(np.maximum(
        talib.SMA(0.5 * b.log_hl_sq - (2 * LN2 - 1) * np.log(b.c / b.o) ** 2, 20), 0.0)),
    "vol_ratio_5_20": lambda b: _safe_div(b.rv(5), b.rv(20)),
    "obv": lambda b: talib.OBV(b.c, b.v),
    "mfi_14": lambda b: talib.MFI(b.h, b.l, b.c, b.v, 14),
    "volume_ratio_5_20": lambda b: _safe_div(talib.SMA(b.v, 5), talib.SMA(b.v, 20)),
    "vwap_dist_20": lambda b: b.c / b.ratio_of_sums((b.h + b.l + b.c) / 3 * b.v, 20) - 1,
    "cmf_20": lambda b: b.ratio_of_sums(b.money_flow_multiplier() * b.v, 20),
    **{f"sma_dist_{n}": (lambda b, n=n: b.c / b.sma(n) - 1) for n in (5, 10, 20, 50, 200)},
    **{f"ema_dist_{n}": (lambda b, n=n: b.c / talib.EMA(b.c, n) - 1) for n in (5, 10, 20, 50, 200)},
    "sma_cross_5_20": lambda b: b.cross(5, 20),
    "sma_cross_50_200": lambda b: b.cross(50, 200),
    "day_of_week": lambda b: b.dates.dayofweek.to_numpy(dtype=np.float64),
    "month": lambda b: b.dates.month.to_numpy(dtype=np.float64),
    "days_to_month_end": lambda b: trading_days_to_month_end(b.dates, b.calendar_code),
}


def computable(names: Sequence[str]) -> list[str]:
    """The names computed in Python (cross-asset features come from the SQL layer)."""
    return [n for n in names if FEATURE_REGISTRY[n].family != "cross_asset"]


OHLCV = ["open", "high", "low", "close", "volume"]


def _fill(out: np.ndarray, dates: np.ndarray, ohlcv: np.ndarray, names: list[str], calendar_code: str) -> None:
    """Write the features of one ticker (rows of `out`) from its dates and 5 x n OHLCV array."""
    state = _Bars(dates, ohlcv, calendar_code)
    for j, name in enumerate(names):
        out[:, j] = _COMPUTE[name](state)


def compute_features(bars: pd.DataFrame, names: Sequence[str] | None = None, *, calendar_code: str = "XNYS") -> pd.DataFrame:
    """Features of one ticker's bars (date, open, high, low, close, volume; sorted by date)."""
    chosen = computable(resolve_feature_names(names))
    values = np.empty((len(bars), len(chosen)), order="F")
    if len(bars):
        ohlcv = np.ascontiguousarray(bars[OHLCV].to_numpy(dtype=np.float64).T)
        _fill(values, bars["date"].to_numpy(), ohlcv, chosen, calendar_code)
    out = pd.DataFrame(values, columns=chosen)
    out.insert(0, "date", bars["date"].to_numpy())
    return out


def compute_features_panel(
    bars: pd.DataFrame, names: Sequence[str] | None = None, *, calendar_code: str = "XNYS", threads: int = 2
) -> pd.DataFrame:
    """Features of many tickers (with a `ticker` column), tickers spread over `threads` threads.

    TA-Lib's C functions release the GIL, so the threads run in parallel.
    """
    chosen = computable(resolve_feature_names(names))
    ordered = bars.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    tickers = ordered["ticker"].to_numpy()
    dates = ordered["date"].to_numpy()
    ohlcv = np.ascontiguousarray(ordered[OHLCV].to_numpy(dtype=np.float64).T)
    bounds = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1], True]) if len(ordered) else np.array([0])
    values = np.empty((len(ordered), len(chosen)), order="F")  # column writes stay contiguous

    def one(span: tuple[int, int]) -> None:
        a, b = span
        _fill(values[a:b], dates[a:b], ohlcv[:, a:b], chosen, calendar_code)

    with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:
        list(pool.map(one, zip(bounds[:-1], bounds[1:])))
    out = pd.DataFrame(values, columns=chosen, copy=False)
    out.insert(0, "date", ordered["date"].to_numpy())
    out.insert(0, "ticker", tickers)
    return out
