"""Command line: `financial-assets run` materializes the graph and prints a summary; `tickers` manages partitions."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from financial_assets.settings import apply_env_defaults, env

DEFAULT_DAGSTER_HOME = ".dagster_home"


def _instance():
    import dagster as dg

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def _source_span(source, tickers: list[str]) -> tuple[str, str]:
    firsts, lasts = [], []
    for ticker in tickers:
        bars = source.load(ticker)
        firsts.append(bars["date"].min())
        lasts.append(bars["date"].max())
    return min(firsts).date().isoformat(), max(lasts).date().isoformat()


def cmd_run(args: argparse.Namespace) -> int:
    from financial_assets.definitions import defs
    from financial_assets.defs.resources import bar_source_from_env
    from financial_assets.runner import lake_rows, run_pipeline
    from financial_assets.core.tickers import normalize_ticker

    began = time.perf_counter()
    source = bar_source_from_env()
    tickers = [normalize_ticker(t) for t in args.tickers.split(",")] if args.tickers else source.tickers()
    first, last = _source_span(source, tickers)
    start = max(args.start or first, env("FA_HISTORY_START"))
    end = args.end or last
    instance = _instance()
    print(f"financial_assets: {len(tickers)} tickers {', '.join(tickers)}; sessions {start} .. {end}; "
          f"source {env('FA_SOURCE')}", flush=True)
    summary = run_pipeline(defs, instance, tickers, start, end)
    lake_root = Path(env("FA_DATA_DIR")).resolve() / "lake"
    print("\nruns:")
    for job, label, ok, seconds in summary.runs:
        print(f"  {job:<18} {label:<45} {'ok' if ok else 'FAILED'}  {seconds:6.1f}s")
    print("\npartitions materialized:")
    for asset, count in sorted(summary.partitions.items()):
        print(f"  {asset:<22} {count:>7}")
    print("\nlake rows:")
    for row in lake_rows(lake_root, sorted(summary.partitions)).itertuples():
        print(f"  {row.asset:<22} {row.rows:>9} rows in {row.files} files")
    passed = sum(c[0] for c in summary.checks.values())
    failed = sum(c[1] for c in summary.checks.values())
    print(f"\nchecks: {passed} passed, {failed} failed")
    for name, (ok, bad) in sorted(summary.checks.items()):
        print(f"  {name:<60} {'passed' if not bad else 'FAILED'}")
    print(f"\ndata: {lake_root}  (read it with duckdb: select * from read_parquet('{lake_root}/features/*/*.parquet'))")
    print(f"dagster instance: {os.environ['DAGSTER_HOME']}")
    print(f"UI: DAGSTER_HOME={os.environ['DAGSTER_HOME']} .venv/bin/dagster dev  ->  http://localhost:3000")
    print(f"total {time.perf_counter() - began:.1f}s")
    return 0 if summary.success else 1


def cmd_tickers(args: argparse.Namespace) -> int:
    from financial_assets.runner import register_tickers
    from financial_assets.core.tickers import normalize_ticker

    instance = _instance()
    names = [normalize_ticker(t) for t in args.names]
    print("\n".join(register_tickers(instance, names)))
    return 0


def main(argv: list[str] | None = None) -> int:
    apply_env_defaults()
    parser = argparse.ArgumentParser(prog="financial-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset for the source's tickers and dates, then summarise")
    run.add_argument("--tickers", help="comma-separated subset (default: every ticker of the source)")
    run.add_argument("--start", help="first date (default: the later of FA_HISTORY_START and the source's first bar)")
    run.add_argument("--end", help="last date (default: the source's last bar)")
    run.set_defaults(func=cmd_run)
    tick = sub.add_parser("tickers", help="add tickers to the dynamic `tickers` partitions and list them")
    tick.add_argument("names", nargs="*", help="tickers to add")
    tick.set_defaults(func=cmd_tickers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
