"""The engine that computes registry features from split-adjusted bars; the formulas are in `indicators`.

Each value at row i uses rows <= i only. Recursive TA-Lib indicators (EMA, RSI, ADX, OBV, MACD, ATR)
are seeded at the first bar passed in: callers pass a ticker's whole history from its first bar, so
a value never depends on where a run's batch started. TA-Lib runs once per ticker, so a ticker's
values never depend on the other tickers of a panel.

For speed, a panel is cut into chunks of whole tickers (`CHUNK_ROWS`), run on a `ThreadPoolExecutor`:
inside a chunk, TA-Lib is called per ticker (its C code releases the GIL) and every pure formula runs
once over the whole chunk in numpy, in place (see `chunk.Chunk`). Every chunk writes its own rows of
the output array.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import pandas as pd

from financial_assets.features.chunk import Chunk, Run
from financial_assets.features.registry import FEATURE_REGISTRY, resolve_feature_names

OHLCV = ["open", "high", "low", "close", "volume"]
#: rows per chunk of whole tickers: numpy's per-call cost vanishes, a chunk's rows stay in cache,
#: and the threads share the work evenly
CHUNK_ROWS = 32_768


def computable(names: Sequence[str]) -> list[str]:
    """The names computed in Python (cross-asset features come from the SQL layer)."""
    return [n for n in names if FEATURE_REGISTRY[n].fill is not None]


def _chunks(starts: np.ndarray, n: int, rows: int) -> list[tuple[int, int, np.ndarray]]:
    """Group consecutive tickers (first rows `starts`) into chunks (lo, hi, starts) of about `rows` rows."""
    out, first = [], 0
    ends = np.append(starts[1:], n)
    for i in range(len(starts)):
        if ends[i] - starts[first] >= rows or i == len(starts) - 1:
            out.append((int(starts[first]), int(ends[i]), starts[first:i + 1]))
            first = i + 1
    return out


def _compute(ohlcv: list[np.ndarray], dates: np.ndarray, starts: np.ndarray, names: list[str],
             calendar_code: str, threads: int) -> np.ndarray:
    """The (rows x features) float64 array, Fortran-ordered so each feature's column is contiguous."""
    n = len(dates)
    values = np.empty((n, len(names)), order="F")
    if n == 0 or not names:
        return values
    fills = [FEATURE_REGISTRY[name].fill for name in names]
    chunks = _chunks(starts, n, CHUNK_ROWS)
    whole = Run(dates, calendar_code)

    def compute_chunk(chunk_rows: tuple[int, int, np.ndarray]) -> None:
        lo, hi, first_rows = chunk_rows
        bounds = [int(s) - lo for s in first_rows] + [hi - lo]
        chunk = Chunk([x[lo:hi] for x in ohlcv], dates[lo:hi], list(pairwise(bounds)), whole)
        with np.errstate(divide="ignore", invalid="ignore"):
            for j, fill in enumerate(fills):
                fill(chunk, values[lo:hi, j])

    if threads <= 1:
        for chunk_rows in chunks:
            compute_chunk(chunk_rows)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(compute_chunk, chunks))
    return values


def _arrays(bars: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
    """Contiguous float64 OHLCV arrays (views where the frame allows) and datetime64[ns] dates."""
    ohlcv = [np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64)) for k in OHLCV]
    dates = np.ascontiguousarray(bars["date"].to_numpy(dtype="datetime64[ns]"))
    if np.isnat(dates).any():
        raise ValueError("bars have a missing date")
    return ohlcv, dates


def compute_features(bars: pd.DataFrame, names: Sequence[str] | None = None, *,
                     calendar_code: str = "XNYS") -> pd.DataFrame:
    """Features of one ticker's bars: `date` plus one float64 column per requested feature.

    `bars` has date (datetime64[ns]), open, high, low, close, volume (float64, split-adjusted, no NaN),
    sorted by date, and starts at the ticker's first bar: recursive TA-Lib indicators (EMA, RSI, ADX,
    OBV, MACD, ATR) are seeded at the first row passed in. `names` defaults to the registry's default
    set; cross-asset names are skipped (the SQL layer computes them). Same rows in the same order
    (fresh RangeIndex); warm-up rows are NaN; the value at row i uses rows <= i only.
    `calendar_code` is the exchange calendar of `days_to_month_end`.
    """
    chosen = computable(resolve_feature_names(names))
    ohlcv, dates = _arrays(bars)
    if (np.diff(dates.view(np.int64)) < 0).any():
        raise ValueError("bars must be sorted by date")
    values = _compute(ohlcv, dates, np.zeros(1, dtype=np.int64), chosen, calendar_code, threads=1)
    out = pd.DataFrame(values, columns=chosen, copy=False)
    out.insert(0, "date", dates)
    return out


def _ticker_order(tickers: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(row order by ticker then date, or None when already so; first row of each ticker in that order)."""
    if len(tickers) == 0:
        return None, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1]])
    firsts = tickers[starts].tolist()
    steps = np.diff(dates.view(np.int64))
    steps[starts[1:] - 1] = 0  # a ticker may start at any date
    if all(a < b for a, b in pairwise(firsts)) and (steps >= 0).all():
        return None, starts
    codes, _ = pd.factorize(tickers, sort=True)
    order = np.lexsort((dates.view(np.int64), codes))  # stable
    sorted_codes = codes[order]
    return order, np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])


def compute_features_panel(
    bars: pd.DataFrame, names: Sequence[str] | None = None, *, calendar_code: str = "XNYS", threads: int = 2
) -> pd.DataFrame:
    """Features of many tickers: `ticker`, `date` and one float64 column per requested feature.

    `bars` is `compute_features`' input plus a `ticker` column, rows in any order, each ticker's
    full history. The output is sorted by ticker then date (fresh RangeIndex), and each ticker's rows
    equal `compute_features` on that ticker's bars exactly. Groups of whole tickers run on a
    `ThreadPoolExecutor(threads)`: TA-Lib's C functions and numpy's loops release the GIL.
    """
    chosen = computable(resolve_feature_names(names))
    tickers = bars["ticker"].to_numpy()
    ohlcv, dates = _arrays(bars)
    order, starts = _ticker_order(tickers, dates)
    if order is not None:
        ohlcv, dates, tickers = [x[order] for x in ohlcv], dates[order], tickers[order]
    values = _compute(ohlcv, dates, starts, chosen, calendar_code, threads)
    out = pd.DataFrame(values, columns=chosen, copy=False)
    out.insert(0, "date", dates)
    out.insert(0, "ticker", tickers)
    return out
