"""The whole embedded history through every ticker asset and SQL model, and the nightly increment.

Measured on the project's own instance (`financial_assets.runs.instance`: SQLite, batched event
log, assets reporting their own partitions). The reference is the cost per partition and asset of
the same assets on Dagster's default SQLite instance with Dagster's ordinary per-partition events
(the graph as first shipped), measured on a sample in the same run and extrapolated.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from benchmarks import bench_line

REFERENCE_YAML = "telemetry:\n  enabled: false\n"


@contextmanager
def _dagster_home(config: str | None):
    """A fresh DAGSTER_HOME (with `config` as dagster.yaml, or the project's when None) for one measurement."""
    previous = os.environ.get("DAGSTER_HOME")
    home = Path(tempfile.mkdtemp(prefix="fa-bench-home-"))
    os.environ["DAGSTER_HOME"] = str(home)
    if config is not None:
        (home / "dagster.yaml").write_text(config)
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous


def _reference_seconds_per_partition_asset(defs: dg.Definitions, tickers: list[str], sessions: list[str],
                                           stage_keys: list[dg.AssetKey]) -> float:
    """Dagster's default SQLite instance, ordinary events, event batching off: seconds per partition and asset."""
    from financial_assets.app.runner import register_tickers
    from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG

    batch = os.environ.get("DAGSTER_EVENT_BATCH_SIZE")
    os.environ["DAGSTER_EVENT_BATCH_SIZE"] = "0"
    try:
        with _dagster_home(REFERENCE_YAML):
            instance = dg.DagsterInstance.get()
            register_tickers(instance, tickers)
            job = dg.define_asset_job("as_shipped_reference", selection=stage_keys).resolve(
                asset_graph=defs.resolve_asset_graph())
            began = time.perf_counter()
            result = job.execute_in_process(instance=instance, raise_on_error=True, tags={
                RANGE_START_TAG: f"{sessions[0]}|{tickers[0]}", RANGE_END_TAG: f"{sessions[-1]}|{tickers[-1]}"},
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
            seconds = time.perf_counter() - began
            assert result.success
    finally:
        os.environ["DAGSTER_EVENT_BATCH_SIZE"] = batch or ""
    return seconds / (len(tickers) * len(sessions) * len(stage_keys))


def bench_history(sample_sessions: int) -> None:
    """The whole embedded history, every ticker asset and SQL model, against the as-shipped cost per partition."""
    from financial_assets.app.runner import run_range
    from financial_assets.definitions import defs
    from financial_assets.defs.partitions import session_keys
    from financial_assets.runs.instance import project_instance
    from financial_assets.runs.stages import plan_stages
    from financial_assets.sources import make_source

    tickers = make_source("embedded").tickers()
    sessions = session_keys()
    stages = [s for s in plan_stages(defs) if s.index <= 2]
    with _dagster_home(None):
        began = time.perf_counter()
        summary = run_range(defs, project_instance(), tickers, sessions[0], sessions[-1],
                            jobs={s.job_name for s in stages})
        seconds = time.perf_counter() - began
    assert summary.success, [r.error for r in summary.runs]
    partition_assets = sum(summary.partitions().values())
    ticker_stage = stages[0]
    per_partition = _reference_seconds_per_partition_asset(defs, tickers[:2], sessions[-sample_sessions:],
                                                           list(ticker_stage.asset_keys))
    as_shipped = per_partition * partition_assets
    print(f"# {len(tickers)} tickers x {len(sessions)} sessions: {partition_assets} partition-assets in {seconds:.1f}s "
          f"({', '.join(f'{r.job} {r.seconds:.1f}s' for r in summary.runs)}); "
          f"as shipped: {per_partition * 1000:.1f} ms per partition-asset on a {2 * sample_sessions}-partition "
          f"sample, {as_shipped:.0f}s extrapolated")
    bench_line("history_backfill_wall", seconds, "s", as_shipped / seconds, "as_shipped_extrapolated_from_sample")


def bench_nightly() -> None:
    """One new date for every ticker through the whole graph, after the history before it was built."""
    from financial_assets.app.runner import run_range
    from financial_assets.definitions import defs
    from financial_assets.defs.partitions import session_keys
    from financial_assets.runs.instance import project_instance
    from financial_assets.sources import make_source

    tickers = make_source("embedded").tickers()
    sessions = session_keys("2012-03-01")
    with _dagster_home(None):
        instance = project_instance()
        began = time.perf_counter()
        history = run_range(defs, instance, tickers, sessions[0], sessions[-2])
        history_seconds = time.perf_counter() - began
        began = time.perf_counter()
        nightly = run_range(defs, instance, tickers, sessions[-1], sessions[-1])
        seconds = time.perf_counter() - began
    assert history.success and nightly.success, [r.error for r in history.runs + nightly.runs]
    stages = ", ".join(f"{r.job} {r.seconds:.1f}s" for r in nightly.runs)
    print(f"# nightly {sessions[-1]} for {len(tickers)} tickers: {stages}; the year before it: {history_seconds:.1f}s")
    bench_line("nightly_increment_wall", seconds, "s", seconds / (history_seconds / (len(sessions) - 1)),
               "one_session_share_of_the_year_backfill")
