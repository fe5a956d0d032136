"""Canaries for the Dagster internals the project relies on (financial_assets/runs/internals.py) and for the
batched event log: if a Dagster upgrade changes any of this behaviour, these fail first. Where the package may use
private API at all: test_dagster_private_api.py."""

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from financial_assets.runs.event_log_storage import BatchedSqliteEventLogStorage
from financial_assets.runs.instance import local_instance_yaml
from financial_assets.runs.internals import (
    CODE_LOCATION,
    DEFER_TAGS,
    launch_in_process,
    planned_partitions,
    report_partitions,
)
from financial_assets.runs.stages import BARS_JOB
from financial_assets_tests.dagster_helpers import materialized, partition_metadata, run_stage
from financial_assets_tests.paths import ROOT

#: the `instance` fixture (conftest.py) this module's tests get
pytestmark = pytest.mark.instance(project=True)

PARTS = dg.MultiPartitionsDefinition({"date": dg.DailyPartitionsDefinition("2024-01-01", end="2024-01-11"),
                                      "ticker": dg.StaticPartitionsDefinition(["A", "B", "C"])})
RANGE = {"dagster/asset_partition_range_start": "2024-01-01|A", "dagster/asset_partition_range_end": "2024-01-10|C"}


@dg.asset(partitions_def=PARTS, backfill_policy=dg.BackfillPolicy.single_run())
def reports_b_only(context: dg.AssetExecutionContext) -> None:
    """Writes only ticker B's partitions and says so."""
    written = [k for k in planned_partitions(context) if k.endswith("|B")]
    report_partitions(context, "reports_b_only", {k: {"dagster/row_count": dg.MetadataValue.int(i)}
                                                  for i, k in enumerate(written)})


@dg.asset(partitions_def=PARTS, backfill_policy=dg.BackfillPolicy.single_run())
def fails(context: dg.AssetExecutionContext) -> None:
    """Fails while CANARY_FAIL=1, else writes ticker B's partitions."""
    keys = planned_partitions(context)
    if os.environ.get("CANARY_FAIL") == "1":
        raise RuntimeError("boom")
    report_partitions(context, "fails", {k: {} for k in keys if k.endswith("|B")})


DEFS = dg.Definitions(assets=[reports_b_only, fails], jobs=[
    dg.define_asset_job("deferred", selection=[reports_b_only], partitions_def=PARTS, tags=DEFER_TAGS),
    dg.define_asset_job("ordinary", selection=[reports_b_only], partitions_def=PARTS),
    dg.define_asset_job("failing", selection=[fails], partitions_def=PARTS, tags=DEFER_TAGS),
])


def _materialized(instance: dg.DagsterInstance, asset: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(asset)))


