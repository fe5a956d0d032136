"""partition_status_cache_sensor leaves Dagster's stored partition-status cache as the events say after each run, so
the UI's first status query only reads it: materialized partitions, a failed range run partition by partition,
partitions in progress at a tick, a ticker added. These are also the canaries of the Dagster internals it relies on
(financial_assets/runs/status_cache.py): they fail first when an upgrade changes them."""

import os

import dagster as dg
import pytest
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from financial_assets.defs.operations.status_cache import (
    partition_status_cache_sensor,
    partitioned_assets,
    refresh_status_caches,
)
from financial_assets.runs.internals import DEFER_TAGS, planned_partitions, report_partitions
from financial_assets.runs.status_cache import status_cache_states, stored_status_cache, wipe_status_cache

#: the `instance` fixture (conftest.py) this module's tests get
pytestmark = pytest.mark.instance(project=True)

TICKERS = dg.DynamicPartitionsDefinition(name="status_cache_tickers")
PARTS = dg.MultiPartitionsDefinition({"date": dg.DailyPartitionsDefinition("2024-01-01", end="2024-01-11"),
                                      "ticker": TICKERS})
DAYS = [f"2024-01-{d:02d}" for d in range(1, 11)]
BARS, MODEL = dg.AssetKey("bars"), dg.AssetKey("model")
#: the in-progress partitions a tick inside a run stored (see `model`)
SEEN_IN_RUN: list[set[str]] = []


