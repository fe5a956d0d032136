"""Feature throughput against TA-Lib alone computing the TA-Lib subset of the same set, same data."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from talib import _ta_lib as talib  # the C functions, as compute.py calls them

from financial_assets.features.compute import OHLCV, compute_features_panel
from financial_assets.features.registry import DEFAULT_FEATURES, FEATURE_REGISTRY

#: the reference: every default feature that is one TA-Lib output, called directly on (o, h, l, c, v)
_TALIB_CALLS: dict[str, Callable[..., object]] = {
    "rsi_9": lambda o, h, l, c, v: talib.RSI(c, 9),
    "rsi_14": lambda o, h, l, c, v: talib.RSI(c, 14),
    "rsi_21": lambda o, h, l, c, v: talib.RSI(c, 21),
    "stoch_k": lambda o, h, l, c, v: talib.STOCH(h, l, c, 14, 3, 0, 3, 0),  # gives stoch_d too
    "willr_14": lambda o, h, l, c, v: talib.WILLR(h, l, c, 14),
    "roc_10": lambda o, h, l, c, v: talib.ROC(c, 10),
    "adx_14": lambda o, h, l, c, v: talib.ADX(h, l, c, 14),
    "cci_14": lambda o, h, l, c, v: talib.CCI(h, l, c, 14),
    "natr_14": lambda o, h, l, c, v: talib.NATR(h, l, c, 14),
    "mfi_14": lambda o, h, l, c, v: talib.MFI(h, l, c, v, 14),
    # not in the default set today; used if a default set includes them
    "macd_hist": lambda o, h, l, c, v: talib.MACD(c, 12, 26, 9),
    "mom_10": lambda o, h, l, c, v: talib.MOM(c, 10),
    "atr_14": lambda o, h, l, c, v: talib.ATR(h, l, c, 14),
    "obv": lambda o, h, l, c, v: talib.OBV(c, v),
    "bb_upper_20": lambda o, h, l, c, v: talib.BBANDS(c, 20, 2.0, 2.0, 0),
}
#: a registry source that is one TA-Lib call on the bars, e.g. "talib.STOCH(high, low, close, 14, 3, 0, 3, 0)[1]"
_ONE_TALIB_OUTPUT = re.compile(r"talib\.[A-Z]+\([^()]*\)(\[\d\])?")
#: outputs that another reference call already produces
_SAME_CALL = {"stoch_d": "stoch_k", "macd": "macd_hist", "macd_signal": "macd_hist",
              "bb_middle_20": "bb_upper_20", "bb_lower_20": "bb_upper_20"}


def talib_subset(names: tuple[str, ...] = DEFAULT_FEATURES) -> list[str]:
    """The reference calls for `names`: each feature that is one TA-Lib output, one call per TA-Lib call."""
    direct = [n for n in names if _ONE_TALIB_OUTPUT.fullmatch(FEATURE_REGISTRY[n].source)]
    calls = {_SAME_CALL.get(n, n) for n in direct}
    missing = calls - set(_TALIB_CALLS)
    if missing:
        raise KeyError(f"no reference TA-Lib call for {sorted(missing)}")
    return [n for n in _TALIB_CALLS if n in calls]


def _best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def measure_feature_throughput(panel: pd.DataFrame, threads: int = 2, repeats: int = 3) -> dict[str, float]:
    """Best-of-`repeats` seconds for the full default set (`threads`) and for TA-Lib's subset (1 thread).

    `panel` has ticker, date, open, high, low, close, volume. The reference runs only the TA-Lib
    calls, single-threaded, on arrays sliced per ticker beforehand (slicing not timed); the measured
    side runs `compute_features_panel` end to end from the frame, its output frame included.
    ratio = features_bars_per_s / talib_bars_per_s (>= 1 means the full set is at least as fast).
    """
    ordered = panel.sort_values(["ticker", "date"], kind="stable")
    tickers = ordered["ticker"].to_numpy()
    arrays = np.ascontiguousarray(ordered[OHLCV].to_numpy(dtype=np.float64).T)
    bounds = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1], True])
    slices = [tuple(arrays[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    calls = [_TALIB_CALLS[n] for n in talib_subset()]

    def reference() -> None:
        for o, h, l, c, v in slices:
            for call in calls:
                call(o, h, l, c, v)

    features_s = _best(lambda: compute_features_panel(panel, threads=threads), repeats)
    talib_s = _best(reference, repeats)
    n = len(panel)
    features_rate, talib_rate = n / features_s, n / talib_s
    return {"bars": float(n), "features_seconds": features_s, "features_bars_per_s": features_rate,
            "talib_seconds": talib_s, "talib_bars_per_s": talib_rate, "ratio": features_rate / talib_rate}
