"""Alerts of the operations family against a webhook on loopback: drift failures, run failures, retraining outcomes."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from financial_assets.app.runner import register_tickers
from financial_assets.defs.operations.alerting import (
    ALERT_TAG,
    retrain_outcome_sensor,
    run_failure_alert_sensor,
    run_subject,
)
from financial_assets.defs.operations.resources import AlertsResource
from financial_assets.defs.operations.retrain import RETRAIN_TAG
from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from financial_assets.defs.resources import LakeResource
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.test_alerts.test_alerts_sinks import Recorder
from financial_assets_tests.test_operations.test_operations_retrain import fail, tick


@pytest.fixture
def webhook():
    with Recorder() as server:
        yield server


@pytest.fixture
def alerts(webhook: Recorder, data_dir: Path) -> AlertsResource:
    return AlertsResource(sinks=f"webhook:{webhook.url}/hook", data_dir=str(data_dir), ui_url="http://ui.local:3000",
                          mlflow_ui_url="http://mlflow.local:5000")


@dg.asset
def exploding() -> None:
    raise ValueError("[bars_ohlc] ticker='AAPL' date=2013-02-20: high below low")


@dg.asset
def retraining() -> None:
    """Stands in for a retraining run: the outcome sensor reads trained_model from the lake, not the run."""


def _finished(instance: dg.DagsterInstance, asset: dg.AssetsDefinition, tags: dict[str, str],
              status: dg.DagsterEventType) -> dg.RunStatusSensorContext:
    result = dg.materialize([asset], instance=instance, tags=tags, raise_on_error=False)
    (record,) = instance.get_records_for_run(result.run_id, of_type=status).records
    return dg.build_run_status_sensor_context("sensor", record.event_log_entry.dagster_event, instance,
                                              instance.get_run_by_id(result.run_id))


def test_a_drift_failure_posts_ticker_date_features_and_report(webhook, alerts):
    instance = dg.DagsterInstance.ephemeral()
    register_tickers(instance, ["AAPL"])
    fail(instance, ("2013-02-20", "AAPL"))
    tick(instance, None, alerts)
    (posted,) = webhook.requests
    body = posted["json"]
    assert posted["path"] == "/hook" and (body["kind"], body["ticker"], body["date"]) == ("drift", "AAPL", "2013-02-20")
    assert body["drifted_features"] == ["rsi_14", "rv_20"]
    assert body["report_url"] == "http://reports.local/drift_report/AAPL/2013-02-20/report.html"
    assert body["numbers"] == {"drifted_share": 0.4} and body["severity"] == "critical"


def test_a_failed_run_posts_its_root_cause_and_tags_the_run(webhook, alerts):
    instance = dg.DagsterInstance.ephemeral()
    tags = {RANGE_START_TAG: "2013-02-20|AAPL", RANGE_END_TAG: "2013-02-20|AAPL"}
    context = _finished(instance, exploding, tags, dg.DagsterEventType.RUN_FAILURE).for_run_failure()
    run_failure_alert_sensor(context, alerts=alerts)
    body = webhook.requests[0]["json"]
    assert (body["kind"], body["ticker"], body["date"]) == ("run_failure", "AAPL", "2013-02-20")
    assert "exploding: ValueError: [bars_ohlc] ticker='AAPL' date=2013-02-20: high below low" in body["message"]
    assert body["report_url"] == f"http://ui.local:3000/runs/{context.dagster_run.run_id}"
    assert instance.get_run_by_id(context.dagster_run.run_id).tags[ALERT_TAG].startswith("run_failure alert sent to")


def test_a_retraining_outcome_posts_the_decision_and_its_numbers(webhook, alerts, data_dir):
    lake = ParquetLake(data_dir / "lake")
    row = {"ticker": "AAPL", "date": pd.Timestamp("2013-02-20"), "model_type": "xgboost", "model_version": 4,
           "alias": "challenger", "promotion_reason": "challenger AUC 0.5610 <= champion v3 CI high 0.5900 "
           "(champion AUC 0.5500)", "oos_auc": 0.561, "oos_auc_ci_low": 0.52, "oos_auc_ci_high": 0.6,
           "mlflow_run_id": "abc123"}
    lake.write("trained_model", pd.DataFrame([row]), {"AAPL": pd.DatetimeIndex(["2013-02-20"])})
    instance = dg.DagsterInstance.ephemeral()
    context = _finished(instance, retraining, {RETRAIN_TAG: "2013-02-20|AAPL"}, dg.DagsterEventType.RUN_SUCCESS)
    retrain_outcome_sensor(context, alerts=alerts, lake=LakeResource(data_dir=str(data_dir)))
    body = webhook.requests[0]["json"]
    assert (body["kind"], body["ticker"], body["date"]) == ("retrain", "AAPL", "2013-02-20")
    assert body["message"].startswith("xgboost v4 kept as challenger: challenger AUC 0.5610 <= champion v3")
    assert body["numbers"] == {"oos_auc": 0.561, "oos_auc_ci_low": 0.52, "oos_auc_ci_high": 0.6}
    assert body["report_url"] == "http://mlflow.local:5000/#/runs/abc123"  # the new model's MLflow run
    assert body["message"].endswith(f"Run: http://ui.local:3000/runs/{context.dagster_run.run_id}")
    plain = _finished(instance, retraining, {}, dg.DagsterEventType.RUN_SUCCESS)
    assert isinstance(retrain_outcome_sensor(plain, alerts=alerts, lake=LakeResource(data_dir=str(data_dir))),
                      dg.SkipReason)
    assert len(webhook.requests) == 1


def test_a_run_names_a_ticker_only_when_it_covers_one():
    assert run_subject({"dagster/partition": "2013-02-20|AAPL"}) == ("AAPL", "2013-02-20")
    assert run_subject({RANGE_START_TAG: "2013-01-02|AAPL", RANGE_END_TAG: "2013-02-20|MSFT"}) == (None, "2013-02-20")
    assert run_subject({RANGE_START_TAG: "2013-01-02", RANGE_END_TAG: "2013-02-20"}) == (None, "2013-02-20")
    assert run_subject({}) == (None, None)
