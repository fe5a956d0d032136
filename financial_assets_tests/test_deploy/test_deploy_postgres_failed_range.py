"""A failed range run on the PostgreSQL deployment shows each of its partitions failed, in the UI's status query.

PostgreSQL from the distribution's packages, started as test_deploy_topology.py starts it, with the deployment's
instance (deploy/dagster.yaml, its run launcher swapped: the project's event log, which expands a range's planned
partitions). The project's runner launches a range of the first stage's job over two tickers and a week that fails:
`features` alone, whose upstream was never built. The webserver's GraphQL schema, answered in this process over the
instance, then counts every partition of the range failed and no other, one block of dates with both tickers failed;
and Dagster's status of each partition, read from the instance, is FAILED. The same run on the stock event log that
Dagster's Helm chart names shows no partition failed: the canary of why deploy/dagster.yaml names the project's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from financial_assets.definitions import defs
from financial_assets.runs.event_log_storage import ExpandsPlannedSubsets
from financial_assets.runs.internals import CODE_LOCATION, DEFINITIONS_MODULE
from financial_assets.runs.stages import BARS_JOB
from financial_assets_tests.dagster_helpers import run_stage
from financial_assets_tests.fixtures.deploy.services import (
    NativePostgres,
    Services,
    compose_environment,
    instance_yaml_without_docker,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TICKERS = ["AAPL", "IBM"]
#: the sessions of 2013-01-02...2013-01-10 (New Year's Day is a holiday, 5-6 January a weekend)
SESSIONS = ["2013-01-02", "2013-01-03", "2013-01-04", "2013-01-07", "2013-01-08", "2013-01-09", "2013-01-10"]
RANGE = {f"{date}|{ticker}" for date in SESSIONS for ticker in TICKERS}
#: the stock storage Dagster's Helm chart writes into its instance config map
STOCK_EVENT_LOG = {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage"}
STATUS = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename ... on AssetNode {
  partitionStats { numFailed numMaterialized numMaterializing }
  assetPartitionStatuses { __typename ... on MultiPartitionStatuses { ranges { primaryDimStartKey primaryDimEndKey
    secondaryDim { __typename ... on DefaultPartitionStatuses { failedPartitions } } } } } } } }"""


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """A PostgreSQL server with the postgres service's credentials and one database per instance."""
    services = Services(tmp_path_factory.mktemp("postgres-logs"))
    env = compose_environment("postgres")
    try:
        db = NativePostgres.start(services, env["POSTGRES_USER"], env["POSTGRES_PASSWORD"])
        for name in ("deployment", "stock"):
            db.psql(f'CREATE DATABASE "{name}"')
        yield db
    finally:
        services.stop_all()
        if "db" in locals():
            db.remove()


def _instance_yaml(event_log: str) -> str:
    config = yaml.safe_load(instance_yaml_without_docker())
    if event_log == "stock":
        config["event_log_storage"] = {**STOCK_EVENT_LOG, "config": config["event_log_storage"]["config"]}
    return yaml.safe_dump(config, sort_keys=False)


@contextlib.contextmanager
def _instance(event_log: str, postgres: NativePostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[dg.DagsterInstance]:
    """The instance on PostgreSQL with the deployment's event log or the stock one, in the run containers' env."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_instance_yaml(event_log))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", compose_environment("user_code")["DAGSTER_EVENT_BATCH_SIZE"])
    for name, value in {"DAGSTER_HOME": str(home), "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "compute_logs"),
                        "DAGSTER_POSTGRES_HOST": "127.0.0.1", "DAGSTER_POSTGRES_PORT": str(postgres.port),
                        "DAGSTER_POSTGRES_USER": postgres.superuser, "DAGSTER_POSTGRES_PASSWORD": postgres.password,
                        "DAGSTER_POSTGRES_DB": event_log}.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, ExpandsPlannedSubsets) == (event_log == "deployment")
        yield instance


def _graphql_status(instance: dg.DagsterInstance, asset: str) -> dict:
    """The UI's partition-status answer for `asset`, from the webserver's GraphQL schema in this process."""
    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name=DEFINITIONS_MODULE),
                                         location_name=CODE_LOCATION)
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace:
        result = execute_dagster_graphql(workspace.create_request_context(), STATUS, {"key": {"path": [asset]}})
    assert not result.errors, result.errors
    return result.data["assetNodeOrError"]


def _failed_range_run(instance: dg.DagsterInstance) -> dict:
    """Launch the failing range run; the UI's partition status of `features` afterwards."""
    run = run_stage(BARS_JOB, f"{SESSIONS[0]}|{TICKERS[0]}", f"{SESSIONS[-1]}|{TICKERS[-1]}", instance, TICKERS,
                    assets=["features"])
    assert run.status == "FAILURE" and "[upstream_materialized]" in run.error, run.error
    return _graphql_status(instance, "features")


def test_a_failed_range_run_on_the_postgres_deployment_shows_each_partition_failed(postgres, tmp_path, monkeypatch):
    with _instance("deployment", postgres, tmp_path, monkeypatch) as instance:
        node = _failed_range_run(instance)
        assert node["partitionStats"] == {"numFailed": len(RANGE), "numMaterialized": 0, "numMaterializing": 0}
        assert [(r["primaryDimStartKey"], r["primaryDimEndKey"], sorted(r["secondaryDim"]["failedPartitions"]))
                for r in node["assetPartitionStatuses"]["ranges"]] == [(SESSIONS[0], SESSIONS[-1], TICKERS)]
        partitions_def = defs.resolve_assets_def("features").partitions_def
        outside = {f"2012-12-31|{TICKERS[0]}", f"2013-01-11|{TICKERS[-1]}"}  # the sessions either side
        statuses = instance.get_status_by_partition(dg.AssetKey("features"), sorted(RANGE | outside), partitions_def)
        assert statuses == {**dict.fromkeys(RANGE, dg.AssetPartitionStatus.FAILED), **dict.fromkeys(outside)}


def test_on_the_stock_postgres_event_log_the_helm_chart_names_no_partition_shows_failed(postgres, tmp_path,
                                                                                         monkeypatch):
    with _instance("stock", postgres, tmp_path, monkeypatch) as instance:
        node = _failed_range_run(instance)
        assert node["partitionStats"] == {"numFailed": 0, "numMaterialized": 0, "numMaterializing": 0}
