"""Dagster's stored partition-status cache, read and corrected (Dagster internals, pinned to dagster==1.13.27).

Dagster keeps, with each asset, its materialized, failed and in-progress partition subsets as of an event
storage id (`AssetStatusCacheValue`, on the asset record), and a status query brings that cache up to date
before answering: the first query after runs reads their events, which at 100,000 partitions is most of
its time. The refresh itself is the public `DagsterInstance.get_status_by_partition`, which stores what it
computes; this module says when one is due and corrects what it leaves behind:

- `status_cache_states`: each asset's newest event and whether its cache is stale, by Dagster's own rule
  (`_build_status_cache`): no cache, a cache of another partitions definition (a ticker added), events
  stored after it, or runs that were still in progress when it was written.
- `rebuild_failed_partitions`: Dagster updates the failed subset incrementally, adding the partitions of
  failed runs and removing those materialized since. A partition that a later, successful run planned and
  did not write (a held-back ticker, a model's date that is not a retrain date) stays failed there,
  although computed from the events its latest attempt succeeded. This recomputes the failed and
  in-progress subsets from every partition's latest attempt, as a first query would.
- `stored_status_cache` and `wipe_status_cache` read and clear the cache.

The canary tests in `financial_assets_tests/test_operations/test_operations_status_cache.py` fail when an
upgrade changes what these rely on: the asset record's entry and cache value, `get_last_planned_storage_id`,
`build_failed_and_in_progress_partition_subset`, `is_cacheable_partition_type`, the instance's cache
writes, and the partition loading context a dynamic dimension's identifier needs. The private names themselves are
listed in `financial_assets_tests/test_runs/test_dagster_private_api.py` (see `financial_assets.runs.internals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.storage.partition_status_cache import (
    AssetStatusCacheValue,
    build_failed_and_in_progress_partition_subset,
    get_last_planned_storage_id,
    is_cacheable_partition_type,
)


class CacheState(NamedTuple):
    """Where an asset's stored status cache stands."""

    latest_event_id: int  # the storage id of its newest materialization or planned event
    stale: bool  # the next status query would bring the stored cache up to date first


def status_cache_states(instance: dg.DagsterInstance, partitions_defs: Mapping[dg.AssetKey, dg.PartitionsDefinition]
                        ) -> dict[dg.AssetKey, CacheState]:
    """The cache state of every given asset with a planned or materialized partition (in the given order)."""
    cacheable = {key: d for key, d in partitions_defs.items() if is_cacheable_partition_type(d)}
    records = {r.asset_entry.asset_key: r for r in instance.get_asset_records(list(cacheable))}
    identifiers: dict[int, str] = {}  # one per definition object: a dynamic dimension's reads the store
    states = {}
    with partition_loading_context(dynamic_partitions_store=instance):
        for key, partitions_def in cacheable.items():
            record = records.get(key)
            if record is None:
                continue
            entry = record.asset_entry
            latest = max(entry.last_materialization_storage_id or 0, get_last_planned_storage_id(instance, key, record))
            if not latest:
                continue  # Dagster caches nothing for it
            if id(partitions_def) not in identifiers:
                identifiers[id(partitions_def)] = partitions_def.get_serializable_unique_identifier()
            cached = entry.cached_status
            states[key] = CacheState(latest, cached is None or cached.latest_storage_id < latest
                                     or cached.partitions_def_id != identifiers[id(partitions_def)]
                                     or cached.earliest_in_progress_materialization_event_id is not None)
    return states


def rebuild_failed_partitions(instance: dg.DagsterInstance, asset_key: dg.AssetKey,
                              partitions_def: dg.PartitionsDefinition) -> int | None:
    """Recompute the stored cache's failed and in-progress partitions from each partition's latest attempt;
    the number failed now, or None when the cache holds no failed partition (then nothing is rewritten)."""
    records = instance.get_asset_records([asset_key])
    cached = records[0].asset_entry.cached_status if records else None
    if cached is None or len(cached.deserialize_failed_partition_subsets(partitions_def)) == 0:
        return None
    with partition_loading_context(dynamic_partitions_store=instance):
        failed, in_progress, earliest = build_failed_and_in_progress_partition_subset(
            instance, asset_key, partitions_def, get_last_planned_storage_id(instance, asset_key, records[0]))
    instance.update_asset_cached_status_data(asset_key, cached._replace(
        serialized_failed_partition_subset=failed.serialize(),
        serialized_in_progress_partition_subset=in_progress.serialize(),
        earliest_in_progress_materialization_event_id=earliest))
    return len(failed)


def stored_status_cache(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> AssetStatusCacheValue | None:
    """The status cache stored with the asset, as a status query finds it (None: none yet)."""
    records = instance.get_asset_records([asset_key])
    return records[0].asset_entry.cached_status if records else None


def wipe_status_cache(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> None:
    """Clear the asset's stored status cache: the next status query computes it from the events."""
    instance.wipe_asset_cached_status([asset_key])
