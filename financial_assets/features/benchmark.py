"""Feature throughput against TA-Lib alone computing the TA-Lib subset of the same set, same data."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from talib import _ta_lib as talib  # the C functions, as compute.py calls them

from financial_assets.features.compute import OHLCV, compute_features_panel
from financial_assets.features.registry import DEFAULT_FEATURES, FEATURE_REGISTRY

#: the reference: every default feature that is one TA-Lib output, called directly
_TALIB_CALLS = {
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
}


def talib_subset() -> list[str]:
    """Default features that TA-Lib computes directly (the reference's workload)."""
    return [n for n in _TALIB_CALLS if n in DEFAULT_FEATURES and FEATURE_REGISTRY[n].source.startswith("talib.")]


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def measure_feature_throughput(panel: pd.DataFrame, threads: int = 2, repeats: int = 3) -> dict[str, float]:
    """Best-of-`repeats` seconds for the full default set (threads) and for TA-Lib's subset (1 thread).

    The reference only runs TA-Lib calls on arrays sliced per ticker beforehand; the measured side
    runs end to end from the panel frame, sorting and building its output frame included.
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
    return {"bars": float(n), "features_seconds": features_s, "features_bars_per_s": n / features_s,
            "talib_seconds": talib_s, "talib_bars_per_s": n / talib_s, "ratio": talib_s / features_s}
