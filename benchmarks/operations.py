"""Operations: the nightly increment of a synthetic universe, and the drift check per ticker.

    python -m benchmarks nightly_universe drift

Settings shape the partitions, so each universe is built in a process of its own (FA_* set before the
code location is imported, as in `graphql_scale`). Its bars are synthetic walks with a planted mean-reverting
edge (AR(1) returns, phi -0.5, as in the drift and backtest graph tests), written as files for the folder
source, so each ticker's model passes the promotion gate and serves (on a random walk nothing serves, and
the increment would skip backtests and drift reports). Its untimed setup fills START until the session
before NIGHTLY through the bars and SQL stages, trains one logistic model per ticker as of AS_OF (the
champion) and serves the sessions after it (predictions, backtest). The timed increment is NIGHTLY
through the three stages; the models stage runs without cv_folds and trained_model (no retraining at
NIGHTLY): predictions, backtest, drift_report and its drift_check. The reference is the same increment
of a REFERENCE_TICKERS-ticker universe, measured in the same run and scaled linearly per ticker.
Target: under 60 s for 100 tickers on 2 cores.

The drift check is `score_drift`, which drift_report runs for every ticker, on real frames (each
ticker's FA_DRIFT_WINDOW-session window at the session before NIGHTLY against its champion's
reference rows, with their predicted probabilities), against the check as shipped before it on the
same frames: each column calibrated with Evidently's stattest called on up to 100 reference windows,
and Evidently's full Report built for every ticker. Target: under 1 s per ticker.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import bench_line

START, AS_OF, NIGHTLY = "2010-07-01", "2012-12-31", "2013-01-31"
REFERENCE_TICKERS = 5
#: the models stage's assets the nightly increment runs: serving and monitoring, no retraining
SERVED = ("predictions", "backtest")
NIGHTLY_MODELS = (*SERVED, "drift_report")
RESULT = "RESULT "


@dataclass(frozen=True)
class DriftCase:
    """One ticker's drift frames: the champion's reference rows and the current window, with their probabilities."""

    ticker: str
    reference: pd.DataFrame
    current: pd.DataFrame
    reference_predictions: np.ndarray | None
    current_predictions: np.ndarray | None
    memory: dict[str, int]


def _settings(folder: str) -> dict[str, str]:
    """The universe's settings: the bar files in `folder`, one cheap logistic model per ticker, drift at the run's
    last date."""
    return {"FA_SOURCE": "folder", "FA_SOURCE_DIR": folder, "FA_BENCHMARK_TICKER": "SYN000",
            "FA_HISTORY_START": START, "FA_HISTORY_END": NIGHTLY, "FA_CALENDAR": "XNYS",
            "FA_RETRAIN_CALENDAR": "year_end", "FA_MODEL_TYPES": "logistic", "FA_TUNING_TRIALS": "0",
            "FA_MIN_CHAMPION_OOS_ROWS": "100", "FA_POOLED_MODEL": "false", "FA_DRIFT_CALENDAR": "last"}


def _bar_files(n_tickers: int) -> str:
    """A folder of `n_tickers` <TICKER>.parquet files: constant-volatility walks with AR(1) returns (phi -0.5)."""
    from financial_assets.sources.synthetic import SyntheticSource

    folder = tempfile.mkdtemp(prefix="fa-bench-bars-")
    source = SyntheticSource(n_tickers=n_tickers, seed=7, start=START, end=NIGHTLY, mu=0.0, alpha=0.0, beta=0.0,
                             ar1=-0.5)
    for ticker in source.tickers():
        source.load(ticker).drop(columns=["ticker", "source_row"]).to_parquet(f"{folder}/{ticker}.parquet")
    return folder


def _child(n_tickers: int, part: str) -> list[str]:
    """Run `part` (nightly | drift) for an `n_tickers` universe in a fresh process; its stdout lines."""
    environment = {**os.environ, **_settings(_bar_files(n_tickers)),
                   "DAGSTER_HOME": tempfile.mkdtemp(prefix="fa-bench-home-"),
                   "FA_DATA_DIR": tempfile.mkdtemp(prefix="fa-bench-data-")}
    done = subprocess.run([sys.executable, "-m", "benchmarks.operations", part, str(n_tickers)],
                          env=environment, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if done.returncode:
        raise RuntimeError(f"the {n_tickers}-ticker {part} bench failed:\n{done.stderr[-4000:]}")
    lines = done.stdout.splitlines()
    for line in lines:
        if line.startswith(("# ", "BENCH ")):
            print(line, flush=True)
    return lines


def _result(lines: list[str]) -> dict[str, float]:
    """The measurements the child printed on its RESULT line."""
    (line,) = [x for x in lines if x.startswith(RESULT)]
    return json.loads(line.removeprefix(RESULT))


def bench_nightly_universe(n_tickers: int = 100) -> str:
    """NIGHTLY for `n_tickers` tickers through the whole graph, against REFERENCE_TICKERS tickers scaled per ticker."""
    reference = _result(_child(REFERENCE_TICKERS, "nightly"))
    measured = _result(_child(n_tickers, "nightly"))
    scaled = reference["nightly_s"] * n_tickers / REFERENCE_TICKERS
    print(f"# {n_tickers} tickers: setup {measured['setup_s']:.0f} s, nightly {measured['nightly_s']:.1f} s; "
          f"{REFERENCE_TICKERS} tickers: nightly {reference['nightly_s']:.1f} s, x"
          f"{n_tickers / REFERENCE_TICKERS:g} = {scaled:.0f} s; target under 60 s: "
          f"{'met' if measured['nightly_s'] < 60 else 'NOT met'}", flush=True)
    return bench_line("nightly_universe_increment_wall", measured["nightly_s"], "s", measured["nightly_s"] / scaled,
                      f"{REFERENCE_TICKERS}_ticker_increment_x{n_tickers / REFERENCE_TICKERS:g}_per_ticker_linear")


def bench_drift_check(n_tickers: int = REFERENCE_TICKERS) -> str:
    """The drift check per ticker on an `n_tickers` universe's real frames, against Evidently's default preset."""
    (line,) = [x for x in _child(n_tickers, "drift") if x.startswith("BENCH ")]
    return line


def _as_shipped(case: DriftCase) -> None:
    """The drift check as it cost before scoring without a Report: every column calibrated by calling Evidently's
    stattest on up to 100 half-overlapping reference windows, then Evidently's full Report for the ticker."""
    from financial_assets.drift.calibration import STATTEST, stattest_score, window_starts

    reference = case.reference.assign(**({} if case.reference_predictions is None
                                          else {"predicted_proba": case.reference_predictions}))
    window = len(case.current)
    for column in reference.columns:
        values = reference[column].dropna().to_numpy()
        for start in window_starts(len(values), window, 100):
            stattest_score(STATTEST, np.delete(values, slice(start, start + window)), values[start:start + window])
    _score(case).evidently_report()


