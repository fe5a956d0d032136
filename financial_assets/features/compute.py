"""Computing registry features from split-adjusted bars, TA-Lib for every classic indicator.

Each value at row i uses rows <= i only. Recursive TA-Lib indicators (EMA, RSI, ADX, OBV, MACD, ATR)
are seeded at the first bar passed in: callers pass a ticker's whole history from its first bar, so
a value never depends on where a run's batch started. TA-Lib runs once per ticker, so a ticker's
values never depend on the other tickers of a panel.

Layout, for speed: a panel is cut into chunks of whole tickers, run on a `ThreadPoolExecutor`.
Inside a chunk, TA-Lib is called per ticker (its C code releases the GIL) and every pure formula
(logs, shifts, rolling window sums, ratios, square roots) runs once over the whole chunk in numpy,
in place, on scratch rows that each thread reuses from chunk to chunk. Rows where a shift or a
window would reach into the previous ticker are set to NaN (they are warm-up rows). A chunk's
TA-Lib features and its numpy features are separate jobs, which the threads take so that at most
one of them makes short TA-Lib calls at a time while the other has numpy work (see `_compute`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import pandas as pd
from talib import _ta_lib as talib  # the C functions, without the pandas/polars dispatch wrapper

from financial_assets.features.registry import FEATURE_REGISTRY, resolve_feature_names
from financial_assets.core.calendar import trading_days_to_month_end

OHLCV = ["open", "high", "low", "close", "volume"]
LN2 = np.log(2.0)
#: rows per chunk of whole tickers: numpy's per-call cost vanishes, a chunk's rows stay in cache,
#: and the threads share the work evenly
CHUNK_ROWS = 32_768
#: scratch rows are allocated this many at a time (16 x 32,768 float64 = 4 MiB: numpy asks for huge pages)
_SCRATCH_BLOCK = 16
_NS_PER_DAY = 86_400 * 10**9
_BANDS = ("bb_upper_20", "bb_middle_20", "bb_lower_20", "bb_pctb_20", "bb_width_20")

Fill = Callable[["_Chunk", np.ndarray], None]


def computable(names: Sequence[str]) -> list[str]:
    """The names computed in Python (cross-asset features come from the SQL layer)."""
    return [n for n in names if FEATURE_REGISTRY[n].family != "cross_asset"]


class _Scratch:
    """Float64 rows for one thread's chunk intermediates, handed out in order and reused per chunk.

    Fresh 256 KiB arrays per intermediate would be returned to the OS and page-faulted back in on
    every chunk; a handful of large blocks are faulted in once.
    """

    def __init__(self, width: int):
        self.width = width
        self.blocks: list[np.ndarray] = []
        self.used = 0

    def take(self, n: int) -> np.ndarray:
        block, row = divmod(self.used, _SCRATCH_BLOCK)
        if block == len(self.blocks):
            self.blocks.append(np.empty((_SCRATCH_BLOCK, self.width)))
        self.used += 1
        return self.blocks[block][row, :n]


class _CalendarTable:
    """Calendar features for every day from the first date to the last, looked up by day number."""

    def __init__(self, days: np.ndarray, calendar_code: str):
        self.first = int(days.min())
        every_day = (self.first + np.arange(int(days.max()) - self.first + 1)).astype("datetime64[D]")
        index = pd.DatetimeIndex(every_day.astype("datetime64[ns]"))
        self.table = {
            "day_of_week": index.dayofweek.to_numpy(dtype=np.float64),
            "month": index.month.to_numpy(dtype=np.float64),
            "days_to_month_end": trading_days_to_month_end(index, calendar_code),
        }
        self.offsets = days - self.first  # row -> table position


class _Chunk:
    """Contiguous rows of whole tickers, with the intermediates that several features share.

    `spans` are the (start, stop) rows of each ticker inside the chunk. Per-ticker TA-Lib results
    are assembled into chunk-wide rows; everything else is chunk-wide numpy.
    """

    def __init__(self, ohlcv: Sequence[np.ndarray], spans: list[tuple[int, int]], names: Sequence[str],
                 scratch: _Scratch, calendar: _CalendarTable | None, rows: slice):
        self.o, self.h, self.l, self.c, self.v = ohlcv
        self.n = len(self.c)
        self.spans = spans
        self.scratch = scratch
        self.calendar = calendar
        self.rows = rows
        self._memo: dict[tuple, np.ndarray | tuple[np.ndarray, ...]] = {}
        # BBANDS' middle band is talib.SMA(close, 20) bit for bit (tested): share it when both are wanted
        self.bands_give_sma20 = any(n in _BANDS for n in names)

    def new(self) -> np.ndarray:
        """An uninitialised float64 row of the chunk's length."""
        return self.scratch.take(self.n)

    def memo(self, key: tuple, make: Callable[[], np.ndarray | tuple[np.ndarray, ...]]):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # -- per-ticker TA-Lib -------------------------------------------------------------------------
    def each(self, fn: Callable, inputs: Sequence[np.ndarray], outs: Sequence[np.ndarray]) -> None:
        """Call `fn` on every ticker's slice of `inputs`, writing its output(s) into `outs`."""
        if len(outs) == 1:
            out = outs[0]
            for a, b in self.spans:
                out[a:b] = fn(*[x[a:b] for x in inputs])
        else:
            for a, b in self.spans:
                for o, r in zip(outs, fn(*[x[a:b] for x in inputs])):
                    o[a:b] = r

    def ta(self, key: tuple, fn: Callable, inputs: Sequence[np.ndarray], n_out: int = 1):
        """A per-ticker TA-Lib result over the chunk, computed once per key."""
        def make():
            outs = [self.new() for _ in range(n_out)]
            self.each(fn, inputs, outs)
            return outs[0] if n_out == 1 else tuple(outs)
        return self.memo(key, make)

    def mask_head(self, dest: np.ndarray, k: int) -> None:
        """NaN in each ticker's first `k` rows (where a shift or window reaches into the previous ticker)."""
        for a, b in self.spans:
            dest[a:min(a + k, b)] = np.nan

    @cached_property
    def stoch(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ta(("stoch",), lambda h, l, c: talib.STOCH(h, l, c, 14, 3, 0, 3, 0), (self.h, self.l, self.c), 2)

    @cached_property
    def macd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ta(("macd",), lambda c: talib.MACD(c, 12, 26, 9), (self.c,), 3)

    @cached_property
    def bbands(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ta(("bbands",), lambda c: talib.BBANDS(c, 20, 2.0, 2.0, 0), (self.c,), 3)

    @cached_property
    def band_span(self) -> np.ndarray:
        return np.subtract(self.bbands[0], self.bbands[2], out=self.new())

    def sma(self, n: int) -> np.ndarray:
        if n == 20 and self.bands_give_sma20:
            return self.bbands[1]
        return self.ta(("sma", n), lambda c: talib.SMA(c, n), (self.c,))

    def ema(self, n: int) -> np.ndarray:
        return self.ta(("ema", n), lambda c: talib.EMA(c, n), (self.c,))

    # -- chunk-wide series ---------------------------------------------------------------------------
    @cached_property
    def log_close(self) -> np.ndarray:
        return np.log(self.c, out=self.new())

    @cached_property
    def log_ret(self) -> np.ndarray:
        out = self.new()
        out[0] = np.nan
        np.subtract(self.log_close[1:], self.log_close[:-1], out=out[1:])
        self.mask_head(out, 1)
        return out

    @cached_property
    def log_ret_sq(self) -> np.ndarray:
        return np.square(self.log_ret, out=self.new())

    @cached_property
    def log_hl_sq(self) -> np.ndarray:
        x = np.divide(self.h, self.l, out=self.new())
        np.log(x, out=x)
        return np.square(x, out=x)

    @cached_property
    def gk_term(self) -> np.ndarray:
        """0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2, as 0.5 (ln(H/L)^2 - 2 (2 ln 2 - 1) ln(C/O)^2)."""
        x = np.divide(self.c, self.o, out=self.new())
        np.log(x, out=x)
        np.square(x, out=x)
        x *= -2.0 * (2.0 * LN2 - 1.0)
        x += self.log_hl_sq
        x *= 0.5
        return x

    @cached_property
    def typical_volume(self) -> np.ndarray:
        """(H + L + C) / 3 * V."""
        x = np.add(self.h, self.l, out=self.new())
        x += self.c
        x /= 3.0
        x *= self.v
        return x

    @cached_property
    def money_flow_volume(self) -> np.ndarray:
        """((C-L) - (H-C)) / (H-L) * V, as (2C - H - L) / (H - L) * V; a bar with H = L counts 0."""
        span = np.subtract(self.h, self.l, out=self.new())
        x = np.add(self.c, self.c, out=self.new())
        x -= self.h
        x -= self.l
        has_range = span > 0
        np.divide(x, span, out=x, where=has_range)
        np.copyto(x, 0.0, where=~has_range)
        x *= self.v
        return x

    # -- rolling window sums of the pure formulas -----------------------------------------------------
    def window_sum(self, key: str, n: int) -> np.ndarray:
        """Sum of the last n values of series `key` at every row (NaN where the chunk has < n rows).

        Built from power-of-two partial sums (S2 = S1 + S1 shifted by 1, then S4, S8, S16; S20 =
        S16 + S4 shifted by 16), so each value is a fixed-order sum of exactly its own window: no
        running total carries rounding from earlier rows or from the previous ticker. Windows that
        reach into the previous ticker are masked by the caller (or are NaN through a log return).
        """
        def make() -> np.ndarray:
            result, offset = None, 0
            for bit in (16, 8, 4, 2, 1):
                if n & bit:
                    block = self._power_sum(key, bit)
                    if result is None:
                        result = self.new()
                        np.copyto(result, block)
                    else:
                        result[:offset] = np.nan
                        np.add(result[offset:], block[:max(self.n - offset, 0)], out=result[offset:])
                    offset += bit
            return result
        return self.memo(("wsum", key, n), make)

    def _power_sum(self, key: str, width: int) -> np.ndarray:
        """S_width of series `key`: S_2k[i] = S_k[i] + S_k[i - k]."""
        if width == 1:
            return getattr(self, key)

        def make() -> np.ndarray:
            k = width // 2
            half = self._power_sum(key, k)
            out = self.new()
            out[:k] = np.nan
            np.add(half[k:], half[:max(self.n - k, 0)], out=out[k:])
            return out
        return self.memo(("psum", key, width), make)

    def rv(self, n: int) -> np.ndarray:
        """Population standard deviation (ddof=0) of the last n one-bar log returns."""
        def make() -> np.ndarray:
            mean_sq = np.multiply(self.window_sum("log_ret", n), 1.0 / n, out=self.new())
            np.square(mean_sq, out=mean_sq)
            var = np.multiply(self.window_sum("log_ret_sq", n), 1.0 / n, out=self.new())
            var -= mean_sq
            np.maximum(var, 0.0, out=var)
            return np.sqrt(var, out=var)
        return self.memo(("rv", n), make)

    def window_ratio(self, dest: np.ndarray, num: str, den: str, n: int) -> None:
        """sum(num, n) / sum(den, n), NaN in each ticker's first n - 1 rows."""
        np.divide(self.window_sum(num, n), self.window_sum(den, n), out=dest)
        self.mask_head(dest, n - 1)


# -- the features: fill(chunk, dest) writes one feature for the chunk's rows into dest ---------------------
def _direct(fn: Callable, *fields: str) -> Fill:
    """A feature that is one TA-Lib output, computed per ticker straight into its column."""
    return lambda ch, dest: ch.each(fn, [getattr(ch, f) for f in fields], (dest,))


def _copy(get: Callable[[_Chunk], np.ndarray]) -> Fill:
    return lambda ch, dest: np.copyto(dest, get(ch))


def _ret(n: int) -> Fill:
    def fill(ch: _Chunk, dest: np.ndarray) -> None:
        np.subtract(ch.log_close[n:], ch.log_close[:-n], out=dest[n:])
        ch.mask_head(dest, n)
    return fill


def _lag(k: int) -> Fill:
    def fill(ch: _Chunk, dest: np.ndarray) -> None:
        dest[k:] = ch.log_ret[:-k]
        ch.mask_head(dest, k)
    return fill


def _price_dist(average: Callable[[_Chunk], np.ndarray]) -> Fill:
    """close / average - 1."""
    def fill(ch: _Chunk, dest: np.ndarray) -> None:
        np.divide(ch.c, average(ch), out=dest)
        dest -= 1.0
    return fill


def _cross(fast: int, slow: int) -> Fill:
    """1.0 where SMA(fast) > SMA(slow), else 0.0; NaN while SMA(slow) is."""
    def fill(ch: _Chunk, dest: np.ndarray) -> None:
        slow_sma = ch.sma(slow)
        np.greater(ch.sma(fast), slow_sma, out=dest)
        np.copyto(dest, np.nan, where=np.isnan(slow_sma))
    return fill


def _bb_pctb(ch: _Chunk, dest: np.ndarray) -> None:
    """(close - lower) / (upper - lower)."""
    np.subtract(ch.c, ch.bbands[2], out=dest)
    dest /= ch.band_span


def _bb_width(ch: _Chunk, dest: np.ndarray) -> None:
    """(upper - lower) / middle."""
    np.divide(ch.band_span, ch.bbands[1], out=dest)


def _keltner_pos(ch: _Chunk, dest: np.ndarray) -> None:
    """Close in a Keltner channel EMA20 -/+ 2 ATR20, scaled like %b: (close - (EMA - 2 ATR)) / (4 ATR)."""
    atr = ch.ta(("atr", 20), lambda h, l, c: talib.ATR(h, l, c, 20), (ch.h, ch.l, ch.c))
    tmp = np.multiply(atr, 2.0, out=ch.new())
    np.subtract(ch.c, ch.ema(20), out=dest)
    dest += tmp
    tmp *= 2.0
    dest /= tmp


def _parkinson(ch: _Chunk, dest: np.ndarray) -> None:
    """sqrt(mean(ln(H/L)^2, 20) / (4 ln 2))."""
    np.multiply(ch.window_sum("log_hl_sq", 20), 1.0 / (20 * 4.0 * LN2), out=dest)
    np.sqrt(dest, out=dest)
    ch.mask_head(dest, 19)


def _garman_klass(ch: _Chunk, dest: np.ndarray) -> None:
    """sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2, 20)), the mean floored at 0."""
    np.multiply(ch.window_sum("gk_term", 20), 1.0 / 20, out=dest)
    np.maximum(dest, 0.0, out=dest)
    np.sqrt(dest, out=dest)
    ch.mask_head(dest, 19)


def _volume_ratio(ch: _Chunk, dest: np.ndarray) -> None:
    """mean(volume, 5) / mean(volume, 20) = 4 sum(volume, 5) / sum(volume, 20)."""
    np.divide(ch.window_sum("v", 5), ch.window_sum("v", 20), out=dest)
    dest *= 4.0
    ch.mask_head(dest, 19)


def _vwap_dist(ch: _Chunk, dest: np.ndarray) -> None:
    """close / VWAP - 1 with VWAP = sum(typical price * volume, 20) / sum(volume, 20)."""
    ch.window_ratio(dest, "typical_volume", "v", 20)
    np.divide(ch.c, dest, out=dest)
    dest -= 1.0


def _calendar(name: str) -> Fill:
    return lambda ch, dest: np.take(ch.calendar.table[name], ch.calendar.offsets[ch.rows], out=dest, mode="clip")


_HLC = ("h", "l", "c")
_COMPUTE: dict[str, Fill] = {
    "log_ret_1": _copy(lambda ch: ch.log_ret),
    **{f"ret_{n}": _ret(n) for n in (5, 10, 20)},
    **{f"lag_ret_{k}": _lag(k) for k in range(1, 6)},
    **{f"rsi_{n}": _direct(lambda c, n=n: talib.RSI(c, n), "c") for n in (9, 14, 21)},
    "macd": _copy(lambda ch: ch.macd[0]),
    "macd_signal": _copy(lambda ch: ch.macd[1]),
    "macd_hist": _copy(lambda ch: ch.macd[2]),
    "stoch_k": _copy(lambda ch: ch.stoch[0]),
    "stoch_d": _copy(lambda ch: ch.stoch[1]),
    "willr_14": _direct(lambda h, l, c: talib.WILLR(h, l, c, 14), *_HLC),
    "roc_10": _direct(lambda c: talib.ROC(c, 10), "c"),
    "mom_10": _direct(lambda c: talib.MOM(c, 10), "c"),
    "adx_14": _direct(lambda h, l, c: talib.ADX(h, l, c, 14), *_HLC),
    "cci_14": _direct(lambda h, l, c: talib.CCI(h, l, c, 14), *_HLC),
    "atr_14": _direct(lambda h, l, c: talib.ATR(h, l, c, 14), *_HLC),
    "natr_14": _direct(lambda h, l, c: talib.NATR(h, l, c, 14), *_HLC),
    "bb_upper_20": _copy(lambda ch: ch.bbands[0]),
    "bb_middle_20": _copy(lambda ch: ch.bbands[1]),
    "bb_lower_20": _copy(lambda ch: ch.bbands[2]),
    "bb_pctb_20": _bb_pctb,
    "bb_width_20": _bb_width,
    "keltner_pos_20": _keltner_pos,
    **{f"rv_{n}": _copy(lambda ch, n=n: ch.rv(n)) for n in (5, 10, 20)},
    "parkinson_20": _parkinson,
    "garman_klass_20": _garman_klass,
    "vol_ratio_5_20": lambda ch, dest: np.divide(ch.rv(5), ch.rv(20), out=dest),
    "obv": _direct(talib.OBV, "c", "v"),
    "mfi_14": _direct(lambda h, l, c, v: talib.MFI(h, l, c, v, 14), *_HLC, "v"),
    "volume_ratio_5_20": _volume_ratio,
    "vwap_dist_20": _vwap_dist,
    "cmf_20": lambda ch, dest: ch.window_ratio(dest, "money_flow_volume", "v", 20),
    **{f"sma_dist_{n}": _price_dist(lambda ch, n=n: ch.sma(n)) for n in (5, 10, 20, 50, 200)},
    **{f"ema_dist_{n}": _price_dist(lambda ch, n=n: ch.ema(n)) for n in (5, 10, 20, 50, 200)},
    "sma_cross_5_20": _cross(5, 20),
    "sma_cross_50_200": _cross(50, 200),
    **{name: _calendar(name) for name in ("day_of_week", "month", "days_to_month_end")},
}


#: features that call TA-Lib per ticker; the rest are chunk-wide numpy. The two kinds of jobs run on
#: different threads where possible: TA-Lib's wrapper drops and retakes the GIL several times per
#: call, so two threads both making many short TA-Lib calls mostly wait on each other.
_USES_TALIB = frozenset(
    [n for n in _COMPUTE if n.startswith(("rsi_", "macd", "stoch_", "bb_", "sma_", "ema_"))]
    + ["willr_14", "roc_10", "mom_10", "adx_14", "cci_14", "atr_14", "natr_14", "keltner_pos_20", "obv", "mfi_14"])


# -- driving the chunks ---------------------------------------------------------------------------------------
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
    """The (rows x features) float64 array, Fortran-ordered so each feature's column is contiguous.

    Each chunk gives up to two jobs, its TA-Lib features and its numpy features. With several
    threads, the first worker takes TA-Lib jobs from the front of their queue and the others take
    numpy jobs, then TA-Lib jobs from the back; every job writes its own columns and rows.
    """
    n = len(dates)
    values = np.empty((n, len(names)), order="F")
    if n == 0 or not names:
        return values
    calendar = None
    if any(FEATURE_REGISTRY[name].family == "calendar" for name in names):
        calendar = _CalendarTable(dates.view(np.int64) // _NS_PER_DAY, calendar_code)
    chunks = _chunks(starts, n, CHUNK_ROWS)
    width = max(hi - lo for lo, hi, _ in chunks)
    kinds = {True: [(j, m) for j, m in enumerate(names) if m in _USES_TALIB],
             False: [(j, m) for j, m in enumerate(names) if m not in _USES_TALIB]}
    queues = {kind: deque(chunks if columns else ()) for kind, columns in kinds.items()}
    local, lock = threading.local(), threading.Lock()

    def run(chunk_rows: tuple[int, int, np.ndarray], columns: list[tuple[int, str]]) -> None:
        lo, hi, first_rows = chunk_rows
        scratch = local.__dict__.setdefault("scratch", _Scratch(width))
        scratch.used = 0  # the previous job's intermediates are dead
        bounds = [int(s) - lo for s in first_rows] + [hi - lo]
        chunk = _Chunk([x[lo:hi] for x in ohlcv], list(zip(bounds[:-1], bounds[1:])), [m for _, m in columns],
                       scratch, calendar, slice(lo, hi))
        with np.errstate(divide="ignore", invalid="ignore"):
            for j, name in columns:
                _COMPUTE[name](chunk, values[lo:hi, j])

    def worker(prefer_talib: bool) -> None:
        while True:
            with lock:
                if queues[prefer_talib]:
                    kind, job = prefer_talib, queues[prefer_talib].popleft()
                elif queues[not prefer_talib]:
                    kind, job = not prefer_talib, queues[not prefer_talib].pop()
                else:
                    return
            run(job, kinds[kind])

    if threads <= 1:
        worker(True)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(worker, [True] + [False] * (threads - 1)))
    return values


def _arrays(bars: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
    """Contiguous float64 OHLCV arrays (views where the frame allows) and datetime64[ns] dates."""
    ohlcv = [np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64)) for k in OHLCV]
    dates = np.ascontiguousarray(bars["date"].to_numpy(dtype="datetime64[ns]"))
    if np.isnat(dates).any():
        raise ValueError("bars have a missing date")
    return ohlcv, dates


def compute_features(bars: pd.DataFrame, names: Sequence[str] | None = None, *, calendar_code: str = "XNYS") -> pd.DataFrame:
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
    if all(a < b for a, b in zip(firsts, firsts[1:])) and (steps >= 0).all():
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
