"""Report links answer over HTTP: the report server (the process compose starts) serves drift reports, renders a
report nobody rendered yet when first opened, and the champion's MLflow link opens its run in an MLflow UI."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
import requests

from financial_assets.tracking.serving import HOST, free_port
from financial_assets_tests.dagster_helpers import partition_metadata
from financial_assets_tests.fixtures.deploy.services import Services, http_get
from financial_assets_tests.test_drift.test_drift_family_report import SHIFTED, STEADY, _run, tables  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow


@contextmanager
def process(name: str, command: list[str], url: str, logs: Path) -> Iterator[None]:
    """Run `command` until `url` answers; stop it and what it started afterwards (SIGTERM, then SIGKILL: a process
    can inherit SIGTERM ignored from whatever started the test run)."""
    services = Services(logs)
    try:
        services.start(name, command, os.environ)
        services.wait_for(f"{name} at {url}", lambda: http_get(url), timeout_s=120)
        yield
    finally:
        services.stop_all()


# `tables` is the fixture imported above: pytest passes it by name (F811 mistakes that for a redefinition)
def test_the_report_server_serves_the_linked_reports_and_renders_the_others_on_demand(tables, tmp_path,  # noqa: F811
                                                                                      monkeypatch):
    port = free_port()
    monkeypatch.setenv("FA_ARTIFACTS_URL", f"http://{HOST}:{port}")
    instance = dg.DagsterInstance.ephemeral()
    _run("2013-02-27", "2013-02-27", instance)
    shifted = partition_metadata(instance, "drift_report", f"2013-02-27|{SHIFTED}")
    steady = partition_metadata(instance, "drift_report", f"2013-02-27|{STEADY}")
    assert shifted["level"] == "error" and shifted["report"].startswith(f"http://{HOST}:{port}/drift_report/")
    server = [sys.executable, "-m", "financial_assets.defs.drift.report_server", "--host", HOST, "--port", str(port)]
    with process("reports", server, f"http://{HOST}:{port}/", tmp_path / "logs"):
        page = requests.get(shifted["report"], timeout=30)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert "<html" in page.text[:2000].lower() and "f0" in page.text
        summary = requests.get(shifted["report_json"], timeout=30).json()
        assert summary["dataset_drift"] is True and summary["ticker"] == SHIFTED

        html = tables.root.parent / "artifacts" / steady["report"].split(f"{port}/", 1)[1]
        assert steady["level"] in ("ok", "warn")
        if steady["level"] == "ok":
            assert not html.exists()  # nobody rendered it with the run
        opened = requests.get(steady["report"], timeout=120)  # rendered now, from the lake
        assert opened.status_code == 200 and "<html" in opened.text[:2000].lower() and html.is_file()
        assert requests.get(steady["report"], timeout=30).text == opened.text  # and kept

        assert requests.get(f"http://{HOST}:{port}/drift_report/NOPE/2013-02-27/report.html", timeout=30).status_code \
            == 404
        assert requests.get(f"http://{HOST}:{port}/../lake/drift_report", timeout=30).status_code == 404


def test_the_champion_link_opens_its_run_in_the_mlflow_ui(tmp_path):
    from financial_assets.tracking import mlflow_uris, tracked_run
    from financial_assets.tracking.store import mlflow_run_url

    store = mlflow_uris(tmp_path / "data")
    with tracked_run(store, ticker="AAPL", as_of="2013-02-27", model_type="xgboost", label="dir_5") as run:
        run.log_metrics({"oos_auc": 0.55})
    port = free_port()
    ui = f"http://{HOST}:{port}"
    link = mlflow_run_url(ui, run.run_id)
    assert link == f"{ui}/#/runs/{run.run_id}"
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store.tracking_uri, "--host", HOST,
               "--port", str(port)]
    with process("mlflow", command, ui, tmp_path / "logs"):
        page = requests.get(link, timeout=30)  # the browser asks for the page; the run's route is its fragment
        assert page.status_code == 200 and "<html" in page.text[:500].lower()
        found = requests.get(f"{ui}/api/2.0/mlflow/runs/get", params={"run_id": run.run_id}, timeout=30).json()
        assert found["run"]["data"]["tags"] and found["run"]["info"]["run_id"] == run.run_id