def _score(case: DriftCase):
    from financial_assets.drift import DriftConfig, score_drift

    return score_drift(case.reference, case.current, list(case.current.columns), DriftConfig(), memory=case.memory,
                       ticker=case.ticker, reference_predictions=case.reference_predictions,
                       current_predictions=case.current_predictions)


def drift_check_line(cases: Sequence[DriftCase]) -> str:
    """Time the drift check (`score_drift`, what drift_report runs for every ticker) and the same check as shipped
    before (calibration by Evidently calls per window and a full Evidently Report per ticker); print the BENCH line.
    The Report alone (what a flagged ticker, or a report opened on demand, still costs) is printed beside it."""
    ours: list[float] = []
    shipped: list[float] = []
    report: list[float] = []
    for case in cases:
        began = time.perf_counter()
        result = _score(case)
        ours.append(time.perf_counter() - began)
        began = time.perf_counter()
        result.evidently_report()
        report.append(time.perf_counter() - began)
        began = time.perf_counter()
        _as_shipped(case)
        shipped.append(time.perf_counter() - began)
    mean, reference = float(np.mean(ours)), float(np.mean(shipped))
    rows, window = cases[0].reference, cases[0].current
    print(f"# drift check on {len(cases)} tickers ({len(rows)} reference x {len(window)} current rows, "
          f"{window.shape[1]} feature columns): {mean:.3f} s per ticker (max {max(ours):.3f}); as shipped "
          f"{reference:.2f} s; Evidently's HTML Report alone {np.mean(report):.2f} s (only flagged tickers, or on "
          f"demand); target under 1 s: {'met' if mean < 1 else 'NOT met'}", flush=True)
    return bench_line("drift_check_per_ticker", mean, "s", mean / reference,
                      "as_shipped_calibration_by_stattest_calls_and_full_evidently_report")


