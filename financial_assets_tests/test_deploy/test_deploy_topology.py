"""The deployment's topology, run natively: what docker-compose.yml starts, without Docker.

PostgreSQL from the distribution's packages (Dagster's storage and MLflow's backend, created by the
same init script as the postgres container), the user code as a gRPC server, the webserver and the
daemon on deploy/dagster.yaml (only the run launcher swapped: no Docker engine here), and the MLflow
tracking server. Every command, flag and variable comes from docker-compose.yml; only hosts, ports
and directories are local. One partition of the first stage is launched through the webserver's
GraphQL API, queued, dequeued by the daemon, run by the code server, and its events are read back
from PostgreSQL. Then the model stage on the same deployment: a year of one ticker (and the benchmark)
through stages 1 and 2, and cv_folds with trained_model at one as-of date, each launched the same
way, with small model settings; the model's MLflow run, registered version and artifacts are read
back from the MLflow server, and the lake's trained_model row names them, with the promotion rule's decision that
the registry's aliases and tags repeat.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import psycopg2
import pytest

from financial_assets.runs.stages import BARS_JOB
from financial_assets.settings import DEFAULTS
from financial_assets_tests.fixtures.deploy.services import (
    BIN,
    DEPLOY,
    NativePostgres,
    Services,
    compose,
    compose_environment,
    free_port,
    graphql,
    http_get,
    instance_yaml_without_docker,
    post_json,
    workspace_yaml_on,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

JOB = BARS_JOB
PARTITION = "2013-01-02|AAPL"
LOCATION = "financial_assets"
#: the assets of stage 1, each materialized for the one partition
STAGE_ASSETS = {"raw_bars", "validated_bars", "quarantined_bars", "features", "labels"}

#: the model stage, small: a logistic model without tuning for one ticker as of the embedded bars' last session,
#: trained on the year from docker-compose.yml's FA_HISTORY_START (about 245 labelled rows). These are the test's
#: settings, not the deployment's; every other value comes from docker-compose.yml.
MODEL_SETTINGS = {"FA_MODEL_TYPES": "logistic", "FA_TUNING_TRIALS": "0", "FA_MIN_CHAMPION_OOS_ROWS": "50"}
MODEL_TICKER, BENCHMARK, AS_OF = "AAPL", "IBM", "2013-03-01"  # IBM: the embedded data's cross-asset benchmark
MODEL_ASSETS = ["cv_folds", "trained_model"]
#: trained_model's named MLflow metrics (financial_assets/defs/models/assets.py METRICS) and a baseline
MODEL_METRICS = {"oos_auc", "oos_auc_ci_low", "oos_auc_ci_high", "oos_balanced_accuracy", "oos_accuracy",
                 "oos_log_loss", "oos_rows", "baseline_majority_accuracy"}
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

WORKSPACE = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
DAEMONS = """{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId status } }
  ... on Error { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status tags { key value } } } }"""
ADD_TICKER = """mutation($repo: RepositorySelector!, $key: String!) { addDynamicPartition(repositorySelector: $repo,
  partitionsDefName: "tickers", partitionKey: $key) { __typename ... on Error { message } } }"""
SENSOR = """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { __typename
  ... on Sensor { sensorState { status ticks(limit: 20) { status } } } } }"""
SCHEDULE = """query($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) { __typename
  ... on Schedule { cronSchedule executionTimezone scheduleState { status } } } }"""
#: the operations family's sensors, running by default: the daemon evaluates them on this deployment
DAEMON_SENSORS = ("drift_retrain_sensor", "run_failure_alert_sensor", "retrain_outcome_sensor", "nightly_stage_sensor",
                  "stale_tickers_sensor")
JOBS_OF = """query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode { jobNames } } }"""


def _argv(command: list[str], values: dict[str, str]) -> list[str]:
    """A compose `command` with the value after each flag in `values` replaced, the program from this venv."""
    argv = [str(BIN / command[0]), *command[1:]]
    for flag, value in values.items():
        assert flag in argv, f"{flag} missing from {command}"
        argv[argv.index(flag) + 1] = value
    return argv


def _local_uri(uri: str, host: str, port: int) -> str:
    parts = urllib.parse.urlsplit(uri)
    credentials = parts.netloc.rsplit("@", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{credentials}@{host}:{port}"))


@pytest.fixture
def topology(tmp_path):
    """Every service of the compose file, on loopback; yields what the test needs to talk to them."""
    spec = compose()
    services = Services(tmp_path / "logs")
    try:
        pg_env = compose_environment("postgres", spec)
        db = NativePostgres.start(services, pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"])
        # what the postgres image does on first start: POSTGRES_DB, then the init scripts
        db.psql(f'CREATE DATABASE "{pg_env["POSTGRES_DB"]}"')
        init = subprocess.run(["sh", str(DEPLOY / "postgres" / "create-databases.sh")],
                              env={**db.client_env(), **pg_env}, capture_output=True, text=True, timeout=60)
        assert init.returncode == 0, init.stdout + init.stderr

        ports = {"grpc": free_port(), "web": free_port(), "mlflow": free_port()}
        home = tmp_path / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml_without_docker())
        (home / "workspace.yaml").write_text(workspace_yaml_on("127.0.0.1", ports["grpc"]))
        local = {  # the only values that differ from the containers': hosts, ports, directories
            "DAGSTER_POSTGRES_HOST": "127.0.0.1", "DAGSTER_POSTGRES_PORT": str(db.port), "DAGSTER_HOME": str(home),
            "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "compute_logs"), "FA_DATA_DIR": str(tmp_path / "data"),
            "FA_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{ports['mlflow']}",
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{ports['mlflow']}",
        }
        dagster_env = {**os.environ, **compose_environment("user_code", spec), **local, **MODEL_SETTINGS}
        assert set(local) <= set(compose_environment("user_code", spec))

        ml = spec["services"]["mlflow"]
        ml_env = compose_environment("mlflow", spec)
        ml_env["MLFLOW_BACKEND_STORE_URI"] = _local_uri(ml_env["MLFLOW_BACKEND_STORE_URI"], "127.0.0.1", db.port)
        ml_env["MLFLOW_ARTIFACTS_DESTINATION"] = str(tmp_path / "mlflow_artifacts")
        allowed = ml["command"][ml["command"].index("--allowed-hosts") + 1] + f",127.0.0.1:{ports['mlflow']}"
        services.start("mlflow", _argv(ml["command"], {"--host": "127.0.0.1", "--port": str(ports["mlflow"]),
                                                       "--allowed-hosts": allowed}), {**os.environ, **ml_env})
        services.start("user_code", _argv(spec["services"]["user_code"]["command"],
                                          {"-h": "127.0.0.1", "-p": str(ports["grpc"])}), dagster_env, cwd=tmp_path)

        # the project's command line on the deployment's instance: it creates the schema and the ticker
        tickers = subprocess.run([str(BIN / "financial-assets"), "tickers", "AAPL"], env=dagster_env,
                                 capture_output=True, text=True, timeout=120)
        assert tickers.returncode == 0 and tickers.stdout.split() == ["AAPL"], tickers.stdout + tickers.stderr

        health = spec["services"]["user_code"]["healthcheck"]["test"][1:]
        services.wait_for("the gRPC code server", lambda: subprocess.run(
            _argv(health, {"-p": str(ports["grpc"])}), env=dagster_env, capture_output=True).returncode == 0,
            timeout_s=120, interval_s=1)
        for name in ("webserver", "daemon"):
            command = spec["services"][name]["command"]
            values = {"-h": "127.0.0.1", "-p": str(ports["web"])} if name == "webserver" else {}
            services.start(name, _argv(command, values), dagster_env, cwd=home)
        base = f"http://127.0.0.1:{ports['web']}"
        yield {"base": base, "dagster_env": dagster_env, "mlflow": f"http://127.0.0.1:{ports['mlflow']}",
               "ml_env": ml_env, "db": db, "services": services}
    finally:
        services.stop_all()
        if "db" in locals():
            db.remove()


def _loaded(base: str) -> bool:
    answer = http_get(f"{base}/server_info")
    if not answer or answer[0] != 200:
        return False
    entries = graphql(base, WORKSPACE)["workspaceOrError"]["locationEntries"]
    (entry,) = entries
    assert entry["name"] == LOCATION
    error = entry["locationOrLoadError"]
    assert error is None or error["__typename"] != "PythonError", error
    return entry["loadStatus"] == "LOADED" and error and error["__typename"] == "RepositoryLocation"


def _daemons_healthy(base: str) -> bool:
    statuses = graphql(base, DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
    return all(s["healthy"] for s in statuses if s["required"])


def _launch(base: str, job: str = JOB, tags: dict[str, str] | None = None,
            assets: list[str] | None = None) -> str:
    """Launch `job` (or `assets` of it) through the webserver; the run id. Default: PARTITION of stage 1."""
    if tags is None:
        date, ticker = PARTITION.split("|")
        tags = {"dagster/partition": PARTITION, "dagster/partition/date": date, "dagster/partition/ticker": ticker}
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "jobName": job}
    if assets is not None:
        selector["assetSelection"] = [{"path": [name]} for name in assets]
    params = {"selector": selector, "runConfigData": {},
              "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
    launched = graphql(base, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _range(first: str, last: str) -> dict[str, str]:
    """The tags of a run over the partitions first...last (what the project's runner sets)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def _finished(base: str, run_id: str) -> str | None:
    status = graphql(base, RUN, {"id": run_id})["runOrError"]["status"]
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None


def test_a_partition_launched_through_the_webserver_runs_on_postgres_and_mlflow_answers(topology):
    base, services = topology["base"], topology["services"]
    services.wait_for("the webserver with the code location loaded", lambda: _loaded(base), timeout_s=120)
    services.wait_for("the daemon's heartbeats", lambda: _daemons_healthy(base), timeout_s=90, interval_s=2)

    run_id = _launch(base)
    status = services.wait_for(f"run {run_id}", lambda: _finished(base, run_id), timeout_s=180, interval_s=1)
    assert status == "SUCCESS", services.failure()

    # the run and its events are in PostgreSQL, written over TCP with the deployment's credentials
    env = topology["dagster_env"]
    with psycopg2.connect(host=env["DAGSTER_POSTGRES_HOST"], port=env["DAGSTER_POSTGRES_PORT"],
                          user=env["DAGSTER_POSTGRES_USER"], password=env["DAGSTER_POSTGRES_PASSWORD"],
                          dbname=env["DAGSTER_POSTGRES_DB"]) as conn, conn.cursor() as cur:
        cur.execute("select status from runs where run_id = %s", (run_id,))
        assert cur.fetchall() == [("SUCCESS",)]
        cur.execute("select dagster_event_type, asset_key, partition from event_logs where run_id = %s", (run_id,))
        events = cur.fetchall()
    kinds = {kind for kind, _, _ in events if kind}  # plain log lines have no type
    # queued by the webserver, launched by the daemon (STARTING), run by the code server's run process
    # (the column keeps Dagster's storage names: PIPELINE_* for RUN_*)
    assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_START", "PIPELINE_SUCCESS"} <= kinds, " ".join(
        sorted(kinds))
    materialized = {(json.loads(key)[0], partition) for kind, key, partition in events
                    if kind == "ASSET_MATERIALIZATION"}
    assert materialized == {(asset, PARTITION) for asset in STAGE_ASSETS}
    # the step's output went to the compute-log directory deploy/dagster.yaml takes from the environment
    assert "LOGS_CAPTURED" in kinds and any(Path(env["DAGSTER_COMPUTE_LOG_DIR"]).rglob("*.err"))
    tags = {t["key"]: t["value"] for t in graphql(base, RUN, {"id": run_id})["runOrError"]["tags"]}
    assert tags["financial_assets/stage"] == "1"  # the tag the queue's concurrency limits key on

    # MLflow's server answers its REST API and keeps what it is told in its PostgreSQL database
    mlflow = topology["mlflow"]
    assert http_get(f"{mlflow}/health") == (200, b"OK")
    created = post_json(f"{mlflow}/api/2.0/mlflow/experiments/create", {"name": "deploy-topology-check"})
    found = json.load(urllib.request.urlopen(
        f"{mlflow}/api/2.0/mlflow/experiments/get-by-name?experiment_name=deploy-topology-check", timeout=30))
    assert found["experiment"]["experiment_id"] == created["experiment_id"]
    assert topology["db"].psql("select name from experiments where name = 'deploy-topology-check'",
                               database=_database(topology["ml_env"]["MLFLOW_BACKEND_STORE_URI"])).split() == [
        "deploy-topology-check"]

    # the model stage on the same deployment: a year of two tickers through stages 1 and 2, then cv_folds and
    # trained_model for one ticker at one as-of date, each run queued by the webserver and launched by the daemon
    model_run_id = _train_one_model(base, services, env)
    tags = {t["key"]: t["value"] for t in graphql(base, RUN, {"id": model_run_id})["runOrError"]["tags"]}
    assert tags["financial_assets/stage"] == "3"
    assert _materialized(env, model_run_id) == {(asset, f"{AS_OF}|{MODEL_TICKER}") for asset in MODEL_ASSETS}

    # its MLflow run is in this server's experiment, finished, with the named metrics and the run's tags
    experiment = json.load(urllib.request.urlopen(
        f"{mlflow}/api/2.0/mlflow/experiments/get-by-name?experiment_name=financial_assets", timeout=30))["experiment"]
    runs = post_json(f"{mlflow}/api/2.0/mlflow/runs/search", {
        "experiment_ids": [experiment["experiment_id"]],
        "filter": f"tags.dagster_run_id = '{model_run_id}'"}).get("runs", [])
    assert [r["info"]["status"] for r in runs] == ["FINISHED"], runs
    (run,) = runs
    metrics = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
    assert MODEL_METRICS <= set(metrics), sorted(MODEL_METRICS - set(metrics))
    assert 0.0 <= metrics["oos_auc_ci_low"] <= metrics["oos_auc"] <= metrics["oos_auc_ci_high"] <= 1.0, metrics
    run_tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
    assert {k: run_tags.get(k) for k in ("ticker", "as_of", "dagster_run_id", "model_type", "label")} == {
        "ticker": MODEL_TICKER, "as_of": AS_OF, "dagster_run_id": model_run_id, "model_type": "logistic",
        "label": DEFAULTS["FA_MODEL_LABEL"]}
    mlflow_run_id = run["info"]["run_id"]

    # the lake's trained_model row names the run and version, and what the promotion rule decided
    from financial_assets.storage.lake import ParquetLake

    data = Path(env["FA_DATA_DIR"])
    row = ParquetLake(data / "lake").read("trained_model", [MODEL_TICKER]).set_index("date").loc[AS_OF]
    assert (row["mlflow_run_id"], int(row["model_version"])) == (mlflow_run_id, 1)
    # the model is registered in this server's registry as that run's version; its aliases and tags say what the
    # lake says: `champion` when it passed the promotion gate, else `challenger` and no model serving (a year of real
    # AAPL bars rarely gives an AUC interval above 0.5)
    name = f"fa_{MODEL_TICKER}_{DEFAULTS['FA_MODEL_LABEL']}"
    model = json.load(urllib.request.urlopen(
        f"{mlflow}/api/2.0/mlflow/registered-models/get?name={name}", timeout=30))["registered_model"]
    version = json.load(urllib.request.urlopen(
        f"{mlflow}/api/2.0/mlflow/model-versions/get?name={name}&version=1", timeout=30))["model_version"]
    assert version["run_id"] == mlflow_run_id
    assert row["alias"] in ("champion", "challenger")
    assert {(a["alias"], a["version"]) for a in model.get("aliases", [])} == {(row["alias"], "1")}
    serving = "1" if row["alias"] == "champion" else "none"
    assert {t["key"]: t["value"] for t in model.get("tags", [])}.get("serving_version") == serving
    assert ("none" if pd.isna(row["serving_version"]) else str(int(row["serving_version"]))) == serving
    version_tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    assert (version_tags["promotion_decision"], version_tags["gate_passed"].lower()) == (
        row["promotion_decision"], str(bool(row["gate_passed"])).lower())
    # the model's files went through the server (--serve-artifacts) to its artifact destination
    listed = json.load(urllib.request.urlopen(
        f"{mlflow}/api/2.0/mlflow/artifacts/list?run_id={mlflow_run_id}", timeout=30)).get("files", [])
    assert listed and any(Path(topology["ml_env"]["MLFLOW_ARTIFACTS_DESTINATION"]).rglob("MLmodel"))
    # nothing went to an embedded MLflow store
    assert not (data / "mlflow").exists()

    # the daemon evaluates the drift, alert and nightly sensors of this code location; the nightly schedule
    # is listed in the exchange's time zone (off until a person turns it on)
    repository = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
    for name in DAEMON_SENSORS:
        selector = {**repository, "sensorName": name}
        assert services.wait_for(f"a tick of {name}", lambda selector=selector: _ticks(base, selector),
                                 timeout_s=120, interval_s=2), name
    schedule = graphql(base, SCHEDULE, {"selector": {**repository, "scheduleName": "nightly_schedule"}})
    schedule = schedule["scheduleOrError"]
    assert (schedule["executionTimezone"], schedule["scheduleState"]["status"]) == ("America/New_York", "STOPPED")