def _planned(instance: dg.DagsterInstance, run_id: str) -> list[str | None]:
    """The partition of each planned event of the run (None: the event holds a subset), sorted."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
    return sorted((r.event_log_entry.dagster_event.partition for r in records), key=str)


def test_dagster_is_the_pinned_version():
    assert dg.__version__ == "1.13.27"
    assert '"dagster==1.13.27"' in (ROOT / "pyproject.toml").read_text()


def test_the_project_instance_uses_the_batched_event_log(instance):
    assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
    assert "BatchedSqliteEventLogStorage" in local_instance_yaml(Path("/x"))


def test_with_the_defer_tag_only_reported_partitions_are_materialized_each_with_its_metadata(instance):
    result = DEFS.resolve_job_def("deferred").execute_in_process(instance=instance, tags=RANGE)
    assert result.success
    assert _materialized(instance, "reports_b_only") == {f"2024-01-{d:02d}|B" for d in range(1, 11)}
    record = instance.fetch_materializations(dg.AssetRecordsFilter(
        asset_key=dg.AssetKey("reports_b_only"), asset_partitions=["2024-01-04|B"]), limit=1).records[0]
    assert record.asset_materialization.metadata["dagster/row_count"].value == 3
    # the multi-partition dimension tags are there, so per-dimension status queries keep working
    assert record.asset_materialization.tags["dagster/partition/ticker"] == "B"


def test_without_the_tag_dagster_materializes_every_partition_of_the_range(instance):
    assert DEFS.resolve_job_def("ordinary").execute_in_process(instance=instance, tags=RANGE).success
    assert len(_materialized(instance, "reports_b_only")) == 30


def test_reported_events_reach_the_event_log_in_one_batch(instance, monkeypatch):
    sizes: list[int] = []
    original = BatchedSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event_batch",
                        lambda self, events: (sizes.append(len(events)), original(self, events))[1])
    assert DEFS.resolve_job_def("deferred").execute_in_process(instance=instance, tags=RANGE).success
    assert 10 in sizes  # the ten reported materializations, in one transaction


def test_a_failed_range_run_leaves_its_partitions_failed_and_names_the_run(instance, monkeypatch):
    monkeypatch.setenv("CANARY_FAIL", "1")
    result = DEFS.resolve_job_def("failing").execute_in_process(instance=instance, tags=RANGE, raise_on_error=False)
    assert not result.success
    status = get_and_update_asset_status_cache_value(instance, dg.AssetKey("fails"), PARTS)
    failed = status.deserialize_failed_partition_subsets(PARTS)
    assert len(list(failed.get_partition_keys())) == 30 and not _materialized(instance, "fails")
    assert _planned(instance, result.run_id) == [None]  # one planned event holding the run's subset
    attempts = instance.event_log_storage.get_latest_asset_partition_materialization_attempts_without_materializations(
        dg.AssetKey("fails"))
    assert {run_id for run_id, _ in attempts.values()} == {result.run_id} and len(attempts) == 30


def test_dagsters_stock_event_log_shows_no_partition_of_a_failed_range_run_failed(monkeypatch):
    # why the project's event logs expand planned subsets: Dagster's own storage reads planned events by partition
    monkeypatch.setenv("CANARY_FAIL", "1")
    with dg.instance_for_test() as stock:
        result = DEFS.resolve_job_def("failing").execute_in_process(instance=stock, tags=RANGE, raise_on_error=False)
        assert not result.success and _planned(stock, result.run_id) == [None]
        status = get_and_update_asset_status_cache_value(stock, dg.AssetKey("fails"), PARTS)
        assert len(status.deserialize_failed_partition_subsets(PARTS)) == 0


def test_a_partition_written_after_a_failed_run_is_materialized_not_failed(instance, monkeypatch):
    monkeypatch.setenv("CANARY_FAIL", "1")
    DEFS.resolve_job_def("failing").execute_in_process(instance=instance, tags=RANGE, raise_on_error=False)
    monkeypatch.setenv("CANARY_FAIL", "0")
    assert DEFS.resolve_job_def("failing").execute_in_process(instance=instance, tags=RANGE).success
    status = get_and_update_asset_status_cache_value(instance, dg.AssetKey("fails"), PARTS)
    materialized_now = set(status.deserialize_materialized_partition_subsets(PARTS).get_partition_keys())
    assert materialized_now == {f"2024-01-{d:02d}|B" for d in range(1, 11)}
    assert not materialized_now & set(status.deserialize_failed_partition_subsets(PARTS).get_partition_keys())


def test_a_range_of_the_real_graph_shows_every_written_partition_materialized(instance, data_dir):
    run = run_stage(BARS_JOB, "2013-02-01|AAPL", "2013-02-28|IBM", instance, ["AAPL", "IBM"])
    assert run.status == "SUCCESS"
    assert len(materialized(instance, run, "validated_bars")) == 2 * 19
    assert len(_materialized(instance, "features")) == 2 * 19
    assert partition_metadata(instance, "features", "2013-02-15|IBM")["dagster/row_count"] == 1


def test_runs_of_the_projects_commands_carry_their_code_location_origin(instance, data_dir):
    from financial_assets.app.runner import register_tickers

    register_tickers(instance, ["AAPL"])
    run = launch_in_process(instance, BARS_JOB, {"dagster/asset_partition_range_start": "2013-01-02|AAPL",
                                                   "dagster/asset_partition_range_end": "2013-01-02|AAPL"})
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.remote_job_origin.location_name == CODE_LOCATION
    stored = instance.get_run_tags(tag_keys=[".dagster/repository"])
    assert (".dagster/repository", {f"__repository__@{CODE_LOCATION}"}) in [(k, set(v)) for k, v in stored]
