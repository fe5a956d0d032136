"""`python -m benchmarks [history nightly features training serving backtest nightly_universe drift]`:
print BENCH lines."""

from __future__ import annotations

import argparse
import os
import tempfile

import psutil

from financial_assets.settings import apply_env_defaults

WHICH = ("history", "nightly", "features", "training", "serving", "backtest", "nightly_universe", "drift")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen benchmarks on a temporary data folder and instance, printing a BENCH line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", nargs="*", default=list(WHICH), help=f"any of {', '.join(WHICH)} (default: all)")
    parser.add_argument("--sample-sessions", type=int, default=60,
                        help="sessions of 2 tickers in the as-shipped reference sample")
    parser.add_argument("--feature-tickers", type=int, default=200)
    parser.add_argument("--feature-bars", type=int, default=2500)
    args = parser.parse_args(argv)
    # every folder the benchmarks and their child processes make (lakes, instances of gigabytes) goes under one
    # scratch folder, removed at the end; benchmarks never touch the user's lake, instance or settings
    with tempfile.TemporaryDirectory(prefix="fa-bench-") as scratch:
        os.environ["TMPDIR"] = tempfile.tempdir = scratch
        os.environ["FA_DATA_DIR"] = tempfile.mkdtemp(prefix="fa-bench-data-")
        for name in ("FA_SOURCE", "FA_HISTORY_START", "FA_HISTORY_END", "FA_CALENDAR", "FA_TICKERS", "FA_FEATURES"):
            os.environ.pop(name, None)
        apply_env_defaults()
        print(f"# data in {os.environ['FA_DATA_DIR']}, {psutil.cpu_count()} cores", flush=True)
        from benchmarks import backtest, history, models, operations, throughput

        runs = {"history": lambda: history.bench_history(args.sample_sessions), "nightly": history.bench_nightly,
                "features": lambda: throughput.bench_features(args.feature_tickers, args.feature_bars),
                "training": models.bench_training, "serving": models.bench_serving,
                "backtest": backtest.bench_backtest, "nightly_universe": operations.bench_nightly_universe,
                "drift": operations.bench_drift_check}
        for name in args.which:
            runs[name]()


if __name__ == "__main__":
    main()
