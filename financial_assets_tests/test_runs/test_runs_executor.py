"""The run executor (financial_assets/runs/executor.py): every step of a run reads partitions as of the run's start,
so Dagster enumerates the whole ticker x date set once per run instead of once per step."""

import datetime as dt

import dagster as dg

from financial_assets.definitions import defs
from financial_assets.runs.executor import in_process_as_of_run_start

PARTS = dg.MultiPartitionsDefinition({"date": dg.DailyPartitionsDefinition("2024-01-01", end_date="2024-03-01"),
                                      "ticker": dg.DynamicPartitionsDefinition(name="executor_test_tickers")})
#: (asset, the instant its step reads partitions as of), appended by the assets of the job below
SEEN: list[tuple[str, dt.datetime]] = []


def _record(name: str) -> None:
    with dg.partition_loading_context() as current:  # the step's context, unchanged
        SEEN.append((name, current.effective_dt))


@dg.asset(partitions_def=PARTS)
def upstream() -> None:
    _record("upstream")


@dg.asset(partitions_def=PARTS, deps=[dg.AssetDep(upstream, partition_mapping=dg.AllPartitionMapping())])
def every_upstream() -> None:
    _record("every_upstream")


@dg.asset(partitions_def=PARTS, deps=[dg.AssetDep(every_upstream, partition_mapping=dg.AllPartitionMapping())])
def every_every_upstream() -> None:
    _record("every_every_upstream")


def _job(executor: dg.ExecutorDefinition) -> dg.JobDefinition:
    assets = [upstream, every_upstream, every_every_upstream]
    job = dg.define_asset_job("executor_test_job", executor_def=executor)
    return dg.Definitions(assets=assets, jobs=[job]).resolve_job_def("executor_test_job")


def run_start_job() -> dg.JobDefinition:
    return _job(in_process_as_of_run_start)


def stock_job() -> dg.JobDefinition:
    return _job(dg.in_process_executor)


def _seen_in_a_run(job: str) -> dict[str, dt.datetime]:
    SEEN.clear()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("executor_test_tickers", ["A", "B"])
        began = dt.datetime.now(dt.UTC)
        with dg.execute_job(dg.reconstructable(globals()[job]), instance, tags={"dagster/partition": "2024-01-02|A"}
                            ) as result:
            assert result.success
    seen = dict(SEEN)
    assert len(seen) == 3 and all(at >= began for at in seen.values())
    return seen


def test_every_step_of_a_run_reads_partitions_as_of_one_instant():
    assert len(set(_seen_in_a_run("run_start_job").values())) == 1


def test_with_dagsters_stock_executor_each_step_reads_them_as_of_its_own_now():
    assert len(set(_seen_in_a_run("stock_job").values())) == 3


def test_partition_keys_read_twice_as_of_one_instant_are_built_once():
    """The Dagster behaviour the executor relies on: the ticker x date keys are cached per instant."""
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("executor_test_tickers", ["A", "B"])
        now = dt.datetime.now(dt.UTC)
        with dg.partition_loading_context(effective_dt=now, dynamic_partitions_store=instance):
            first, again = PARTS.get_partition_keys(), PARTS.get_partition_keys()
        later = PARTS.get_partition_keys(dynamic_partitions_store=instance)
    assert len(first) == 2 * 60 and again is first and later is not first and later == first


def test_the_code_location_runs_its_jobs_with_it():
    job = defs.resolve_job_def("1_bars_features_labels_job")
    assert job.executor_def is in_process_as_of_run_start
