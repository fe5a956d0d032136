"""Benchmarks. Every measurement ends with one line:

    BENCH <name> <value> <unit> ratio=<x> vs <reference>

where the reference is measured in the same run. Run `python -m financial_assets.bench --help`.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import psutil

from financial_assets.settings import apply_env_defaults


def bench_line(name: str, value: float, unit: str, ratio: float, reference: str) -> str:
    line = f"BENCH {name} {value:.4g} {unit} ratio={ratio:.3g} vs {reference}"
    print(line, flush=True)
    return line


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _run_range(job, instance, first: str, last: str) -> float:
    from financial_assets.runner import QUIET_CONSOLE, RANGE_END_TAG, RANGE_START_TAG

    began = time.perf_counter()
    result = job.execute_in_process(run_config=QUIET_CONSOLE, instance=instance,
                                    tags={RANGE_START_TAG: first, RANGE_END_TAG: last})
    assert result.success
    return time.perf_counter() - began


def bench_validated_backfill(sample_partitions: int, tickers: list[str] | None) -> None:
    """raw -> validated for the embedded history: single-run backfills vs one run per partition."""
    import dagster as dg

    from financial_assets.definitions import defs
    from financial_assets.defs.resources import bar_source_from_env
    from financial_assets.runner import register_tickers, session_keys

    source = bar_source_from_env()
    tickers = tickers or source.tickers()
    job = dg.define_asset_job("bench_validate", selection=["raw_bars", "validated_bars", "quarantined_bars"]).resolve(
        asset_graph=defs.resolve_asset_graph()
    )
    instance = dg.DagsterInstance.ephemeral()
    register_tickers(instance, tickers)
    spans = {t: source.load(t)["date"] for t in tickers}
    baseline_mb = _rss_mb()

    # reference: one run per partition, on the first sessions of the first ticker
    first = tickers[0]
    sample = session_keys(spans[first].min().date().isoformat(), None)[:sample_partitions]
    began = time.perf_counter()
    for key in sample:
        _run_range(job, instance, f"{key}|{first}", f"{key}|{first}")
    per_partition_rate = len(sample) / (time.perf_counter() - began)

    # measured: one single-run backfill per ticker over its whole history
    began = time.perf_counter()
    ticker_days = 0
    for ticker in tickers:
        dates = session_keys(spans[ticker].min().date().isoformat(), spans[ticker].max().date().isoformat())
        _run_range(job, instance, f"{dates[0]}|{ticker}", f"{dates[-1]}|{ticker}")
        ticker_days += len(dates)
    seconds = time.perf_counter() - began
    rate = ticker_days / seconds
    print(f"# {ticker_days} ticker-days of {len(tickers)} tickers in {seconds:.1f}s wall; "
          f"one-run-per-partition reference: {len(sample)} runs at {per_partition_rate:.2f} partitions/s")
    bench_line("validated_backfill_throughput", rate, "ticker-days/s", rate / per_partition_rate,
               "one_run_per_partition")
    bench_line("validated_backfill_wall", seconds, "s", seconds / (ticker_days / per_partition_rate),
               "one_run_per_partition_extrapolated")
    peak = _peak_rss_mb()
    bench_line("validated_backfill_peak_rss", peak, "MiB", peak / baseline_mb, "rss_after_imports")


def bench_features(n_tickers: int, n_bars: int) -> None:
    """Full default feature set (2 threads) vs TA-Lib computing only its subset (1 thread)."""
    from financial_assets.features.benchmark import measure_feature_throughput
    from financial_assets.sources.synthetic import SyntheticSource

    source = SyntheticSource(n_tickers=n_tickers, seed=11, calendar_code="XNYS", start="2000-01-03")
    import pandas as pd

    panel = pd.concat([source.load(t) for t in source.tickers()], ignore_index=True)
    panel = panel.groupby("ticker", sort=False).head(n_bars).reset_index(drop=True)
    result = measure_feature_throughput(panel[["ticker", "date", "open", "high", "low", "close", "volume"]])
    print(f"# {result['bars']} bars; full set {result['features_seconds']:.3f}s, TA-Lib subset {result['talib_seconds']:.3f}s")
    bench_line("features_throughput", result["features_bars_per_s"], "bars/s", result["ratio"], "talib_subset_single_thread")


def bench_graph_wall(tickers: list[str] | None) -> None:
    """features + labels + SQL models for the embedded history, vs raw+validated of the same run."""
    import dagster as dg

    from financial_assets.definitions import defs
    from financial_assets.defs.resources import bar_source_from_env
    from financial_assets.runner import RunSummary, register_tickers, run_pipeline

    instance = dg.DagsterInstance.ephemeral()
    source = bar_source_from_env()
    tickers = tickers or source.tickers()
    register_tickers(instance, tickers)
    dates = [source.load(t)["date"] for t in tickers]
    start = max(min(d.min() for d in dates).date().isoformat(), os.environ["FA_HISTORY_START"])
    end = max(d.max() for d in dates).date().isoformat()
    began = time.perf_counter()
    summary: RunSummary = run_pipeline(defs, instance, tickers, start, end)
    seconds = time.perf_counter() - began
    assert summary.success, summary.runs
    bars_seconds = sum(s for job, _, _, s in summary.runs if job == "ticker_assets_job")
    print(f"# whole graph for {len(tickers)} tickers {start}..{end}: {seconds:.1f}s "
          f"({', '.join(f'{j} {s:.1f}s' for j, _, _, s in summary.runs)})")
    bench_line("graph_wall", seconds, "s", seconds / bars_seconds, "ticker_assets_job_wall")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", default=["validated", "features", "graph"],
                        help="validated | features | graph (default: all)")
    parser.add_argument("--tickers", help="comma-separated subset of the embedded tickers")
    parser.add_argument("--sample-partitions", type=int, default=20, help="runs in the one-run-per-partition reference")
    parser.add_argument("--feature-tickers", type=int, default=200)
    parser.add_argument("--feature-bars", type=int, default=2500)
    parser.add_argument("--history-start", default="2000-03-01",
                        help="first partition date (default: the whole embedded history)")
    args = parser.parse_args(argv)
    # benchmarks never touch the user's lake or Dagster instance
    os.environ["FA_DATA_DIR"] = tempfile.mkdtemp(prefix="fa-bench-")
    os.environ["FA_SOURCE"] = "embedded"
    os.environ["FA_HISTORY_START"] = args.history_start
    apply_env_defaults()
    tickers = args.tickers.split(",") if args.tickers else None
    print(f"# data in {Path(os.environ['FA_DATA_DIR'])}, {psutil.cpu_count()} cores")
    if "validated" in args.which:
        bench_validated_backfill(args.sample_partitions, tickers)
    if "features" in args.which:
        bench_features(args.feature_tickers, args.feature_bars)
    if "graph" in args.which:
        bench_graph_wall(tickers)


if __name__ == "__main__":
    main()
