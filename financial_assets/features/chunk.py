"""What a feature's formula sees: a chunk of whole tickers' bars, with the steps several formulas share.

A formula is `fill(chunk, dest)`: it writes one feature for every row of the chunk into `dest`. Rows
are consecutive bars of one ticker after another (`spans`), so a formula does three kinds of work:
- per ticker, with TA-Lib: `chunk.talib(talib.SMA, "close", 20)` (recursive indicators are seeded at
  each ticker's first bar; the C code releases the GIL);
- once over the whole chunk, with numpy, in place (`chunk.new()` gives an empty row);
- `chunk.mask_head(dest, k)`: NaN in each ticker's first k rows, where a shift or a window of the
  chunk-wide arrays reaches into the previous ticker.
`chunk.shared(fn, *args)` computes an intermediate once per chunk for every formula that asks, and
`chunk.run.shared(fn)` once for the whole computation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


class Run:
    """What every chunk of one computation shares: all its `dates`, its `calendar_code`, and values
    computed once for all chunks (a lookup table by day, say) with `shared`."""

    def __init__(self, dates: np.ndarray, calendar_code: str):
        self.dates = dates
        self.calendar_code = calendar_code
        self._memo: dict[Callable[[Run], Any], Any] = {}
        self._lock = threading.Lock()

    def shared(self, fn: Callable[[Run], Any]) -> Any:
        """`fn(self)`, computed once per run, whichever thread asks first."""
        with self._lock:
            if fn not in self._memo:
                self._memo[fn] = fn(self)
            return self._memo[fn]


class Chunk:
    """Contiguous rows of whole tickers: the bars, the dates, and memoised intermediates.

    `open`, `high`, `low`, `close`, `volume` are float64 rows; `dates` datetime64[ns]; `spans` the
    (start, stop) rows of each ticker; `run` what all the chunks of the computation share.
    """

    def __init__(self, ohlcv: list[np.ndarray], dates: np.ndarray, spans: list[tuple[int, int]], run: Run):
        self.open, self.high, self.low, self.close, self.volume = ohlcv
        self.dates = dates
        self.n = len(dates)
        self.spans = spans
        self.run = run
        self._memo: dict[Hashable, Any] = {}

    def new(self) -> np.ndarray:
        """An uninitialised float64 row of the chunk's length, for an intermediate."""
        return np.empty(self.n)

    def shared(self, fn: Callable[..., Any], *args: Hashable) -> Any:
        """`fn(self, *args)`, computed once per chunk."""
        key = (fn, args)
        if key not in self._memo:
            self._memo[key] = fn(self, *args)
        return self._memo[key]

    def mask_head(self, dest: np.ndarray, k: int) -> None:
        """NaN in each ticker's first `k` rows (where a shift or window reaches into the previous ticker)."""
        for a, b in self.spans:
            dest[a:min(a + k, b)] = np.nan

    def talib(self, fn: Callable[..., Any], *args: str | float, out: np.ndarray | None = None) -> Any:
        """`fn` called on each ticker's rows, once per chunk: an array, or a tuple for several outputs.

        `args` are bar columns ("close") or the function's parameters. `out`, for a function with one
        output, receives the result (and becomes the shared copy) instead of a scratch row.
        """
        key = (fn, args)
        if key in self._memo:
            if out is not None:
                np.copyto(out, self._memo[key])
            return self._memo[key]
        arrays = [getattr(self, x) for x in args if isinstance(x, str)]  # TA-Lib takes its arrays first
        params = [x for x in args if not isinstance(x, str)]
        outs: list[np.ndarray] = []
        for a, b in self.spans:
            result = fn(*[x[a:b] for x in arrays], *params)
            results = result if isinstance(result, tuple) else (result,)
            if not outs:
                if out is not None and len(results) > 1:
                    raise ValueError(f"talib.{fn.__name__} has {len(results)} outputs: pass no `out`")
                outs = [self.new() for _ in results] if out is None else [out]
            for o, r in zip(outs, results, strict=True):
                o[a:b] = r
        self._memo[key] = tuple(outs) if len(outs) > 1 else outs[0]
        return self._memo[key]

    def window_sum(self, series: Callable[[Chunk], np.ndarray], n: int) -> np.ndarray:
        """Sum of the last n values of `series(chunk)` at every row (NaN where the chunk has < n rows).

        Built from power-of-two partial sums (S2 = S1 + S1 shifted by 1, then S4, S8, S16; S20 =
        S16 + S4 shifted by 16), so each value is a fixed-order sum of exactly its own window: no
        running total carries rounding from earlier rows or from the previous ticker. Windows that
        reach into the previous ticker are masked by the caller (or are NaN through a log return).
        """
        if not 0 < n < 32:
            raise ValueError(f"window_sum covers windows of 1 to 31 rows, not {n}")
        return self.shared(_window_sum, series, n)


def _window_sum(ch: Chunk, series: Callable[[Chunk], np.ndarray], n: int) -> np.ndarray:
    result, offset = None, 0
    for bit in (16, 8, 4, 2, 1):
        if n & bit:
            block = ch.shared(_power_sum, series, bit)
            if result is None:
                result = ch.new()
                np.copyto(result, block)
            else:
                result[:offset] = np.nan
                np.add(result[offset:], block[:max(ch.n - offset, 0)], out=result[offset:])
            offset += bit
    return result


def _power_sum(ch: Chunk, series: Callable[[Chunk], np.ndarray], width: int) -> np.ndarray:
    """S_width of `series`: S_2k[i] = S_k[i] + S_k[i - k]."""
    if width == 1:
        return ch.shared(series)
    k = width // 2
    half = ch.shared(_power_sum, series, k)
    out = ch.new()
    out[:k] = np.nan
    np.add(half[k:], half[:max(ch.n - k, 0)], out=out[k:])
    return out
