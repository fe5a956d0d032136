"""The deployment files agree with the Compose specification and with each other.

No Docker engine runs in CI, so nothing here starts a container (test_deploy_topology.py runs the
same processes natively). Instead: docker-compose.yml is valid against the official Compose JSON
schema (vendored in fixtures/deploy/), and every name one file gives another is checked — the gRPC
location and port, the Postgres variables deploy/dagster.yaml reads, the volumes and the network the
run launcher attaches, the settings a run container must share with the code server, the image.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
import urllib.parse

import dagster as dg
import jsonschema
import pytest
import yaml

from financial_assets.settings import DEFAULTS
from financial_assets_tests.fixtures.deploy.services import (
    DEPLOY,
    ROOT,
    compose,
    compose_environment,
    env_example,
    interpolate,
)
from financial_assets_tests.paths import FIXTURES

SCHEMA = FIXTURES / "deploy" / "compose-spec.json"
DAGSTER_SERVICES = ("user_code", "webserver", "daemon")
LOCATION = "financial_assets"


@pytest.fixture(scope="module")
def spec() -> dict:
    return compose()


@pytest.fixture(scope="module")
def instance_yaml() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


def _schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _env_references(node) -> set[str]:
    """Every `{env: NAME}` in a Dagster config tree."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(_env_references(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_env_references(v) for v in node)) if node else set()
    return set()


