"""Command line: `run` materializes the graph and summarises it, `materialize` runs a selection for partitions,
`tickers` manages the ticker partitions. Errors are one line each; `--verbose` adds tracebacks.

Arguments, partition keys and the source's files are checked before the code location is loaded
(seconds of imports), so a wrong argument is refused in about a second."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from financial_assets.settings import DEFAULTS, apply_env_defaults, env

#: exit codes (EXIT_CODES says what each means)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  every run succeeded and no file or bar was rejected
  1  a run failed (the summary names the stage and its cause), whether or not data was also rejected
  2  the command could not start: a wrong argument or setting, one line says which
  3  every run succeeded but files or bars were rejected: the summary names each ticker, date, rule and
     value, and a data_quality alert went to FA_ALERT_SINKS"""
#: assets whose runs read the source and validate bars, so that their runs can reject data
REJECTING_ASSETS = frozenset({"raw_bars", "validated_bars", "quarantined_bars"})
#: hosts `dagster dev` may bind as they are; any other host in FA_DAGSTER_URL is served through a proxy
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def iso_date(text: str) -> str:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2010-06-01") from None


def _source_span(source, tickers: list[str]) -> tuple[str, str]:
    """The first and last date of the source's bars of `tickers`. A file that cannot be read is left out: its
    ticker still runs, and its rejection is reported like any other."""
    from financial_assets.core.errors import BarDataError

    spans, errors = [], []
    for ticker in tickers:
        try:
            dates = source.load(ticker)["date"]
        except BarDataError as err:
            errors.append(str(err))
            continue
        if len(dates):
            spans.append((dates.min(), dates.max()))
    if not spans:
        found = f": {'; '.join(errors[:3])}" if errors else ""
        raise BarDataError("source_bars", f"no ticker has bars to run{found}; give --start and --end to run anyway")
    return min(s for s, _ in spans).date().isoformat(), max(e for _, e in spans).date().isoformat()


def _ui_hint(home: str) -> tuple[str, str]:
    """A command that opens the UI on this instance and lake from any directory, at FA_DAGSTER_URL, and that URL."""
    settings = {name: os.environ[name] for name in DEFAULTS if name.startswith("FA_") and os.environ.get(name)
                and os.environ[name] != DEFAULTS[name]}
    settings["FA_DATA_DIR"] = str(Path(env("FA_DATA_DIR")).resolve())
    workspace = Path(__file__).resolve().parents[2] / "workspace.yaml"
    target = f"-w {workspace}" if workspace.exists() else "-m financial_assets.definitions"
    url = urlsplit(env("FA_DAGSTER_URL"))
    host = url.hostname if url.hostname in LOOPBACK else "127.0.0.1"
    port = url.port or (443 if url.scheme == "https" else 80)
    assignments = " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    dagster = Path(sys.executable).parent / "dagster"
    command = f"DAGSTER_HOME={home} {assignments} {dagster} dev {target} -h {host} -p {port}"
    return command, env("FA_DAGSTER_URL")


def _print_rejected(problems: list, unusable: list) -> None:
    """The rejected-data section: unusable files, then each ticker's rejections."""
    print(f"\nrejected data: {len(problems) + len(unusable)} ticker(s) or file(s)" if problems or unusable
          else "\nrejected data: none")
    for err in unusable:
        print(f"  {err}")
    for problem in problems:
        print(f"  {problem.line()}")


def _exit_code(success: bool, rejected: bool) -> int:
    """EXIT_FAILED when a run failed, else EXIT_REJECTED when data was rejected, else EXIT_OK."""
    if not success:
        return EXIT_FAILED
    return EXIT_REJECTED if rejected else EXIT_OK


def _check_window(start: str, end: str) -> None:
    if start > end:
        raise ValueError(f"the window {start} .. {end} is empty: the start is after the end")


def cmd_run(args: argparse.Namespace) -> int:
    """`run`: every stage over the range, then the summary; the exit code says what happened."""
    from financial_assets.core.tickers import TICKERS_PARTITION_NAME, normalize_ticker

    began = time.perf_counter()
    named = [normalize_ticker(t) for t in args.tickers.split(",")] if args.tickers else None
    _check_window(args.start or "", args.end or "9999")
    from financial_assets.defs.resources import resolved_resources
    from financial_assets.load_settings import load_settings
    from financial_assets.runs.instance import project_instance
    from financial_assets.sources import unusable_inputs

    with resolved_resources() as resources:
        source = resources["bar_source"].source()
        universe = source.tickers()
        unusable = unusable_inputs(source)
        tickers = named or universe
        instance = project_instance()
        # a benchmark outside the universe would leave the cross-asset features null: an error at start
        resources["bar_source"].benchmark(set(tickers) | set(instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)))
        if args.start is None or args.end is None:
            first, last = _source_span(source, [t for t in tickers if t in universe] or tickers)
        span = load_settings()
        start = max(args.start or first, span.history_start)
        end = min(args.end or last, span.history_end())
        _check_window(start, end)
        print(f"financial_assets: {len(tickers)} tickers {', '.join(tickers)}; sessions {start} .. {end}; "
              f"source {env('FA_SOURCE')}", flush=True)
        from financial_assets.app.catalog import remember
        from financial_assets.app.report import ticker_problems
        from financial_assets.app.runner import QUIET, VERBOSE, run_range
        from financial_assets.definitions import defs

        remember(defs)

        def held_back() -> set[str]:
            found = ticker_problems(resources["lake"], resources["market"], tickers, start, end)
            return {problem.ticker for problem in found if problem.held_back}

        summary = run_range(defs, instance, tickers, start, end, console=VERBOSE if args.verbose else QUIET,
                            held_back=held_back)
        problems = ticker_problems(resources["lake"], resources["market"], tickers, start, end)
        lake_root = resources["lake"].parquet.root
        outcomes = _model_lines(resources["lake"], resources["market"].sessions(), end, tickers)
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
    _print_rejected(problems, unusable)
    for title, lines in outcomes.items():
        print(f"\n{title}:" + ("" if lines else " none"))
        for line in lines:
            print(f"  {line}")
    print(f"\ndata: {lake_root}  (duckdb: select * from read_parquet('{lake_root}/features/*/*.parquet'))")
    print(f"dagster instance: {os.environ['DAGSTER_HOME']}")
    command, url = _ui_hint(os.environ["DAGSTER_HOME"])
    print(f"UI: {command}  ->  {url}")
    print(f"total {time.perf_counter() - began:.1f}s")
    return _exit_code(summary.success, bool(problems or unusable))


