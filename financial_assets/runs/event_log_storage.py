"""A SQLite event log that writes a batch of events in one transaction per database.

Dagster's SQLite storage writes every event alone: open the run's database, insert, commit, close,
then the same for the cross-run index. A range run writes one materialization per partition and
asset, so at thousands of partitions the event log, not the computation, sets the run time.
Dagster already hands partitioned materializations (and the planned events of a run) to
`store_event_batch` when `DAGSTER_EVENT_BATCH_SIZE` is set; the base class then loops over
`store_event`. This class writes the whole batch in one transaction on the run shard and one on
the index shard, and updates each asset's row once per batch instead of once per event.
Everything that is not an asset event (steps, run status, checks) keeps the base class's path.

A step that reports its own partitions (`financial_assets.runs.internals`) plans them with one
planned event per asset holding the run's partition subset, instead of one event per partition, on
an event log that expands such subsets (`ExpandsPlannedSubsets`, shared with the PostgreSQL
storage of `financial_assets.runs.postgres_event_log_storage`): its
`get_latest_asset_partition_materialization_attempts_without_materializations` (what the UI's
failed and in-progress partitions come from) counts each partition of a subset as planned, so a
failed range run still shows each of its partitions failed, with the run that failed it.

It also keeps the dynamic partitions (the tickers) for a moment: a date-partitioned asset that
depends on ticker x date assets makes Dagster map each of its dates to the upstream partitions,
one database query for the ticker list per date (13,000 queries, 47 s, for 13 years of a SQL
model). A list is reused for `DYNAMIC_PARTITIONS_TTL_S`; a change made through this storage
clears it at once, a change from another process shows within that time.

Configured in `dagster.yaml` (see `financial_assets.runs.instance`). Dagster internals (pinned to
dagster==1.13.27): the modules and names `financial_assets_tests/test_runs/test_dagster_private_api.py` lists.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

import sqlalchemy as db
from dagster import AssetKey
from dagster._core.events import ASSET_EVENTS, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._serdes import ConfigurableClassData, deserialize_value

#: seconds a ticker list read from the database is reused
DYNAMIC_PARTITIONS_TTL_S = 2.0


class ExpandsPlannedSubsets:
    """SQL event-log mixin: a planned event holding a partition subset plans each of its partitions.

    Dagster's SQL storages read planned events by their `partition` column only, so a subset event
    (`partition` empty) would plan nothing: a failed range run would show no partition failed.
    """

    def get_latest_asset_partition_materialization_attempts_without_materializations(
        self, asset_key: AssetKey, after_storage_id: int | None = None
    ) -> Mapping[str, tuple[str, int]]:
        """Dagster's planned-but-unmaterialized partitions, plus each partition of a planned subset."""
        attempts = dict(super().get_latest_asset_partition_materialization_attempts_without_materializations(
            asset_key, after_storage_id))
        subsets = self._planned_subsets(asset_key, after_storage_id)
        if not subsets:
            return attempts
        for event_id, run_id, keys in subsets:
            for key in keys:
                if key not in attempts or attempts[key][1] < event_id:
                    attempts[key] = (run_id, event_id)
        done = self._latest_materialization_ids(asset_key)
        return {key: attempt for key, attempt in attempts.items() if done.get(key, -1) < attempt[1]}

    def _planned_subsets(self, asset_key: AssetKey, after_storage_id: int | None) -> list[tuple[int, str, list[str]]]:
        """(storage id, run id, partition keys) of planned events that carry a partition subset, oldest first."""
        table = SqlEventLogStorageTable
        query = db.select(table.c.id, table.c.run_id, table.c.event).where(
            table.c.asset_key == asset_key.to_string(), table.c.partition.is_(None),
            table.c.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value,
        ).order_by(table.c.id)
        if after_storage_id is not None:
            query = query.where(table.c.id > after_storage_id)
        with self.index_connection() as conn:
            rows = conn.execute(query).fetchall()
        out = []
        for event_id, run_id, text in rows:
            planned = deserialize_value(text, EventLogEntry).get_dagster_event().asset_materialization_planned_data
            if planned.partitions_subset is not None:
                out.append((event_id, run_id, list(planned.partitions_subset.get_partition_keys())))
        return out

    def _latest_materialization_ids(self, asset_key: AssetKey) -> dict[str, int]:
        table = SqlEventLogStorageTable
        query = db.select(table.c.partition, db.func.max(table.c.id)).where(
            table.c.asset_key == asset_key.to_string(), table.c.partition.is_not(None),
            table.c.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION.value,
        ).group_by(table.c.partition)
        with self.index_connection() as conn:
            return dict(conn.execute(query).fetchall())


class BatchedSqliteEventLogStorage(ExpandsPlannedSubsets, SqliteEventLogStorage):
    """Run-sharded SQLite event log whose `store_event_batch` is one transaction per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._partitions_cache: dict[str, tuple[float, list[str]]] = {}
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    def has_table(self, table_name: str) -> bool:
        """Whether `table_name` exists; once seen, never asked again."""
        # tables are only ever added by migrations: once seen, always there
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        """The partition keys, reread from the database at most every DYNAMIC_PARTITIONS_TTL_S."""
        read_at, keys = self._partitions_cache.get(partitions_def_name, (float("-inf"), []))
        if time.monotonic() - read_at > DYNAMIC_PARTITIONS_TTL_S:
            keys = list(super().get_dynamic_partitions(partitions_def_name))
            self._partitions_cache[partitions_def_name] = (time.monotonic(), keys)
        return list(keys)

    def add_dynamic_partitions(self, partitions_def_name: str, partition_keys: Sequence[str]) -> None:
        """Add partition keys and forget the cached list."""
        self._partitions_cache.pop(partitions_def_name, None)
        super().add_dynamic_partitions(partitions_def_name, partition_keys)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Delete a partition key and forget the cached list."""
        self._partitions_cache.pop(partitions_def_name, None)
        super().delete_dynamic_partition(partitions_def_name, partition_key)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value) -> BatchedSqliteEventLogStorage:
        """Build the storage from dagster.yaml's config."""
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store a batch of events as one transaction per run shard."""
        by_run: dict[str, list[EventLogEntry]] = defaultdict(list)
        for event in events:
            if _is_asset_event(event):
                by_run[event.run_id].append(event)
            else:
                self.store_event(event)
        for run_id, batch in by_run.items():
            self._store_asset_batch(run_id, batch)

    def _store_asset_batch(self, run_id: str, batch: list[EventLogEntry]) -> None:
        rows = [self._event_to_row(event) for event in batch]
        with self.run_connection(run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # the index shard mirrors asset events; their storage ids key the tags and asset rows
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
                rows,
            )
            event_ids = [row[0] for row in inserted]
            self._store_asset_event_tags(conn, batch, event_ids)
            latest: dict[tuple[str, str], tuple[EventLogEntry, int]] = {}
            for event, event_id in zip(batch, event_ids, strict=True):
                latest[(event.get_dagster_event().asset_key.to_string(), event.dagster_event_type.value)] = (
                    event, event_id)
            # an asset's row records its last event of each type: writing the newest one is enough
            for event, event_id in sorted(latest.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)


def _is_asset_event(event: EventLogEntry) -> bool:
    return bool(event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS
                and event.get_dagster_event().asset_key)
