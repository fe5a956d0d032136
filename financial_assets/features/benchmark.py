"""Feature throughput against TA-Lib alone computing the TA-Lib subset of the same set, same data."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pandas as pd

from financial_assets.features.compute import OHLCV, compute_features_panel
from financial_assets.features.registry import DEFAULT_FEATURES, FEATURE_REGISTRY
from financial_assets.features.spec import TalibCall


def talib_subset(names: tuple[str, ...] = DEFAULT_FEATURES) -> list[str]:
    """The features of `names` that are one TA-Lib output, one per TA-Lib call (STOCH's one call gives stoch_k
    and stoch_d): the reference calls them straight from the registry's `talib` calls."""
    first: dict[TalibCall, str] = {}
    for name in names:
        call = FEATURE_REGISTRY[name].talib
        if call is not None:
            first.setdefault(call, name)
    return list(first.values())


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
    slices = [dict(zip(OHLCV, arrays[:, a:b], strict=True)) for a, b in pairwise(bounds)]
    calls = [FEATURE_REGISTRY[n].talib for n in talib_subset()]
    bound = [(call.fn, [bars[a] if isinstance(a, str) else a for a in call.args]) for bars in slices for call in calls]

    def reference() -> None:
        for fn, args in bound:
            fn(*args)

    features_s = _best(lambda: compute_features_panel(panel, threads=threads), repeats)
    talib_s = _best(reference, repeats)
    n = len(panel)
    features_rate, talib_rate = n / features_s, n / talib_s
    return {"bars": float(n), "features_seconds": features_s, "features_bars_per_s": features_rate,
            "talib_seconds": talib_s, "talib_bars_per_s": talib_rate, "ratio": features_rate / talib_rate}
