"""Runs the asset graph for a range of partitions as a handful of single-run backfills and summarises it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from financial_assets.defs.partitions import TICKERS_PARTITION_NAME, trading_date_partitions
from financial_assets.storage.lake import ParquetLake

#: the console shows warnings and errors only: one debug line per partition event would bury the summary
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass
class RunSummary:
    """What one invocation of the pipeline did."""

    runs: list[tuple[str, str, bool, float]] = field(default_factory=list)  # job, partition range, success, seconds
    partitions: dict[str, int] = field(default_factory=dict)                # asset -> partitions materialized
    checks: dict[str, list[int]] = field(default_factory=dict)              # check -> [passed, failed]

    @property
    def success(self) -> bool:
        return all(ok for _, _, ok, _ in self.runs)

    def record(self, job: str, label: str, result: dg.ExecuteInProcessResult, seconds: float) -> None:
        self.runs.append((job, label, result.success, seconds))
        for event in result.all_events:
            if event.event_type_value == "ASSET_MATERIALIZATION":
                name = event.asset_key.to_user_string()
                self.partitions[name] = self.partitions.get(name, 0) + 1
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                counts = self.checks.setdefault(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}", [0, 0])
                counts[0 if evaluation.passed else 1] += 1


def register_tickers(instance: dg.DagsterInstance, tickers: list[str]) -> list[str]:
    """Add missing tickers to the dynamic partitions; return the full, ordered list Dagster knows."""
    known = instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)
    new = [t for t in tickers if t not in known]
    if new:
        instance.add_dynamic_partitions(TICKERS_PARTITION_NAME, new)
    return instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)


def session_keys(start: str | None, end: str | None) -> list[str]:
    """Date partition keys between start and end inclusive (defaults: the whole partition set)."""
    keys = trading_date_partitions.get_partition_keys()
    return [k for k in keys if (start is None or k >= start) and (end is None or k <= end)]


def run_pipeline(
    defs: dg.Definitions, instance: dg.DagsterInstance, tickers: list[str], start: str, end: str
) -> RunSummary:
    """Materialize every asset for `tickers` x sessions in [start, end]: one run per job.

    Dagster ranges over ticker x date are boxes in the dynamic partition order, so the tickers
    are run in contiguous blocks of that order (one block when all tickers are wanted).
    """
    summary = RunSummary()
    dates = session_keys(start, end)
    if not dates:
        raise ValueError(f"no trading sessions between {start} and {end}")
    order = register_tickers(instance, tickers)
    for block in _contiguous_blocks(order, set(tickers)):
        label = f"{dates[0]}|{block[0]}...{dates[-1]}|{block[-1]}"
        _run(defs, instance, "ticker_assets_job", label, summary)
    _run(defs, instance, "sql_models_job", f"{dates[0]}...{dates[-1]}", summary)
    return summary


def _contiguous_blocks(order: list[str], wanted: set[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for ticker in order:
        if ticker in wanted:
            blocks[-1].append(ticker)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, label: str, summary: RunSummary) -> None:
    first, last = label.split("...")
    began = time.perf_counter()
    result = defs.resolve_job_def(job).execute_in_process(
        run_config=QUIET_CONSOLE, instance=instance, tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        raise_on_error=False,
    )
    summary.record(job, label, result, time.perf_counter() - began)


def lake_rows(lake_root: Path, assets: list[str]) -> pd.DataFrame:
    """Rows and files per asset in the lake, for the summary (read from Parquet footers only)."""
    lake = ParquetLake(lake_root)
    rows = []
    for asset in assets:
        files = lake.files(asset)
        count = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        rows.append({"asset": asset, "rows": count, "files": len(files)})
    return pd.DataFrame(rows)
