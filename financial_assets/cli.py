"""Command line: `run` materializes the graph and summarises it, `materialize` runs a selection for partitions,
`tickers` manages the ticker partitions. Errors are one line each; `--verbose` adds tracebacks."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

from financial_assets.settings import DEFAULTS, apply_env_defaults, env

#: exit codes: 1 when data was rejected or a run failed, 2 when the command could not start
EXIT_REJECTED, EXIT_USAGE = 1, 2


def iso_date(text: str) -> str:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2010-06-01") from None


def _source_span(source, tickers: list[str]) -> tuple[str, str]:
    spans = [source.load(t)["date"] for t in tickers]
    spans = [s for s in spans if len(s)]
    return min(s.min() for s in spans).date().isoformat(), max(s.max() for s in spans).date().isoformat()


def _ui_hint(home: str) -> str:
    """A command that opens the UI on this instance and lake from any directory."""
    settings = {name: os.environ[name] for name in DEFAULTS if name.startswith("FA_") and os.environ.get(name)
                and os.environ[name] != DEFAULTS[name]}
    settings["FA_DATA_DIR"] = str(Path(env("FA_DATA_DIR")).resolve())
    workspace = Path(__file__).resolve().parents[1] / "workspace.yaml"
    target = f"-w {workspace}" if workspace.exists() else "-m financial_assets.definitions"
    assignments = " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    return f"DAGSTER_HOME={home} {assignments} {Path(sys.executable).parent / 'dagster'} dev {target}"


def cmd_run(args: argparse.Namespace) -> int:
    from financial_assets.core.tickers import normalize_ticker
    from financial_assets.definitions import defs
    from financial_assets.defs.resources import resolved_resources
    from financial_assets.runs.instance import project_instance
    from financial_assets.runs.report import ticker_problems
    from financial_assets.runs.runner import QUIET, VERBOSE, register_tickers, run_range
    from financial_assets.sources import unusable_inputs

    began = time.perf_counter()
    with resolved_resources() as resources:
        source = resources["bar_source"].source()
        universe = source.tickers()
        unusable = unusable_inputs(source)
        tickers = [normalize_ticker(t) for t in args.tickers.split(",")] if args.tickers else universe
        instance = project_instance()
        # a benchmark outside the universe would leave the cross-asset features null: an error at start
        resources["bar_source"].benchmark(set(tickers) | set(register_tickers(instance, [])))
        first, last = _source_span(source, [t for t in tickers if t in universe] or tickers)
        start = max(args.start or first, env("FA_HISTORY_START"))
        end = min(args.end or last, _history_end())
        if start > end:
            raise ValueError(f"the window {start} .. {end} is empty: the start is after the end")
        print(f"financial_assets: {len(tickers)} tickers {', '.join(tickers)}; sessions {start} .. {end}; "
              f"source {env('FA_SOURCE')}", flush=True)
        summary = run_range(defs, instance, tickers, start, end, console=VERBOSE if args.verbose else QUIET)
        problems = ticker_problems(resources["lake"], resources["market"], tickers, start, end)
        lake_root = resources["lake"].parquet.root
        outcomes = _model_lines(resources["lake"], tickers)
    print("\nruns:")
    for run in summary.runs:
        print(f"  {run.job:<26} {run.label:<45} {run.status:<8} {run.seconds:6.1f}s  {run.run_id[:8]}")
        if run.error:
            print(f"      {run.error}")
    print("\npartitions materialized:")
    for asset, count in sorted(summary.partitions().items()):
        print(f"  {asset:<22} {count:>7}")
    checks = [(name, ok, sev) for run in summary.runs for name, (ok, sev) in run.checks.items()]
    print(f"\nchecks: {sum(ok for _, ok, _ in checks)} passed, {sum(not ok for _, ok, _ in checks)} failed")
    for name, ok, severity in sorted(checks):
        print(f"  {name:<70} {'passed' if ok else 'FAILED (' + severity + ')'}")
    print(f"\nrejected data: {len(problems) + len(unusable)} ticker(s) or file(s)" if problems or unusable
          else "\nrejected data: none")
    for err in unusable:
        print(f"  {err}")
    for problem in problems:
        print(f"  {problem.line()}")
    for title, lines in outcomes.items():
        print(f"\n{title}:" + ("" if lines else " none"))
        for line in lines:
            print(f"  {line}")
    print(f"\ndata: {lake_root}  (duckdb: select * from read_parquet('{lake_root}/features/*/*.parquet'))")
    print(f"dagster instance: {os.environ['DAGSTER_HOME']}")
    print(f"UI: {_ui_hint(os.environ['DAGSTER_HOME'])}  ->  http://localhost:3000")
    print(f"total {time.perf_counter() - began:.1f}s")
    return 0 if summary.success and not problems and not unusable else EXIT_REJECTED


def _model_lines(lake, tickers: list[str]) -> dict[str, list[str]]:
    """Per ticker: the champion with its out-of-sample AUC, interval and baseline; the backtest beside buy-and-hold;
    the newest drift report and what drifted."""
    from financial_assets.backtest.summary import summary_lines as backtest_lines
    from financial_assets.drift.summary import summary_lines as drift_lines
    from financial_assets.models.champions import summary_lines as champion_lines

    trained, metrics = lake.read("trained_model", tickers), lake.read("backtest_metrics", tickers)
    reports = lake.read("drift_report", tickers)
    return {"models (out of sample)": champion_lines(trained) if len(trained) else [],
            "backtests (out of sample, after costs)": backtest_lines(metrics) if len(metrics) else [],
            "drift (newest report per ticker)": drift_lines(reports)}


def _history_end() -> str:
    from financial_assets.defs.partitions import history_end

    return history_end()


def cmd_materialize(args: argparse.Namespace) -> int:
    from financial_assets.runs.instance import project_instance
    from financial_assets.runs.runner import QUIET, VERBOSE
    from financial_assets.runs.selection import launch_selection

    run = launch_selection(project_instance(), args.select, partition=args.partition,
                           partition_range=args.partition_range, console=VERBOSE if args.verbose else QUIET)
    print(f"{run.job} {run.label}: {run.status} in {run.seconds:.1f}s (run {run.run_id})")
    for asset, count in sorted(run.materialized.items()):
        print(f"  {asset:<22} {count:>7} partitions")
    if run.error:
        print(f"  {run.error}")
    return 0 if run.status == "SUCCESS" else EXIT_REJECTED


def cmd_tickers(args: argparse.Namespace) -> int:
    from financial_assets.core.tickers import normalize_ticker
    from financial_assets.runs.instance import project_instance
    from financial_assets.runs.runner import register_tickers

    print("\n".join(register_tickers(project_instance(), [normalize_ticker(t) for t in args.names])))
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    top = argparse.ArgumentParser(prog="financial-assets", description=__doc__)
    top.add_argument("--verbose", action="store_true", help="print tracebacks of errors")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset for the source's tickers and dates, then summarise")
    run.add_argument("--tickers", help="comma-separated subset (default: every ticker of the source)")
    run.add_argument("--start", type=iso_date, help="first date (default: the later of FA_HISTORY_START and the "
                     "source's first bar)")
    run.add_argument("--end", type=iso_date, help="last date (default: the source's last bar)")
    run.set_defaults(func=cmd_run)
    mat = sub.add_parser("materialize", help="materialize a selection of assets for one partition or a range, as one run")
    mat.add_argument("--select", required=True, help="comma-separated asset names, e.g. raw_bars,validated_bars")
    where = mat.add_mutually_exclusive_group(required=True)
    where.add_argument("--partition", help="DATE|TICKER for ticker x date assets, DATE for date assets")
    where.add_argument("--partition-range", help="FIRST...LAST, e.g. 2013-01-02|AAPL...2013-03-01|MSFT")
    mat.set_defaults(func=cmd_materialize)
    tick = sub.add_parser("tickers", help="add tickers to the dynamic `tickers` partitions and list them")
    tick.add_argument("names", nargs="*", help="tickers to add")
    tick.set_defaults(func=cmd_tickers)
    return top


def main(argv: list[str] | None = None) -> int:
    apply_env_defaults()
    # MLflow's progress bars and info lines would bury the summary
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    args = parser().parse_args(argv)
    if not args.verbose:  # library warnings (numpy, pandas) belong to --verbose; the summary names every problem
        warnings.simplefilter("ignore")
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError) as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