def _ticks(base: str, selector: dict) -> list[str] | None:
    """The statuses of a running sensor's ticks, once it has any."""
    state = graphql(base, SENSOR, {"selector": selector})["sensorOrError"]["sensorState"]
    assert state["status"] == "RUNNING", (selector, state)
    return [t["status"] for t in state["ticks"]] or None


def _succeeded(base: str, services: Services, run_ids: list[str]) -> None:
    for run_id in run_ids:
        status = services.wait_for(f"run {run_id}", lambda run_id=run_id: _finished(base, run_id), timeout_s=180,
                                   interval_s=1)
        assert status == "SUCCESS", f"run {run_id}: {status}\n{services.failure()}"


def _job_of(base: str, asset: str) -> str:
    """The stage job the webserver lists for `asset` (besides Dagster's implicit asset jobs)."""
    names = graphql(base, JOBS_OF, {"path": [asset]})["assetNodeOrError"]["jobNames"]
    (job,) = [n for n in names if not n.startswith("__")]
    return job


def _train_one_model(base: str, services: Services, env: dict[str, str]) -> str:
    """Stages 1 and 2 over the history for the ticker and the benchmark, then MODEL_ASSETS at AS_OF; the run id."""
    # the daemon's ticker_registration_sensor may have registered the source's tickers already
    repository = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
    added = graphql(base, ADD_TICKER, {"repo": repository, "key": BENCHMARK})["addDynamicPartition"]
    assert added["__typename"] in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"), added
    start = env["FA_HISTORY_START"]
    # one run per ticker (a box of both could hold tickers registered between them), side by side in the queue
    bars = _job_of(base, "features")
    _succeeded(base, services, [_launch(base, bars, _range(f"{start}|{t}", f"{AS_OF}|{t}"))
                                for t in (MODEL_TICKER, BENCHMARK)])
    _succeeded(base, services, [_launch(base, _job_of(base, "training_table"), _range(start, AS_OF))])
    key = f"{AS_OF}|{MODEL_TICKER}"
    model_run_id = _launch(base, _job_of(base, "trained_model"), {
        "dagster/partition": key, "dagster/partition/date": AS_OF, "dagster/partition/ticker": MODEL_TICKER},
        MODEL_ASSETS)
    _succeeded(base, services, [model_run_id])
    return model_run_id


def _materialized(env: dict[str, str], run_id: str) -> set[tuple[str, str]]:
    """(asset, partition) of every materialization the run wrote to PostgreSQL's event log."""
    with psycopg2.connect(host=env["DAGSTER_POSTGRES_HOST"], port=env["DAGSTER_POSTGRES_PORT"],
                          user=env["DAGSTER_POSTGRES_USER"], password=env["DAGSTER_POSTGRES_PASSWORD"],
                          dbname=env["DAGSTER_POSTGRES_DB"]) as conn, conn.cursor() as cur:
        cur.execute("select asset_key, partition from event_logs where run_id = %s and dagster_event_type = %s",
                    (run_id, "ASSET_MATERIALIZATION"))
        return {(json.loads(key)[0], partition) for key, partition in cur.fetchall()}


def _database(uri: str) -> str:
    return urllib.parse.urlsplit(uri).path.lstrip("/")
