"""Every feature, family by family, each entry beside its formula: adding an indicator is one entry here.

One output of one TA-Lib call is one line (its `source` is written from the call):

    talib_feature("roc_10", "momentum", 10, "10-bar rate of change, percent", talib.ROC, "close", 10),

Anything else is a formula, `fill(chunk, dest)`, that writes the feature of every row of a `Chunk`
(consecutive bars of whole tickers, see `chunk.py`) into `dest`, and an entry that names it:

    def _range_20(ch: Chunk, dest: np.ndarray) -> None:
        np.multiply(ch.window_sum(_log_hl_sq, 20), 1.0 / 20, out=dest)  # numpy over the whole chunk
        ch.mask_head(dest, 19)  # NaN where the window reaches into the previous ticker

    FeatureSpec("range_20", "volatility", 19, "mean(ln(high/low)^2, 20)", "mean squared log range", fill=_range_20),

The entry's place in `FEATURES` is its place in the registry. Then regenerate docs/features.md
(`python -m financial_assets.features.registry > docs/features.md`) and give the feature an
independent check in financial_assets_tests/test_features/test_features_values.py. The value at row i may use
rows <= i only: the look-ahead tests try every feature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import talib

from financial_assets.core.calendar import trading_days_to_month_end
from financial_assets.features.chunk import Chunk, Run
from financial_assets.features.spec import FeatureSpec, Fill, talib_feature

LN2 = np.log(2.0)
_NS_PER_DAY = 86_400 * 10**9
_HLC = ("high", "low", "close")


def _shared_copy(fn: Callable[..., np.ndarray], *args: Any) -> Fill:
    """A feature that is a shared intermediate (`chunk.shared(fn, *args)`) as is."""
    return lambda ch, dest: np.copyto(dest, ch.shared(fn, *args))


def _window_ratio(num: Callable[[Chunk], np.ndarray], den: Callable[[Chunk], np.ndarray], n: int) -> Fill:
    """sum(num, n) / sum(den, n), NaN in each ticker's first n - 1 rows."""
    def fill(ch: Chunk, dest: np.ndarray) -> None:
        np.divide(ch.window_sum(num, n), ch.window_sum(den, n), out=dest)
        ch.mask_head(dest, n - 1)
    return fill


# -- returns ------------------------------------------------------------------------------------------------
def _log_close(ch: Chunk) -> np.ndarray:
    return np.log(ch.close, out=ch.new())


def _log_ret(ch: Chunk) -> np.ndarray:
    """log(close / close[-1]), NaN at each ticker's first row."""
    log_close = ch.shared(_log_close)
    out = ch.new()
    out[0] = np.nan
    np.subtract(log_close[1:], log_close[:-1], out=out[1:])
    ch.mask_head(out, 1)
    return out


def _ret(n: int) -> Fill:
    def fill(ch: Chunk, dest: np.ndarray) -> None:
        log_close = ch.shared(_log_close)
        np.subtract(log_close[n:], log_close[:-n], out=dest[n:])
        ch.mask_head(dest, n)
    return fill


def _lag(k: int) -> Fill:
    def fill(ch: Chunk, dest: np.ndarray) -> None:
        dest[k:] = ch.shared(_log_ret)[:-k]
        ch.mask_head(dest, k)
    return fill


FEATURES: list[FeatureSpec] = [
    FeatureSpec("log_ret_1", "returns", 1, "log(close / close[-1])", "1-bar log return", fill=_shared_copy(_log_ret)),
]
FEATURES += [FeatureSpec(f"ret_{n}", "returns", n, f"log(close / close[-{n}])", f"{n}-bar log return", fill=_ret(n))
             for n in (5, 10, 20)]
FEATURES += [FeatureSpec(f"lag_ret_{k}", "returns", 1 + k, f"log_ret_1 shifted {k} bars",
                         f"1-bar log return {k} bars ago", fill=_lag(k)) for k in range(1, 6)]

# -- momentum -----------------------------------------------------------------------------------------------
FEATURES += [talib_feature(f"rsi_{n}", "momentum", n, f"Wilder RSI over {n} bars", talib.RSI, "close", n)
             for n in (9, 14, 21)]
FEATURES += [talib_feature(name, "momentum", 33, f"MACD {what} (price units)", talib.MACD, "close", 12, 26, 9,
                           output=k, default=False)
             for k, (name, what) in enumerate([("macd", "line"), ("macd_signal", "signal line"),
                                               ("macd_hist", "histogram")])]