def _flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def _mounts(service: dict) -> dict[str, str]:
    """target -> source of a service's short-syntax volumes."""
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def _dockerfile() -> list[list[str]]:
    """deploy/Dockerfile as instructions (continuations joined, comments dropped, ARG defaults substituted)."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", "\n".join(lines), re.M))
    for name, default in args.items():
        lines = [line.replace(f"${{{name}}}", default) for line in lines]
    return [shlex.split(line, comments=False) for line in lines]


def test_the_compose_file_is_valid_against_the_compose_schema(spec):
    assert _schema_errors(spec) == []


@pytest.mark.parametrize("breakage", [
    lambda s: s["services"]["webserver"].update(comand=["dagster-webserver"]),
    lambda s: s["services"]["webserver"]["depends_on"]["postgres"].update(condition="service_ready"),
    lambda s: s["services"]["user_code"].update(volumes="lake:/opt/dagster/data"),  # a list, not a string
])
def test_the_schema_rejects_a_broken_compose_file(breakage):
    broken = compose()
    breakage(broken)
    assert _schema_errors(broken)


def test_the_workspaces_name_one_code_location_the_grpc_server_serves(spec):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    local = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    deployed = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"]
    assert local == [{"python_module": {"module_name": "financial_assets.definitions", "location_name": LOCATION}}]
    assert pyproject["tool"]["dg"]["project"]["code_location_name"] == LOCATION
    (entry,) = deployed
    grpc = entry["grpc_server"]
    assert grpc["location_name"] == LOCATION
    user_code = spec["services"][grpc["host"]]  # the host is the compose service
    command = user_code["command"]
    assert command[:3] == ["dagster", "api", "grpc"]
    assert _flag(command, "-h") == "0.0.0.0" and _flag(command, "-m") == "financial_assets.definitions"
    assert int(_flag(command, "-p")) == grpc["port"]
    assert str(grpc["port"]) in user_code["expose"]
    assert _flag(user_code["healthcheck"]["test"], "-p") == str(grpc["port"])


def test_the_webserver_and_daemon_load_the_deployment_workspace_from_dagster_home(spec):
    copied = [i for i in _dockerfile() if i[0] == "COPY" and "deploy/workspace.yaml" in i]
    (copy,) = copied
    home = compose_environment("webserver", spec)["DAGSTER_HOME"]
    assert {"deploy/dagster.yaml", "deploy/workspace.yaml"} <= set(copy) and copy[-1].rstrip("/") == home
    for name in ("webserver", "daemon"):
        service = spec["services"][name]
        assert service["working_dir"] == home and _flag(service["command"], "-w") == "workspace.yaml"
        assert {"postgres", "user_code"} <= set(service["depends_on"])
    published = spec["services"]["webserver"]["ports"][0].split(":")[-1]
    assert _flag(spec["services"]["webserver"]["command"], "-p") == published
    assert spec["services"]["daemon"]["command"][:2] == ["dagster-daemon", "run"]


@pytest.mark.parametrize("service", DAGSTER_SERVICES)
def test_every_variable_dagster_yaml_reads_is_set_for_each_dagster_service(spec, instance_yaml, service):
    env = compose_environment(service, spec)
    needed = _env_references(instance_yaml)
    assert needed >= {"DAGSTER_POSTGRES_HOST", "DAGSTER_POSTGRES_PORT", "DAGSTER_POSTGRES_USER",
                      "DAGSTER_POSTGRES_PASSWORD", "DAGSTER_POSTGRES_DB"}
    assert needed <= set(env), f"{service} lacks {sorted(needed - set(env))}"
    assert int(env["DAGSTER_EVENT_BATCH_SIZE"]) > 1  # partition events written in batches


def test_dagster_and_mlflow_reach_the_postgres_service_with_its_own_credentials(spec, instance_yaml):
    db = compose_environment("postgres", spec)
    dagster = compose_environment("user_code", spec)
    assert spec["services"][dagster["DAGSTER_POSTGRES_HOST"]] is spec["services"]["postgres"]
    assert dagster["DAGSTER_POSTGRES_PORT"] == "5432"  # the postgres image's port
    assert (dagster["DAGSTER_POSTGRES_USER"], dagster["DAGSTER_POSTGRES_PASSWORD"], dagster["DAGSTER_POSTGRES_DB"]) == (
        db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"])
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which the image does not have
    configs = [instance_yaml[storage]["config"] for storage in ("run_storage", "event_log_storage", "schedule_storage")]
    assert configs[1:] == configs[:-1] and configs[0]["postgres_db"]["scheme"] == "postgresql+psycopg2"  # one database
    backend = urllib.parse.urlsplit(compose_environment("mlflow", spec)["MLFLOW_BACKEND_STORE_URI"])
    assert backend.scheme == "postgresql+psycopg2"
    assert (backend.username, backend.password, backend.hostname, backend.port, backend.path.lstrip("/")) == (
        db["MLFLOW_POSTGRES_USER"], db["MLFLOW_POSTGRES_PASSWORD"], "postgres", 5432, db["MLFLOW_POSTGRES_DB"])
    assert db["MLFLOW_POSTGRES_DB"] != db["POSTGRES_DB"]  # MLflow's tables apart from Dagster's


def test_the_postgres_init_script_is_mounted_and_reads_only_variables_the_service_sets(spec):
    service = spec["services"]["postgres"]
    (source,) = [src for target, src in _mounts(service).items() if target.startswith("/docker-entrypoint-initdb.d/")]
    script = ROOT / source
    assert script.is_file() and script.stat().st_mode & 0o111, "the init script must exist and be executable"
    used = set(re.findall(r"\$\{?(\w+)", script.read_text()))
    assert used <= set(compose_environment("postgres", spec)), sorted(used - set(compose_environment("postgres", spec)))


def test_the_mlflow_server_is_the_one_the_dagster_services_are_told_about(spec, instance_yaml):
    server = spec["services"]["mlflow"]
    command = server["command"]
    assert command[:2] == ["mlflow", "server"] and "--serve-artifacts" in command
    port = _flag(command, "--port")
    assert server["ports"] == [f"127.0.0.1:{port}:{port}"]
    # the models family's tracking resource reads the server from the variable its EnvVar names (MLflow's
    # own clients from MLFLOW_TRACKING_URI): every Dagster service and every run container get both
    from financial_assets.definitions import defs

    read_by_resource = defs.resources["mlflow"].tracking_uri
    assert isinstance(read_by_resource, dg.EnvVar) and read_by_resource == "FA_MLFLOW_TRACKING_URI"
    for service in DAGSTER_SERVICES:
        env = compose_environment(service, spec)
        for name in (read_by_resource, "MLFLOW_TRACKING_URI"):
            target = urllib.parse.urlsplit(env.get(name, ""))
            assert (target.scheme, target.hostname, str(target.port)) == ("http", "mlflow", port), (service, name)
    assert {read_by_resource, "MLFLOW_TRACKING_URI"} <= set(instance_yaml["run_launcher"]["config"]["env_vars"])
    allowed = _flag(command, "--allowed-hosts").split(",")
    assert {f"mlflow:{port}", f"localhost:{port}"} <= set(allowed)  # other containers, and the host's browser
    artifacts = compose_environment("mlflow", spec)["MLFLOW_ARTIFACTS_DESTINATION"]
    assert artifacts in _mounts(server)


def test_run_containers_get_the_image_network_volumes_and_settings_of_the_code_server(spec, instance_yaml):
    launcher = instance_yaml["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    config = launcher["config"]
    assert set(config) <= {"image", "network", "networks", "registry", "env_vars", "container_kwargs"}
    # the network and volumes by their fixed compose names
    assert config["network"] in {n["name"] for n in spec["networks"].values()}
    volume_names = {key: v["name"] for key, v in spec["volumes"].items()}
    user_code = compose_environment("user_code", spec)
    for mount in config["container_kwargs"]["volumes"]:
        name, target = mount.split(":")[:2]
        assert name in volume_names.values(), name
        assert target in {user_code["FA_DATA_DIR"], user_code["DAGSTER_COMPUTE_LOG_DIR"]}
    key_of = {name: key for key, name in volume_names.items()}
    for service in ("webserver", "daemon"):
        mounts = _mounts(spec["services"][service])
        assert {key_of[m.split(":")[0]] for m in config["container_kwargs"]["volumes"]} <= set(mounts.values())
    # a run sees what the code server sees: the partitions depend on the FA_* settings
    daemon = compose_environment("daemon", spec)
    assert set(config["env_vars"]) <= set(daemon), sorted(set(config["env_vars"]) - set(daemon))
    settings = {name for name in user_code if name in DEFAULTS}
    assert settings <= set(config["env_vars"]), sorted(settings - set(config["env_vars"]))
    assert _env_references(instance_yaml) <= set(config["env_vars"])
    # the image the gRPC server reports is the one compose builds
    images = {spec["services"][s]["image"] for s in (*DAGSTER_SERVICES, "mlflow")}
    assert images == {spec["services"]["user_code"]["environment"]["DAGSTER_CURRENT_IMAGE"]}


def test_the_queue_limits_key_on_tags_the_stage_jobs_carry(instance_yaml):
    from financial_assets.definitions import defs
    from financial_assets.runs.stages import STAGE_TAG, plan_stages

    assert instance_yaml["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = instance_yaml["concurrency"]["runs"]["tag_concurrency_limits"]
    stages = {str(s.index) for s in plan_stages(defs)}
    for limit in limits:
        assert limit["limit"] >= 1
        if limit["key"] == STAGE_TAG:
            assert limit["value"] in stages
    assert {limit["key"] for limit in limits} >= {STAGE_TAG, "dagster/backfill"}


def test_the_image_installs_the_project_editable_with_the_cpu_torch_pin():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = dict(re.match(r"([A-Za-z0-9_.-]+)==(\S+)", d).groups() for d in pyproject["project"]["dependencies"])
    runs = [" ".join(i[1:]) for i in _dockerfile() if i[0] == "RUN"]
    torch = next(r for r in runs if "torch==" in r)
    assert f"torch=={pins['torch']}" in torch and "download.pytorch.org/whl/cpu" in torch
    editable = [r for r in runs if "pip install" in r and "-e ." in r]
    assert editable and runs.index(torch) < runs.index(editable[0])  # CPU torch first, so -e . keeps it
    # the run launchers' libraries (compose, Helm) at the version of the other 0.29 integration libraries
    for library in ("dagster-docker", "dagster-k8s"):
        assert f"{library}=={pins['dagster-postgres']}" in editable[0], library


def test_the_image_build_context_keeps_exactly_what_the_dockerfile_copies():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    kept = {line[1:].rstrip("*").rstrip("/") for line in ignore if line.startswith("!")}
    assert "**" in ignore  # everything else (virtualenvs, the lake, the instance) stays out
    for copy in (i for i in _dockerfile() if i[0] == "COPY"):
        for source in copy[1:-1]:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") in kept, f"{source} is copied but excluded from the build context"


def test_secrets_come_from_the_git_ignored_env_file_whose_example_is_committed():
    text = (ROOT / "docker-compose.yml").read_text()
    variables = re.findall(r"\$\{(\w+)(:?[-?])?([^}]*)\}", text)
    required = {name for name, kind, _ in variables if kind.endswith("?")}
    # every password is required from the environment (.env): no default password sits in the repository
    assert {"DAGSTER_POSTGRES_PASSWORD", "MLFLOW_POSTGRES_PASSWORD"} <= required
    assert all(kind.endswith("?") for name, kind, _ in variables if "PASSWORD" in name)
    raw = {f"{service}.{key}": str(value) for service, body in compose()["services"].items()
           for key, value in (body.get("environment") or {}).items()}
    secrets = {k: v for k, v in raw.items() if "PASSWORD" in k or "postgresql" in v}
    assert secrets and all(re.fullmatch(r".*\$\{\w+_PASSWORD:\?[^}]*\}.*", v) for v in secrets.values()), secrets
    # the example names every required variable (and the Slack webhook's sink), and .env itself is ignored by git
    assert required | {"FA_ALERT_SINKS"} <= set(env_example())
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be git-ignored"
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", ".env.example"], cwd=ROOT, capture_output=True)
    assert tracked.returncode == 0, ".env.example must be committed"
    with pytest.raises(KeyError, match="DAGSTER_POSTGRES_PASSWORD is required"):
        interpolate("${DAGSTER_POSTGRES_PASSWORD:?set it in .env}", {})
    assert interpolate("${DAGSTER_POSTGRES_PASSWORD:?set it}", {"DAGSTER_POSTGRES_PASSWORD": "s3cret"}) == "s3cret"


def test_only_the_ui_mlflow_and_the_reports_publish_ports_and_only_on_the_hosts_loopback(spec):
    published = {name: service.get("ports", []) for name, service in spec["services"].items() if service.get("ports")}
    assert set(published) == {"webserver", "mlflow", "reports"}, published
    for name, ports in published.items():
        assert all(str(p).startswith("127.0.0.1:") for p in ports), (name, ports)
    # inside the compose network the servers listen on every interface of their container, which is private
    assert _flag(spec["services"]["user_code"]["command"], "-h") == "0.0.0.0"
    assert "ports" not in spec["services"]["postgres"] and "ports" not in spec["services"]["user_code"]


def test_the_local_ui_binds_loopback():
    import dagster_webserver.cli
    from dagster._cli.dev import dev_command

    make_ui = re.search(r"^ui:.*?(?=^\S)", (ROOT / "Makefile").read_text(), re.M | re.S).group(0)
    # `make ui` leaves dagster dev's host unset, so the webserver it starts takes its own default: loopback
    assert "dagster dev" in make_ui and "-h " not in make_ui and "--host" not in make_ui
    (dev_host,) = [p.default for p in dev_command.params if p.name == "host"]
    (webserver_host,) = [p.default for p in dagster_webserver.cli.dagster_webserver.params if p.name == "host"]
    assert not isinstance(dev_host, str) and webserver_host == "127.0.0.1"
