"""Helpers for tests that run the project's graph in process, through the project's own range runner."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import dagster as dg
import pytest

from financial_assets.app.runner import StageRun, launch, register_tickers
from financial_assets.settings import DEFAULTS


def run_stage(job_name: str, first: str, last: str, instance: dg.DagsterInstance,
              tickers: list[str] | None = None, assets: list[str] | None = None) -> StageRun:
    """Run one stage job (or some of its assets) over first...last as one run."""
    if tickers:
        register_tickers(instance, tickers)
    selection = frozenset(dg.AssetKey(a) for a in assets) if assets else None
    return launch(instance, job_name, first, last, selection)


def materialized(instance: dg.DagsterInstance, run: StageRun, asset: str) -> list[str]:
    """Sorted partition keys of `asset` that the run materialized, read back through the instance."""
    found = instance.get_asset_partitions_for_run(run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    return sorted(found.get(dg.AssetKey(asset), set()))


def partition_metadata(instance: dg.DagsterInstance, asset: str, partition: str) -> dict:
    """The metadata of the latest materialization of one partition of `asset`, as plain values."""
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1)
    (record,) = result.records
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def check_results(run: StageRun) -> dict[str, tuple[bool, str]]:
    """check name -> (passed, severity) for the checks evaluated in the run."""
    return {name.split(":", 1)[1]: outcome for name, outcome in run.checks.items()}


@contextlib.contextmanager
def module_settings(data_dir: Path, settings: Mapping[str, str]) -> Iterator[pytest.MonkeyPatch]:
    """Every FA_* setting at its default, then `settings` and FA_DATA_DIR, for a module-scoped fixture (the autouse
    reset is per test); restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**DEFAULTS, **settings, "FA_DATA_DIR": str(data_dir)}.items():
            patch.setenv(name, value)
        yield patch