FEATURES += [
    talib_feature("stoch_k", "momentum", 17, "slow %K", talib.STOCH, *_HLC, 14, 3, 0, 3, 0, output=0),
    talib_feature("stoch_d", "momentum", 17, "slow %D", talib.STOCH, *_HLC, 14, 3, 0, 3, 0, output=1),
    talib_feature("willr_14", "momentum", 13, "Williams %R", talib.WILLR, *_HLC, 14),
    talib_feature("roc_10", "momentum", 10, "10-bar rate of change, percent", talib.ROC, "close", 10),
    talib_feature("mom_10", "momentum", 10, "10-bar momentum (price units)", talib.MOM, "close", 10, default=False),
    talib_feature("adx_14", "momentum", 27, "average directional index", talib.ADX, *_HLC, 14),
    talib_feature("cci_14", "momentum", 13, "commodity channel index", talib.CCI, *_HLC, 14),
]


# -- volatility ---------------------------------------------------------------------------------------------
def _bbands(ch: Chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ch.talib(talib.BBANDS, "close", 20, 2, 2, 0)


def _band_span(ch: Chunk) -> np.ndarray:
    upper, _, lower = _bbands(ch)
    return np.subtract(upper, lower, out=ch.new())


def _bb_pctb(ch: Chunk, dest: np.ndarray) -> None:
    """(close - lower) / (upper - lower)."""
    np.subtract(ch.close, _bbands(ch)[2], out=dest)
    dest /= ch.shared(_band_span)


def _bb_width(ch: Chunk, dest: np.ndarray) -> None:
    """(upper - lower) / middle."""
    np.divide(ch.shared(_band_span), _bbands(ch)[1], out=dest)


def _keltner_pos(ch: Chunk, dest: np.ndarray) -> None:
    """Close in a Keltner channel EMA20 -/+ 2 ATR20, scaled like %b: (close - (EMA - 2 ATR)) / (4 ATR)."""
    tmp = np.multiply(ch.talib(talib.ATR, *_HLC, 20), 2.0, out=ch.new())
    np.subtract(ch.close, ch.talib(talib.EMA, "close", 20), out=dest)
    dest += tmp
    tmp *= 2.0
    dest /= tmp


def _log_ret_sq(ch: Chunk) -> np.ndarray:
    return np.square(ch.shared(_log_ret), out=ch.new())


def _rv(ch: Chunk, n: int) -> np.ndarray:
    """Population standard deviation (ddof=0) of the last n one-bar log returns."""
    mean_sq = np.multiply(ch.window_sum(_log_ret, n), 1.0 / n, out=ch.new())
    np.square(mean_sq, out=mean_sq)
    var = np.multiply(ch.window_sum(_log_ret_sq, n), 1.0 / n, out=ch.new())
    var -= mean_sq
    np.maximum(var, 0.0, out=var)
    return np.sqrt(var, out=var)


def _log_hl_sq(ch: Chunk) -> np.ndarray:
    x = np.divide(ch.high, ch.low, out=ch.new())
    np.log(x, out=x)
    return np.square(x, out=x)


def _parkinson(ch: Chunk, dest: np.ndarray) -> None:
    """sqrt(mean(ln(H/L)^2, 20) / (4 ln 2))."""
    np.multiply(ch.window_sum(_log_hl_sq, 20), 1.0 / (20 * 4.0 * LN2), out=dest)
    np.sqrt(dest, out=dest)
    ch.mask_head(dest, 19)


def _gk_term(ch: Chunk) -> np.ndarray:
    """0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2, as 0.5 (ln(H/L)^2 - 2 (2 ln 2 - 1) ln(C/O)^2)."""
    x = np.divide(ch.close, ch.open, out=ch.new())
    np.log(x, out=x)
    np.square(x, out=x)
    x *= -2.0 * (2.0 * LN2 - 1.0)
    x += ch.shared(_log_hl_sq)
    x *= 0.5
    return x


def _garman_klass(ch: Chunk, dest: np.ndarray) -> None:
    """sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2, 20)), the mean floored at 0."""
    np.multiply(ch.window_sum(_gk_term, 20), 1.0 / 20, out=dest)
    np.maximum(dest, 0.0, out=dest)
    np.sqrt(dest, out=dest)
    ch.mask_head(dest, 19)


def _vol_ratio(ch: Chunk, dest: np.ndarray) -> None:
    np.divide(ch.shared(_rv, 5), ch.shared(_rv, 20), out=dest)


FEATURES += [
    talib_feature("atr_14", "volatility", 14, "average true range (price units)", talib.ATR, *_HLC, 14, default=False),
    talib_feature("natr_14", "volatility", 14, "ATR as a percent of close", talib.NATR, *_HLC, 14),
]
FEATURES += [talib_feature(f"bb_{band}_20", "volatility", 19, f"{band} Bollinger band (price)", talib.BBANDS,
                           "close", 20, 2, 2, 0, output=k, default=False)
             for k, band in enumerate(("upper", "middle", "lower"))]
FEATURES += [
    FeatureSpec("bb_pctb_20", "volatility", 19, "(close - bb_lower) / (bb_upper - bb_lower)",
                "position in the bands", fill=_bb_pctb),
    FeatureSpec("bb_width_20", "volatility", 19, "(bb_upper - bb_lower) / bb_middle", "relative band width",
                fill=_bb_width),
    FeatureSpec("keltner_pos_20", "volatility", 20, "(close - (EMA20 - 2 ATR20)) / (4 ATR20), talib.EMA/ATR",
                "position in the Keltner channel", fill=_keltner_pos),
]
FEATURES += [FeatureSpec(f"rv_{n}", "volatility", n, f"std(log_ret_1, last {n} bars, ddof=0)",
                         f"{n}-bar realized volatility", fill=_shared_copy(_rv, n)) for n in (5, 10, 20)]
FEATURES += [
    FeatureSpec("parkinson_20", "volatility", 19, "sqrt(mean(ln(high/low)^2, 20) / (4 ln 2))",
                "Parkinson range volatility", fill=_parkinson),
    FeatureSpec("garman_klass_20", "volatility", 19,
                "sqrt(mean(0.5 ln(high/low)^2 - (2 ln 2 - 1) ln(close/open)^2, 20))", "Garman-Klass volatility",
                fill=_garman_klass),
    FeatureSpec("vol_ratio_5_20", "volatility", 20, "rv_5 / rv_20", "short over long realized volatility",
                fill=_vol_ratio),
]


# -- volume -------------------------------------------------------------------------------------------------
def _volume(ch: Chunk) -> np.ndarray:
    return ch.volume


def _volume_ratio(ch: Chunk, dest: np.ndarray) -> None:
    """mean(volume, 5) / mean(volume, 20) = 4 sum(volume, 5) / sum(volume, 20)."""
    np.divide(ch.window_sum(_volume, 5), ch.window_sum(_volume, 20), out=dest)
    dest *= 4.0
    ch.mask_head(dest, 19)


def _typical_volume(ch: Chunk) -> np.ndarray:
    """(H + L + C) / 3 * V."""
    x = np.add(ch.high, ch.low, out=ch.new())
    x += ch.close
    x /= 3.0
    x *= ch.volume
    return x


def _vwap_dist(ch: Chunk, dest: np.ndarray) -> None:
    """close / VWAP - 1 with VWAP = sum(typical price * volume, 20) / sum(volume, 20)."""
    _window_ratio(_typical_volume, _volume, 20)(ch, dest)
    np.divide(ch.close, dest, out=dest)
    dest -= 1.0


def _money_flow_volume(ch: Chunk) -> np.ndarray:
    """((C-L) - (H-C)) / (H-L) * V, as (2C - H - L) / (H - L) * V; a bar with H = L counts 0."""
    span = np.subtract(ch.high, ch.low, out=ch.new())
    x = np.add(ch.close, ch.close, out=ch.new())
    x -= ch.high
    x -= ch.low
    has_range = span > 0
    np.divide(x, span, out=x, where=has_range)
    np.copyto(x, 0.0, where=~has_range)
    x *= ch.volume
    return x


FEATURES += [
    talib_feature("obv", "volume", 0, "on-balance volume (cumulative level)", talib.OBV, "close", "volume",
                  default=False),
    talib_feature("mfi_14", "volume", 14, "money flow index", talib.MFI, *_HLC, "volume", 14),
    FeatureSpec("volume_ratio_5_20", "volume", 19, "mean(volume, 5) / mean(volume, 20)", "volume surge",
                fill=_volume_ratio),
    FeatureSpec("vwap_dist_20", "volume", 19,
                "close / (sum(tp*volume, 20) / sum(volume, 20)) - 1, tp = (high+low+close)/3",
                "distance from the rolling 20-bar VWAP", fill=_vwap_dist),
    FeatureSpec("cmf_20", "volume", 19,
                "sum(mfm*volume, 20) / sum(volume, 20), mfm = ((c-l)-(h-c))/(h-l), 0 if h = l",
                "Chaikin money flow", fill=_window_ratio(_money_flow_volume, _volume, 20)),
]


# -- trend --------------------------------------------------------------------------------------------------
def _price_dist(average: Callable[..., Any], n: int) -> Fill:
    """close / talib.<average>(close, n) - 1."""
    def fill(ch: Chunk, dest: np.ndarray) -> None:
        np.divide(ch.close, ch.talib(average, "close", n), out=dest)
        dest -= 1.0
    return fill


def _sma_cross(fast: int, slow: int) -> Fill:
    """1.0 where SMA(fast) > SMA(slow), else 0.0; NaN while SMA(slow) is."""
    def fill(ch: Chunk, dest: np.ndarray) -> None:
        slow_sma = ch.talib(talib.SMA, "close", slow)
        np.greater(ch.talib(talib.SMA, "close", fast), slow_sma, out=dest)
        np.copyto(dest, np.nan, where=np.isnan(slow_sma))
    return fill


FEATURES += [FeatureSpec(f"{kind}_dist_{n}", "trend", n - 1, f"close / talib.{kind.upper()}(close, {n}) - 1",
                         f"distance from the {n}-bar {kind.upper()}", fill=_price_dist(average, n))
             for kind, average in (("sma", talib.SMA), ("ema", talib.EMA)) for n in (5, 10, 20, 50, 200)]
FEATURES += [FeatureSpec(f"sma_cross_{fast}_{slow}", "trend", slow - 1,
                         f"talib.SMA(close, {fast}) > talib.SMA(close, {slow})", "1 if the fast SMA is above",
                         fill=_sma_cross(fast, slow)) for fast, slow in ((5, 20), (50, 200))]


# -- calendar -----------------------------------------------------------------------------------------------
def _day_table(run: Run) -> tuple[int, dict[str, np.ndarray]]:
    """(first day number, calendar features of every day from the run's first date to its last)."""
    days = run.dates.view(np.int64) // _NS_PER_DAY
    first = int(days.min())
    every_day = (first + np.arange(int(days.max()) - first + 1)).astype("datetime64[D]")
    index = pd.DatetimeIndex(every_day.astype("datetime64[ns]"))
    return first, {"day_of_week": index.dayofweek.to_numpy(dtype=np.float64),
                   "month": index.month.to_numpy(dtype=np.float64),
                   "days_to_month_end": trading_days_to_month_end(index, run.calendar_code)}


def _day_rows(ch: Chunk) -> np.ndarray:
    """Each row's position in the run's day table."""
    return ch.dates.view(np.int64) // _NS_PER_DAY - ch.run.shared(_day_table)[0]


def _calendar(name: str) -> Fill:
    def fill(ch: Chunk, dest: np.ndarray) -> None:
        table = ch.run.shared(_day_table)[1][name]
        np.take(table, ch.shared(_day_rows), out=dest, mode="clip")  # "clip" writes straight into dest
    return fill


FEATURES += [
    FeatureSpec("day_of_week", "calendar", 0, "date.dayofweek", "0 = Monday", fill=_calendar("day_of_week")),
    FeatureSpec("month", "calendar", 0, "date.month", "1-12", fill=_calendar("month")),
    FeatureSpec("days_to_month_end", "calendar", 0, "exchange calendar",
                "sessions left in the month (known in advance)", fill=_calendar("days_to_month_end")),
]

# -- cross-asset: computed by the SQL layer (dbt_like_sql/cross_asset_features), listed here for the registry -----
FEATURES += [
    FeatureSpec("corr_bench_60", "cross_asset", 60, "sql:cross_asset_features",
                "60-bar return correlation to the benchmark"),
    FeatureSpec("beta_bench_60", "cross_asset", 60, "sql:cross_asset_features", "60-bar beta to the benchmark"),
    FeatureSpec("rel_strength_20", "cross_asset", 20, "sql:cross_asset_features",
                "20-bar return minus the universe median"),
]
