"""Dagster internals of the project's runs: steps that report their own partitions, runs launched here.

Pinned to dagster==1.13.27. The package's Dagster internals live in four modules: this one, the
event-log storages `event_log_storage.py` (SQLite) and `postgres_event_log_storage.py`, and the
partition-status cache `status_cache.py`. `financial_assets_tests/test_runs/test_dagster_private_api.py` reads
every package module's syntax tree, fails on a private import, attribute or base-class method
anywhere else, and lists what each of the four uses, for review at a pin bump; the canary tests in
`test_runs_internals.py` and `test_operations_status_cache.py` fail when an upgrade changes how
these behave.

1. Per-partition materialization events that a step reports itself, in batches. A range run of a
   ticker x date asset makes Dagster record a materialization for *every* partition of the range,
   with the run's metadata copied onto each. Our assets know better: a held-back ticker, or a model
   asset that trains only on its retrain dates, writes fewer partitions than the range holds, and
   each partition has its own row count. So the project's jobs carry the run tag
   `dagster/defer_asset_events=true` (Dagster then records no materialization for step outputs),
   and each asset calls `report_partitions` with exactly the partitions it wrote. The events take
   Dagster's own batch path (`DAGSTER_EVENT_BATCH_SIZE`; `BatchedSqliteEventLogStorage` writes a
   batch in one transaction), as Dagster batches the events of a partitioned output itself. A run
   without the tag (started from the asset graph rather than a job) gets Dagster's ordinary events
   for every partition of the range, and per-partition metadata only when small, because the public
   `add_asset_metadata` checks each key against the whole range. With the tag Dagster also plans
   nothing (no "planned" events: no in-progress or failed partitions in the UI), so each step
   first calls `planned_partitions`, which records one planned event per asset holding the run's
   partition subset. The project's event logs (`BatchedSqliteEventLogStorage` and, for the
   PostgreSQL deployment, `PlannedSubsetsPostgresEventLogStorage`) expand it when the UI asks which
   partitions failed. Dagster's stock SQL event logs read planned events by partition only: on
   them a failed range run shows no partition failed; one planned event per partition, which they
   do read, would be a database write per partition (on dagster-postgres, a connection each).
2. Runs of the project's own commands created with their code-location origin and executed in this
   process, so they show under their job and code location in the UI and re-execute cleanly
   (`execute_in_process` runs carry no origin).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import dagster as dg
from dagster._core.definitions.partitions.utils.multi import get_tags_from_multi_partition_key
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.events import (
    AssetMaterializationPlannedData,
    DagsterEvent,
    DagsterEventBatchMetadata,
    generate_event_batch_id,
)
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import InProcessCodeLocation
from dagster._core.storage.tags import EXTERNALLY_MANAGED_ASSETS_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.hosted_user_process import recon_job_from_origin

#: the run tag that makes Dagster leave asset events to the step
DEFER_TAG = EXTERNALLY_MANAGED_ASSETS_TAG
DEFER_TAGS = {DEFER_TAG: "true"}
#: runs without the tag up to this many partitions still get per-partition metadata
SMALL_RUN_PARTITIONS = 50
#: the code location of `workspace.yaml` and `pyproject.toml`'s [tool.dagster]
CODE_LOCATION = "financial_assets"
DEFINITIONS_MODULE = "financial_assets.definitions"
REPOSITORY = "__repository__"


def reports_own_events(context: dg.AssetExecutionContext) -> bool:
    """Whether this run leaves the asset events to the step (the project's jobs do)."""
    return context.run.tags.get(DEFER_TAG, "").lower() == "true"


def planned_partitions(context: dg.AssetExecutionContext) -> list[str]:
    """The run's partition keys; in a run that reports its own events, first record them as planned."""
    keys = list(context.partition_keys)
    if reports_own_events(context):
        step_context = context.op_execution_context._step_execution_context  # noqa: SLF001 - see module docstring
        for key in context.selected_asset_keys:
            subset = context.assets_def.specs_by_key[key].partitions_def.subset_with_partition_keys(keys)
            event = DagsterEvent.build_asset_materialization_planned_event(
                context.run.job_name, step_context.step.key,
                AssetMaterializationPlannedData(key, partition=None, partitions_subset=subset.to_serializable_subset()))
            context.instance.report_dagster_event(event, context.run.run_id)
    return keys


def report_partitions(context: dg.AssetExecutionContext, asset_key: str,
                      metadata_by_partition: Mapping[str, Mapping[str, dg.MetadataValue]]) -> None:
    """Record one materialization of `asset_key` per partition written, each with its own metadata."""
    key = dg.AssetKey.from_user_string(asset_key)
    if not reports_own_events(context):
        if len(context.partition_keys) <= SMALL_RUN_PARTITIONS:
            for partition, metadata in metadata_by_partition.items():
                context.add_asset_metadata(dict(metadata), asset_key=key, partition_key=partition)
        return
    step_context = context.op_execution_context._step_execution_context  # noqa: SLF001 - see module docstring
    partitions_def = context.assets_def.specs_by_key[key].partitions_def
    batch_id, last = generate_event_batch_id(), len(metadata_by_partition) - 1
    for i, (partition, metadata) in enumerate(metadata_by_partition.items()):
        tags = (get_tags_from_multi_partition_key(partitions_def.get_partition_key_from_str(partition))
                if isinstance(partitions_def, dg.MultiPartitionsDefinition) else {})
        event = dg.AssetMaterialization(asset_key=key, partition=partition, metadata=dict(metadata), tags=tags)
        DagsterEvent.asset_materialization(step_context, event, DagsterEventBatchMetadata(batch_id, i == last))


@lru_cache(maxsize=4)
def _code_location(instance: dg.DagsterInstance) -> InProcessCodeLocation:
    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name=DEFINITIONS_MODULE),
                                         location_name=CODE_LOCATION)
    return InProcessCodeLocation(origin, instance)


def launch_in_process(instance: dg.DagsterInstance, job_name: str, tags: Mapping[str, str],
                      run_config: Mapping[str, object] | None = None,
                      asset_selection: frozenset[dg.AssetKey] | None = None) -> dg.DagsterRun:
    """Create a run of `job_name` (or of its `asset_selection`) with its code-location origin and execute it here.

    Returns the finished run.
    """
    location = _code_location(instance)
    remote_job = location.get_job(JobSubsetSelector(location_name=CODE_LOCATION, repository_name=REPOSITORY,
                                                    job_name=job_name, op_selection=None,
                                                    asset_selection=asset_selection))
    config = dict(run_config or {})
    plan = location.get_execution_plan(remote_job, config, step_keys_to_execute=None, known_state=None,
                                       instance=instance).execution_plan_snapshot
    run = instance.create_run(
        job_name=job_name, run_id=None, run_config=config, resolved_op_selection=None,
        step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
        parent_run_id=None, tags={**remote_job.tags, **tags}, job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan, parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
        asset_selection=asset_selection, asset_check_selection=None,
        asset_graph=location.get_repository(REPOSITORY).asset_graph,
    )
    execute_run(recon_job_from_origin(remote_job.get_python_origin()), run, instance)
    return instance.get_run_by_id(run.run_id)