def _model_lines(lake, sessions, end: str, tickers: list[str]) -> dict[str, list[str]]:
    """Per ticker: the model serving at `end` (or "no champion") with its out-of-sample AUC, interval and baselines,
    its age in sessions and why it serves; the backtest beside buy-and-hold; the newest drift report and what
    drifted."""
    import pandas as pd

    from financial_assets.backtest.summary import summary_lines as backtest_lines
    from financial_assets.drift.summary import summary_lines as drift_lines
    from financial_assets.models.champions import summary_lines as champion_lines

    trained, metrics = lake.read("trained_model", tickers), lake.read("backtest_metrics", tickers)
    reports = lake.read("drift_report", tickers)
    return {"models (out of sample; serving at the end of the range)":
            champion_lines(trained, sessions, pd.Timestamp(end)) if len(trained) else [],
            "backtests (out of sample, after costs)": backtest_lines(metrics) if len(metrics) else [],
            "drift (newest report per ticker)": drift_lines(reports)}


def cmd_materialize(args: argparse.Namespace) -> int:
    """`materialize`: the selected assets for a partition or range, each part checked before launch."""
    from functools import cache

    from financial_assets.app.selection import box_tickers, checked_launch

    @cache
    def registered() -> list[str]:
        from financial_assets.core.tickers import TICKERS_PARTITION_NAME
        from financial_assets.runs.instance import project_instance

        return project_instance().get_dynamic_partitions(TICKERS_PARTITION_NAME)

    stage, names, first, last = checked_launch(args.select, args.partition, args.partition_range, registered)
    import dagster as dg

    from financial_assets.app.report import ticker_problems
    from financial_assets.app.runner import QUIET, VERBOSE, launch
    from financial_assets.defs.resources import resolved_resources
    from financial_assets.runs.instance import project_instance

    run = launch(project_instance(), stage.job, first, last, frozenset(dg.AssetKey.from_user_string(n) for n in names),
                 VERBOSE if args.verbose else QUIET)
    print(f"{run.job} {run.label}: {run.status} in {run.seconds:.1f}s (run {run.run_id})")
    for asset, count in sorted(run.materialized.items()):
        print(f"  {asset:<22} {count:>7} partitions")
    if run.error:
        print(f"  {run.error}")
    problems = []
    if stage.by_ticker and REJECTING_ASSETS & set(names):
        with resolved_resources() as resources:
            problems = ticker_problems(resources["lake"], resources["market"], box_tickers(first, last, registered()),
                                       first.split("|")[0], last.split("|")[0])
        _print_rejected(problems, [])
    return _exit_code(run.status == "SUCCESS", bool(problems))


def cmd_tickers(args: argparse.Namespace) -> int:
    """`tickers`: add the named tickers to the `tickers` partitions and list them all."""
    from financial_assets.app.runner import register_tickers
    from financial_assets.core.tickers import normalize_ticker
    from financial_assets.runs.instance import project_instance

    print("\n".join(register_tickers(project_instance(), [normalize_ticker(t) for t in args.names])))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    described = {"epilog": EXIT_CODES, "formatter_class": argparse.RawDescriptionHelpFormatter}
    top = argparse.ArgumentParser(prog="financial-assets", description=__doc__, **described)
    top.add_argument("--verbose", action="store_true", help="print tracebacks of errors")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset for the source's tickers and dates, then summarise",
                         description="Materialize every asset for the source's tickers and dates, one run per stage, "
                         "then summarise runs, checks, rejected data, models, backtests and drift.", **described)
    run.add_argument("--tickers", help="comma-separated subset (default: every ticker of the source)")
    run.add_argument("--start", type=iso_date, help="first date (default: the later of FA_HISTORY_START and the "
                     "source's first bar)")
    run.add_argument("--end", type=iso_date, help="last date (default: the source's last bar)")
    run.set_defaults(func=cmd_run)
    mat = sub.add_parser("materialize",
                         help="materialize a selection of assets for one partition or a range, as one run",
                         description="Materialize a selection of assets of one stage for one partition or a range, "
                         "as one run; a run that validates bars lists every rejected file or bar.", **described)
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
    """Parse the arguments and run the command; bad arguments or settings give one line and exit code 2."""
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
