"""The deployment's PostgreSQL event log: dagster-postgres's storage, expanding planned partition subsets.

A step that reports its own partitions plans a range run with one planned event per asset holding
the run's partition subset (`financial_assets.runs.internals.planned_partitions`). Dagster's stock
storage reads planned events by partition only, so on it a failed range run would show no partition
failed; `ExpandsPlannedSubsets` (shared with the local SQLite storage) counts each partition of the
subset as planned. Everything else is dagster-postgres's own: dagster-postgres already writes a batch
of materializations as one INSERT.

Configured as `event_log_storage` in deploy/dagster.yaml. Where the stock class is named instead
(Dagster's Helm chart names it), a failed range run shows no partition failed, only the run.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from financial_assets.runs.event_log_storage import ExpandsPlannedSubsets


class PlannedSubsetsPostgresEventLogStorage(ExpandsPlannedSubsets, PostgresEventLogStorage):
    """PostgreSQL event log whose failed and in-progress partitions include those of planned subsets."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, object]
                          ) -> PlannedSubsetsPostgresEventLogStorage:
        """Build this class (not the base) from dagster.yaml's config."""
        # the base class builds itself by name, not `cls`: the same arguments, this class
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value))
