"""Feature throughput: the full default set against TA-Lib alone computing its subset, same data, same run."""

from __future__ import annotations

import pandas as pd

from benchmarks import bench_line


def bench_features(n_tickers: int, n_bars: int) -> None:
    """Full default feature set (2 threads) vs TA-Lib computing only its subset (1 thread)."""
    from financial_assets.features.benchmark import measure_feature_throughput
    from financial_assets.sources.synthetic import SyntheticSource

    source = SyntheticSource(n_tickers=n_tickers, seed=11, calendar_code="XNYS", start="2000-01-03")
    panel = pd.concat([source.load(t) for t in source.tickers()], ignore_index=True)
    panel = panel.groupby("ticker", sort=False).head(n_bars).reset_index(drop=True)
    result = measure_feature_throughput(panel[["ticker", "date", "open", "high", "low", "close", "volume"]])
    print(f"# {result['bars']:.0f} bars; full set {result['features_seconds']:.3f}s, "
          f"TA-Lib subset {result['talib_seconds']:.3f}s")
    bench_line("features_throughput", result["features_bars_per_s"], "bars/s", result["ratio"],
               "talib_subset_single_thread")
