"""The Dagster UI's server, started as a real process, shows every asset and the checks on validated_bars."""

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

QUERY = """{ assetNodes { assetKey { path } groupName
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_webserver_serves_the_asset_graph_and_its_checks(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "FA_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "financial_assets.definitions",
         "-h", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": QUERY}).encode(),
                                         headers={"Content-Type": "application/json"})
        nodes = json.load(urllib.request.urlopen(request, timeout=60))["data"]["assetNodes"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    by_name = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert {"raw_bars", "validated_bars", "quarantined_bars", "features", "labels", "universe_daily",
            "cross_asset_features", "training_table"} <= set(by_name)
    checks = {c["name"]: c["blocking"] for c in by_name["validated_bars"]["assetChecksOrError"]["checks"]}
    assert checks == {"bars_schema_pandera": True, "bars_suite_great_expectations": False}
    assert by_name["training_table"]["groupName"] == "sql_models"