def span(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def keys(tickers: str, days: list[str] = DAYS) -> set[str]:
    return {f"{day}|{ticker}" for day in days for ticker in tickers}


@dg.asset(partitions_def=PARTS, backfill_policy=dg.BackfillPolicy.single_run())
def bars(context: dg.AssetExecutionContext) -> None:
    """Writes ticker B's partitions of the run (the others are held back)."""
    report_partitions(context, "bars", {k: {} for k in planned_partitions(context) if k.endswith("|B")})


@dg.asset(partitions_def=PARTS, backfill_policy=dg.BackfillPolicy.single_run())
def model(context: dg.AssetExecutionContext) -> None:
    """Ticks the status cache mid-run while STATUS_TICK_IN_RUN=1, fails while STATUS_FAIL=1, else writes ticker B."""
    planned = planned_partitions(context)
    if os.environ.get("STATUS_TICK_IN_RUN") == "1":
        refresh_status_caches(context.instance, {MODEL: PARTS}, {})
        SEEN_IN_RUN.append(status(context.instance, MODEL)["in_progress"])
    if os.environ.get("STATUS_FAIL") == "1":
        raise RuntimeError("boom")
    report_partitions(context, "model", {k: {} for k in planned if k.endswith("|B")})


DEFS = dg.Definitions(assets=[bars, model], sensors=[partition_status_cache_sensor], jobs=[
    dg.define_asset_job("bars_job", selection=[bars], partitions_def=PARTS, tags=DEFER_TAGS),
    dg.define_asset_job("model_job", selection=[model], partitions_def=PARTS, tags=DEFER_TAGS)])


@pytest.fixture(autouse=True)
def tickers(instance: dg.DagsterInstance) -> None:
    """Tickers A, B and C of this module's own partitions, on the project's instance."""
    instance.add_dynamic_partitions(TICKERS.name, ["A", "B", "C"])


def run(instance: dg.DagsterInstance, job: str, first: str = "2024-01-01|A", last: str = "2024-01-10|C") -> bool:
    return DEFS.resolve_job_def(job).execute_in_process(instance=instance, tags=span(first, last),
                                                        raise_on_error=False).success


def tick(instance: dg.DagsterInstance, cursor: str | None = None) -> tuple[str, str]:
    """One evaluation of the sensor, as the daemon's: (its message, its cursor)."""
    result = partition_status_cache_sensor(dg.build_sensor_context(instance=instance, definitions=DEFS, cursor=cursor))
    return result.skip_reason.skip_message, result.cursor


def status(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, set[str]]:
    """The partitions the stored cache holds materialized, failed and in progress."""
    cached = stored_status_cache(instance, key)
    return {"materialized": set(cached.deserialize_materialized_partition_subsets(PARTS).get_partition_keys()),
            "failed": set(cached.deserialize_failed_partition_subsets(PARTS).get_partition_keys()),
            "in_progress": set(cached.deserialize_in_progress_partition_subsets(PARTS).get_partition_keys())}


def assert_a_query_only_reads_it(instance: dg.DagsterInstance, key: dg.AssetKey) -> None:
    """What the webserver calls returns the stored cache and rewrites nothing."""
    stored = stored_status_cache(instance, key)
    assert get_and_update_asset_status_cache_value(instance, key, PARTS) == stored
    assert stored_status_cache(instance, key) == stored
    assert not status_cache_states(instance, {key: PARTS})[key].stale


def from_the_events(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, set[str]]:
    """What a first query computes with no cache at all."""
    wipe_status_cache(instance, key)
    get_and_update_asset_status_cache_value(instance, key, PARTS)
    return status(instance, key)


def test_a_tick_stores_the_materialized_partitions_and_a_query_then_only_reads_them(instance):
    assert run(instance, "bars_job")
    states = status_cache_states(instance, {BARS: PARTS, MODEL: PARTS})
    assert list(states) == [BARS] and states[BARS].stale  # model never ran: nothing to cache
    message, cursor = tick(instance)
    assert message.startswith("partition-status cache: bars refreshed in ")
    assert status(instance, BARS) == {"materialized": keys("B"), "failed": set(), "in_progress": set()}
    assert_a_query_only_reads_it(instance, BARS)
    assert tick(instance, cursor)[0] == "every partition-status cache is current"


def test_a_failed_range_run_is_failed_partition_by_partition_until_its_partitions_are_attempted_again(
        instance, monkeypatch):
    monkeypatch.setenv("STATUS_FAIL", "1")
    assert not run(instance, "model_job")
    _, cursor = tick(instance)
    assert status(instance, MODEL) == {"materialized": set(), "failed": keys("ABC"), "in_progress": set()}
    assert_a_query_only_reads_it(instance, MODEL)

    monkeypatch.setenv("STATUS_FAIL", "0")
    assert run(instance, "model_job", "2024-01-01|A", "2024-01-03|C")  # writes B, holds A and C back
    message, _ = tick(instance, cursor)
    assert "model refreshed, 21 failed partitions recomputed" in message
    # the three days were attempted again by a run that succeeded: none of them is failed any more
    expected = {"materialized": keys("B", DAYS[:3]), "failed": keys("ABC", DAYS[3:]), "in_progress": set()}
    assert status(instance, MODEL) == expected
    assert_a_query_only_reads_it(instance, MODEL)
    assert from_the_events(instance, MODEL) == expected


def test_partitions_in_progress_at_a_tick_are_failed_after_the_next_tick_once_the_run_failed(instance, monkeypatch):
    SEEN_IN_RUN.clear()
    monkeypatch.setenv("STATUS_TICK_IN_RUN", "1")
    monkeypatch.setenv("STATUS_FAIL", "1")
    assert not run(instance, "model_job", "2024-01-02|A", "2024-01-04|C")
    assert SEEN_IN_RUN == [keys("ABC", DAYS[1:4])]
    assert status_cache_states(instance, {MODEL: PARTS})[MODEL].stale  # the run it saw in progress has ended
    tick(instance)
    assert status(instance, MODEL) == {"materialized": set(), "failed": keys("ABC", DAYS[1:4]), "in_progress": set()}
    assert_a_query_only_reads_it(instance, MODEL)


def test_a_new_ticker_makes_the_cache_stale_and_the_next_tick_refreshes_it(instance):
    assert run(instance, "bars_job")
    _, cursor = tick(instance)
    instance.add_dynamic_partitions(TICKERS.name, ["D"])
    assert status_cache_states(instance, {BARS: PARTS})[BARS].stale
    assert "bars refreshed" in tick(instance, cursor)[0]
    assert_a_query_only_reads_it(instance, BARS)
    assert status(instance, BARS)["materialized"] == keys("B")


def test_a_tick_past_its_budget_leaves_the_other_assets_to_the_next_tick(instance):
    assert run(instance, "bars_job")
    assert run(instance, "model_job")
    seen: dict[str, int] = {}
    first, left = refresh_status_caches(instance, {BARS: PARTS, MODEL: PARTS}, seen, budget_s=0)
    assert (list(first), left) == (["bars"], 1)
    second, left = refresh_status_caches(instance, {BARS: PARTS, MODEL: PARTS}, seen, budget_s=0)
    assert (list(second), left) == (["model"], 0)
    assert refresh_status_caches(instance, {BARS: PARTS, MODEL: PARTS}, seen) == ({}, 0)


def test_dagsters_incremental_update_alone_keeps_partitions_failed_that_a_successful_run_attempted(
        instance, monkeypatch):
    """Why the sensor recomputes failed partitions: if an upgrade fixes this, `rebuild_failed_partitions` can go."""
    monkeypatch.setenv("STATUS_FAIL", "1")
    assert not run(instance, "model_job")
    instance.get_status_by_partition(MODEL, [], PARTS)
    monkeypatch.setenv("STATUS_FAIL", "0")
    assert run(instance, "model_job")
    instance.get_status_by_partition(MODEL, [], PARTS)
    assert status(instance, MODEL)["failed"] == keys("AC")
    assert from_the_events(instance, MODEL)["failed"] == set()


def test_the_project_sensor_watches_every_partitioned_asset_of_the_code_location():
    from financial_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    expected = {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None}
    assert set(partitioned_assets(defs.get_repository_def())) == expected and len(expected) >= 10
    assert defs.get_sensor_def("partition_status_cache_sensor").default_status == dg.DefaultSensorStatus.RUNNING
