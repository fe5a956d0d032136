"""Keeps Dagster's partition-status cache current after every run, so the UI's first status query only reads it.

The UI's partition bar asks for every partition's status. Dagster answers from a cache stored with each
asset and, before answering, brings that cache up to date from the events stored since: the first query
after a night of runs reads them, 3-5 s at 100,000 partitions. `partition_status_cache_sensor` does that
work in the daemon within a tick of each run: it refreshes every partitioned asset whose cache is behind its
events, by Dagster's own rule (`financial_assets.runs.status_cache`), so runs that failed, were cancelled
or were launched from the UI count too, through the public call that stores what the webserver would
compute. An asset with failed partitions also gets them recomputed from each partition's latest attempt
whenever it has new events: Dagster's incremental update keeps a partition failed after a later successful
run that planned it and wrote nothing. A person opening the UI the next morning reads a current cache.
"""

from __future__ import annotations

import json
import time

import dagster as dg

from financial_assets.runs.status_cache import rebuild_failed_partitions, status_cache_states

#: seconds after which a tick starts no further asset (the rest waits for the next tick): the daemon gives
#: a sensor 60 s, and a first refresh of an asset with 100,000 partitions takes about 5 s
TICK_BUDGET_S = 20.0


def partitioned_assets(repository: dg.RepositoryDefinition) -> dict[dg.AssetKey, dg.PartitionsDefinition]:
    """Every partitioned asset of the code location with its partitions definition, in key order."""
    found = {key: assets.partitions_def for key, assets in repository.assets_defs_by_key.items()
             if assets.partitions_def is not None}
    return dict(sorted(found.items(), key=lambda item: item[0].to_user_string()))


def refresh_status_caches(instance: dg.DagsterInstance, partitions_defs: dict[dg.AssetKey, dg.PartitionsDefinition],
                          seen: dict[str, int], budget_s: float = TICK_BUDGET_S) -> tuple[dict[str, str], int]:
    """Bring the caches of assets with new events up to date (at least one asset, then until `budget_s` is spent).

    `seen` maps an asset to the newest event id already handled and is updated in place; returns
    ({asset: what was done}, how many assets are left for the next tick)."""
    began = time.perf_counter()
    due = {key: state for key, state in status_cache_states(instance, partitions_defs).items()
           if state.stale or state.latest_event_id > seen.get(key.to_user_string(), 0)}
    done: dict[str, str] = {}
    for key, state in due.items():
        if done and time.perf_counter() - began > budget_s:
            break
        start, name = time.perf_counter(), key.to_user_string()
        if state.stale:
            instance.get_status_by_partition(key, [], partitions_defs[key])  # computes and stores the cache
        failed = rebuild_failed_partitions(instance, key, partitions_defs[key])
        seen[name] = state.latest_event_id
        rebuilt = "" if failed is None else f", {failed} failed partitions recomputed"
        done[name] = f"{'refreshed' if state.stale else 'current'}{rebuilt} in {time.perf_counter() - start:.2f} s"
    return done, len(due) - len(done)


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Brings the stored partition-status cache of every partitioned asset up to date after "
           "runs (materialized, failed and in-progress partitions), so the UI's first status query reads it "
           "instead of computing it from the events. Requests no runs.")
def partition_status_cache_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Refresh the stored partition-status caches that runs made stale, a few per tick."""
    seen = json.loads(context.cursor) if context.cursor else {}
    done, left = refresh_status_caches(context.instance, partitioned_assets(context.repository_def), seen)
    if not done:
        message = "every partition-status cache is current"
    else:
        message = "partition-status cache: " + "; ".join(f"{asset} {what}" for asset, what in done.items())
        message += f"; {left} assets left for the next tick" if left else ""
        context.log.info(message)
    return dg.SensorResult(skip_reason=dg.SkipReason(message), cursor=json.dumps(seen, sort_keys=True))
