"""The Dagster UI's server, as a real process, on an instance the project's own command filled.

What the UI shows comes from this GraphQL API: the runs under their job and code location, every
partition a run wrote as materialized, and checks that passed as passed (not "skipped").
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from financial_assets.runs.stages import BARS_JOB
from financial_assets_tests.paths import ROOT

BIN = Path(sys.executable).parent

NODES = """{ assetNodes { assetKey { path } groupName
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""
JOB_RUNS = ('{ pipelineOrError(params: {pipelineName: "' + BARS_JOB + '", repositoryName: "__repository__", '
            'repositoryLocationName: "financial_assets"}) { __typename ... on Pipeline { runs { runId status } } } }')
VALIDATED = """{ assetNodeOrError(assetKey: {path: ["validated_bars"]}) { ... on AssetNode {
  partitionStats { numMaterialized numFailed }
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=120))["data"]


@pytest.fixture
def served(tmp_path):
    """A webserver on loopback over an instance where `financial-assets run` materialized 2 tickers x 20 sessions."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "FA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([str(BIN / "financial-assets"), "run", "--tickers", "AAPL,IBM", "--start", "2013-02-01"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    port = _free_port()
    server = subprocess.Popen([str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                               "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_ui_shows_the_commands_runs_partitions_and_passed_checks(served):
    nodes = {"/".join(n["assetKey"]["path"]): n for n in _graphql(served, NODES)["assetNodes"]}
    assert {"raw_bars", "validated_bars", "quarantined_bars", "features", "labels", "universe_daily",
            "cross_asset_features", "training_table"} <= set(nodes)
    checks = {c["name"]: c["blocking"] for c in nodes["validated_bars"]["assetChecksOrError"]["checks"]}
    assert checks == {"bars_schema_pandera": False, "bars_suite_great_expectations": False}
    assert nodes["training_table"]["groupName"] == "sql_models"
    # the main command's run is listed under its job in the code location, like a run launched from the UI
    job = _graphql(served, JOB_RUNS)["pipelineOrError"]
    assert job["__typename"] == "Pipeline" and [r["status"] for r in job["runs"]] == ["SUCCESS"]
    validated = _graphql(served, VALIDATED)["assetNodeOrError"]
    assert validated["partitionStats"] == {"numMaterialized": 40, "numFailed": 0}
    statuses = {c["name"]: c["executionForLatestMaterialization"]["status"]
                for c in validated["assetChecksOrError"]["checks"]}
    assert statuses == {"bars_schema_pandera": "SUCCEEDED", "bars_suite_great_expectations": "SUCCEEDED"}
