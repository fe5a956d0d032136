"""drift_retrain_sensor against an instance holding failed drift checks: one request per ticker, cursor, cooldown."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from financial_assets.defs.drift.checks import CHECK_KEY
from financial_assets.defs.operations.resources import AlertsResource, RetrainResource
from financial_assets.defs.operations.retrain import RETRAIN_TAG, drift_retrain_sensor
from financial_assets.definitions import defs
from financial_assets.runs.runner import RANGE_END_TAG, RANGE_START_TAG, register_tickers

REPOSITORY = defs.get_repository_def()


def fail(instance: dg.DagsterInstance, *partitions: tuple[str, str]) -> None:
    """Record one failed drift_check evaluation listing `partitions` (date, ticker) at ERROR."""
    errors = [{"ticker": t, "date": d, "reasons": ["dataset_drift"], "drifted_features": ["rsi_14", "vol_20"],
               "report": f"file:///reports/{t}/{d}/report.html", "numbers": {"drifted_share": 0.4}}
              for d, t in partitions]
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=CHECK_KEY.asset_key, check_name=CHECK_KEY.name, passed=False, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"errors": dg.MetadataValue.json(errors)}))


def tick(instance: dg.DagsterInstance, cursor: str | None, alerts: AlertsResource) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=REPOSITORY,
                                      resources={"alerts": alerts, "retrain": RetrainResource(cooldown_sessions=5)})
    return drift_retrain_sensor.evaluate_tick(context)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    register_tickers(instance, ["AAPL", "MSFT"])
    return instance


@pytest.fixture
def alerts(data_dir: Path) -> AlertsResource:
    return AlertsResource(sinks="", data_dir=str(data_dir), ui_url="http://localhost:3000")


def logged(data_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (data_dir / "alerts" / "alerts.jsonl").read_text().splitlines()]


def test_a_failed_check_requests_one_retraining_per_ticker_once_and_alerts(instance, alerts, data_dir):
    fail(instance, ("2013-02-15", "AAPL"), ("2013-02-20", "AAPL"))
    first = tick(instance, None, alerts)
    (request,) = first.run_requests
    assert request.run_key == "retrain:2013-02-20|AAPL"
    assert request.tags[RANGE_START_TAG] == request.tags[RANGE_END_TAG] == "2013-02-20|AAPL"
    assert request.tags[RETRAIN_TAG] == "2013-02-20|AAPL" and request.tags["dagster/defer_asset_events"] == "true"
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"cv_folds", "trained_model", "predictions", "drift_report"} <= selected
    assert not selected & {"training_table", "validated_bars", "features"}
    (alert,) = logged(data_dir)
    assert (alert["kind"], alert["ticker"], alert["date"]) == ("drift", "AAPL", "2013-02-20")
    assert alert["drifted_features"] == ["rsi_14", "vol_20"] and alert["report_url"].endswith("2013-02-20/report.html")
    assert "Retraining requested" in alert["message"]
    (observation,) = first.asset_events
    assert observation.partition == "2013-02-20|AAPL" and "retraining" in observation.metadata

    again = tick(instance, first.cursor, alerts)  # the same records: nothing new, nothing sent
    assert again.run_requests == [] and len(logged(data_dir)) == 1

    fail(instance, ("2013-02-22", "AAPL"), ("2013-02-22", "MSFT"))  # AAPL two sessions later: cooldown
    later = tick(instance, again.cursor, alerts)
    assert [r.run_key for r in later.run_requests] == ["retrain:2013-02-22|MSFT"]
    assert "within the cooldown of 5 sessions" in logged(data_dir)[-2]["message"]

    fail(instance, ("2013-02-28", "AAPL"))  # six sessions after its request: retrain again
    last = tick(instance, later.cursor, alerts)
    assert [r.run_key for r in last.run_requests] == ["retrain:2013-02-28|AAPL"]


def test_the_state_survives_a_restart_in_the_cursor(instance, alerts):
    fail(instance, ("2013-02-20", "AAPL"))
    stored = tick(instance, None, alerts).cursor  # what the daemon persists; a restarted sensor holds nothing else
    assert json.loads(stored)["requested"] == {"AAPL": "2013-02-20"}
    fail(instance, ("2013-02-21", "AAPL"))
    assert tick(instance, stored, alerts).run_requests == []  # the request and the records read are in the cursor


def test_a_warning_only_check_requests_nothing(instance, alerts, data_dir):
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=CHECK_KEY.asset_key, check_name=CHECK_KEY.name, passed=False, severity=dg.AssetCheckSeverity.WARN,
        metadata={"errors": dg.MetadataValue.json([])}))
    result = tick(instance, None, alerts)
    assert result.run_requests == [] and not (data_dir / "alerts").exists()