def _drift_cases(tickers: list[str], day: pd.Timestamp) -> list[DriftCase]:
    """Each ticker's drift frames at `day`, as drift_report reads them from the lake."""
    from financial_assets.defs.drift.inputs import Tables, partition_inputs
    from financial_assets.defs.resources import LakeResource
    from financial_assets.drift import DriftConfig
    from financial_assets.settings import env

    tables = Tables.read(LakeResource(data_dir=env("FA_DATA_DIR")), tickers, day)
    cases = []
    for ticker in tickers:
        inputs = partition_inputs(tables, ticker, day, int(env("FA_DRIFT_WINDOW")), DriftConfig())
        if inputs is None:
            raise RuntimeError(f"{ticker} has no champion's prediction at {day:%Y-%m-%d}")
        cases.append(DriftCase(ticker, inputs.reference, inputs.current, inputs.reference_predictions,
                               inputs.current_predictions, inputs.memory))
    return cases


def _universe(n_tickers: int, part: str) -> None:
    """In the child process: the untimed setup, then the timed increment (nightly) or the drift check (drift)."""
    import dagster as dg

    from financial_assets.app.runner import StageRun, launch, run_range
    from financial_assets.definitions import defs
    from financial_assets.defs.partitions import session_keys
    from financial_assets.runs.instance import project_instance
    from financial_assets.runs.stages import plan_stages
    from financial_assets.settings import env
    from financial_assets.sources import make_source

    instance = project_instance()
    tickers = make_source("folder", folder=env("FA_SOURCE_DIR")).tickers()
    stages = plan_stages(defs)
    upstream = {s.job_name for s in stages if dg.AssetKey("drift_report") not in s.asset_keys}
    (models,) = [s.job_name for s in stages if dg.AssetKey("drift_report") in s.asset_keys]
    before, first_served = session_keys(end=NIGHTLY)[-2], session_keys(AS_OF)[1]

    def models_run(first: str, last: str, assets: Sequence[str]) -> StageRun:
        run = launch(instance, models, f"{first}|{tickers[0]}", f"{last}|{tickers[-1]}",
                     frozenset(dg.AssetKey(a) for a in assets))
        if run.status != "SUCCESS":
            raise RuntimeError(f"{models} {run.label}: {run.error}")
        return run

    began = time.perf_counter()
    history = run_range(defs, instance, tickers, START, before, jobs=upstream)
    assert history.success, [r.error for r in history.runs]
    trained = models_run(AS_OF, AS_OF, ("cv_folds", "trained_model"))
    served = models_run(first_served, before, SERVED)
    setup = time.perf_counter() - began
    print(f"# {n_tickers} tickers, setup {setup:.0f} s: {START}..{before} "
          f"{', '.join(f'{r.job} {r.seconds:.0f} s' for r in history.runs)}; trained as of {AS_OF} in "
          f"{trained.seconds:.0f} s; served {first_served}..{before} in {served.seconds:.0f} s", flush=True)
    if part == "drift":
        drift_check_line(_drift_cases(tickers, pd.Timestamp(before)))
        return
    began = time.perf_counter()
    upstream_runs = run_range(defs, instance, tickers, NIGHTLY, NIGHTLY, jobs=upstream)
    assert upstream_runs.success, [r.error for r in upstream_runs.runs]
    nightly = models_run(NIGHTLY, NIGHTLY, NIGHTLY_MODELS)
    seconds = time.perf_counter() - began
    if nightly.materialized.get("drift_report") != n_tickers or "drift_report:drift_check" not in nightly.checks:
        raise RuntimeError(f"the nightly run materialized {nightly.materialized}, checks {nightly.checks}")
    print(f"# {n_tickers} tickers, nightly {NIGHTLY} in {seconds:.1f} s: "
          f"{', '.join(f'{r.job} {r.seconds:.1f} s' for r in [*upstream_runs.runs, nightly])}; checks {nightly.checks}",
          flush=True)
    print(RESULT + json.dumps({"setup_s": setup, "nightly_s": seconds}), flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run one part of the operations bench for one universe size, in its own process, and print its result line."""
    parser = argparse.ArgumentParser(description="one universe of the operations bench (run by its parent process)")
    parser.add_argument("part", choices=("nightly", "drift"))
    parser.add_argument("tickers", type=int)
    args = parser.parse_args(argv)
    _universe(args.tickers, args.part)


if __name__ == "__main__":
    main()
