"""The run executor: Dagster's in-process executor, with every partition set of the run read as of its start.

Before each step, Dagster reads the partition keys upstream of the step's inputs. An input mapped with
AllPartitionMapping, and the asset of an unpartitioned check, is the whole ticker x date set: one MultiPartitionKey
built per key, about 0.7 s for 100 tickers x 650 sessions, and 14 such reads in one nightly increment. Dagster keeps
the last read per instant (`MultiPartitionsDefinition._get_partition_keys` caches on the time the partitions are read
as of), but each step reads them as of its own "now". Reading a run's partitions as of its start (the public
`partition_loading_context`) lets the first read serve the others. Tickers are added between runs, never during one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg


class _AsOfRunStart(dg.Executor):
    """An executor that runs `inner` with partitions read as of the instant the run's execution starts."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):  # Dagster's RetryMode, which it does not export
        return self._inner.retries

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:  # plan types Dagster keeps private
        with dg.partition_loading_context(effective_dt=dt.datetime.now(dt.UTC)):
            yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(name="in_process", config_schema=dg.in_process_executor.config_schema)
def in_process_as_of_run_start(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in-process executor (one process per run, same config), reading partitions as of the run's start."""
    return _AsOfRunStart(dg.in_process_executor.executor_creation_fn(init_context))
