"""deploy/helm/values.yaml: Dagster's Helm chart values for running the project on Kubernetes.

No cluster and no helm here, so the file is checked against the chart's values schema (the part of
it the file uses, transcribed in fixtures/deploy/helm-values-subset.schema.json with its source) and
against the rest of the deployment: the same code location, module, port, settings, database
scheme and queue limits as docker-compose.yml and deploy/dagster.yaml.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from financial_assets_tests.fixtures.deploy.services import DEPLOY, compose_environment
from financial_assets_tests.paths import FIXTURES

SCHEMA = FIXTURES / "deploy" / "helm-values-subset.schema.json"


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_values_follow_the_charts_schema(values):
    assert _errors(values) == []


def test_the_schema_catches_a_misspelled_or_mistyped_value(values):
    broken = yaml.safe_load(yaml.safe_dump(values))
    broken["runLauncher"]["config"]["k8sRunLauncher"]["envVar"] = []
    broken["dagster-user-deployments"]["deployments"][0]["port"] = "4000"
    assert len(_errors(broken)) == 2


def test_the_chart_serves_the_same_code_location_with_the_same_settings_as_compose(values):
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    (server,) = values["dagsterWebserver"]["workspace"]["servers"]
    grpc = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    assert (server["name"], server["host"], server["port"]) == (grpc["location_name"], deployment["name"],
                                                                deployment["port"])
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "financial_assets.definitions"]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}  # run pods get the env and the lake
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    compose = compose_environment("user_code")
    shared = {k for k in compose if k.startswith("FA_") or k == "DAGSTER_EVENT_BATCH_SIZE"}
    assert shared <= set(env), sorted(shared - set(env))
    # what compose takes from .env (the secrets) the chart takes from a Kubernetes secret, never a literal
    secret = {e["name"] for e in deployment["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert "FA_ALERT_SINKS" in secret and all(env[k] is None for k in secret)
    assert {k: env[k] for k in shared - secret} == {k: compose[k] for k in shared - secret}
    (mount,) = deployment["volumeMounts"]
    assert mount["mountPath"] == env["FA_DATA_DIR"] and deployment["volumes"][0]["name"] == mount["name"]


def test_the_chart_uses_the_deployments_database_scheme_and_queue_limits(values):
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert values["postgresql"]["postgresqlScheme"] == instance["event_log_storage"]["config"]["postgres_db"]["scheme"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert "maxConcurrentRuns" not in values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    helm_limits = values["additionalInstanceConfig"]["concurrency"]["runs"]["tag_concurrency_limits"]
    compose_limits = instance["concurrency"]["runs"]["tag_concurrency_limits"]
    key = lambda limits: sorted((limit["key"], str(limit.get("value"))) for limit in limits)  # noqa: E731
    assert key(helm_limits) == key(compose_limits)  # the same tags, limits sized for a cluster
    assert set(values["additionalInstanceConfig"]["concurrency"]) == set(instance["concurrency"])
