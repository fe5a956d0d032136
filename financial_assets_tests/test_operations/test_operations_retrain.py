"""drift_retrain_sensor against an instance holding drift_check evaluations: one alert per drift event, retraining
runs of the stage job, cooldown, cursor restarts and resets."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from financial_assets.definitions import defs
from financial_assets.defs.drift.checks import CHECK_KEY
from financial_assets.defs.operations.resources import AlertsResource, RetrainResource
from financial_assets.defs.operations.retrain import RETRAIN_TAG, RUN_KEY_TAG, SENSOR, SENSOR_NAME_TAG
from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from financial_assets.runs.stages import MODELS_JOB

#: the `instance` fixture (conftest.py) this module's tests get
pytestmark = pytest.mark.instance(tickers=["AAPL", "MSFT"])

REPOSITORY = defs.get_repository_def()
SENSOR_DEF = REPOSITORY.get_sensor_def(SENSOR)


def fail(instance: dg.DagsterInstance, *partitions: tuple[str, str], model: str = "v1") -> None:
    """Record a drift_check evaluation whose current state has `partitions` (date, ticker) at ERROR (none: passed)."""
    errors = [{"ticker": t, "date": d, "model": f"fa_{t}_dir_5 {model}", "reasons": ["dataset_drift"],
               "drifted_features": ["rsi_14", "rv_20"],
               "report": f"http://reports.local/drift_report/{t}/{d}/report.html",
               "champion_run": f"http://mlflow.local/#/runs/{t.lower()}", "numbers": {"drifted_share": 0.4}}
              for d, t in partitions]
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=CHECK_KEY.asset_key, check_name=CHECK_KEY.name, passed=not errors,
        severity=dg.AssetCheckSeverity.ERROR, metadata={"errors": dg.MetadataValue.json(errors)}))


def tick(instance: dg.DagsterInstance, cursor: str | None, alerts: AlertsResource):
    """One tick, with its observations stored as the daemon stores them."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=REPOSITORY,
                                      resources={"alerts": alerts, "retrain": RetrainResource(cooldown_sessions=5)})
    result = SENSOR_DEF.evaluate_tick(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


@pytest.fixture
def alerts(data_dir: Path) -> AlertsResource:
    return AlertsResource(sinks="", data_dir=str(data_dir), ui_url="http://localhost:3000")


def logged(data_dir: Path) -> list[dict]:
    path = data_dir / "alerts" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_drift_event_alerts_once_and_requests_one_run_of_the_stage_job(instance, alerts, data_dir):
    fail(instance, ("2013-02-20", "AAPL"))
    first = tick(instance, None, alerts)
    (request,) = first.run_requests
    assert request.run_key == "retrain:2013-02-20|AAPL" and request.job_name == MODELS_JOB
    partition = "2013-02-20|AAPL"
    assert request.tags[RANGE_START_TAG] == request.tags[RANGE_END_TAG] == request.tags[RETRAIN_TAG] == partition
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"cv_folds", "trained_model", "predictions", "drift_report"} <= selected
    assert not selected & {"training_table", "validated_bars", "features"}
    (alert,) = logged(data_dir)
    assert (alert["kind"], alert["ticker"], alert["date"]) == ("drift", "AAPL", "2013-02-20")
    assert alert["drifted_features"] == ["rsi_14", "rv_20"]
    assert alert["report_url"] == "http://reports.local/drift_report/AAPL/2013-02-20/report.html"
    assert f"Retraining requested at 2013-02-20|AAPL ({MODELS_JOB})" in alert["message"]
    assert "http://mlflow.local/#/runs/aapl" in alert["message"]
    (observation,) = first.asset_events
    assert observation.partition == "2013-02-20|AAPL" and "retraining" in observation.metadata

    assert tick(instance, first.cursor, alerts).skip_message == "no new drift_check evaluation"
    fail(instance, ("2013-02-20", "AAPL"))  # the retraining run recomputed the same report: the same event
    again = tick(instance, first.cursor, alerts)
    assert again.run_requests == [] and len(logged(data_dir)) == 1
    assert again.skip_message.startswith("0 alert(s) sent, no retraining run requested: no new drift event")


def test_an_event_that_lasts_asks_again_only_after_the_cooldown(instance, alerts, data_dir):
    fail(instance, ("2013-02-20", "AAPL"))
    cursor = tick(instance, None, alerts).cursor
    fail(instance, ("2013-02-22", "AAPL"))  # two sessions later, same champion: nothing new to say
    later = tick(instance, cursor, alerts)
    assert later.run_requests == [] and len(logged(data_dir)) == 1
    fail(instance, ("2013-02-28", "AAPL"))  # six sessions after its request: retrain again, and say why
    (request,) = (last := tick(instance, later.cursor, alerts)).run_requests
    assert request.run_key == "retrain:2013-02-28|AAPL"
    assert logged(data_dir)[-1]["message"].startswith("drift persists since 2013-02-20 under fa_AAPL_dir_5 v1")
    assert json.loads(last.cursor)["events"]["AAPL"] == {"model": "fa_AAPL_dir_5 v1", "opened": "2013-02-20",
                                                         "seen": "2013-02-28", "requested": "2013-02-28"}


def test_a_new_event_inside_the_cooldown_alerts_without_a_request_and_the_tick_says_so(instance, alerts, data_dir):
    fail(instance, ("2013-02-20", "AAPL"))
    cursor = tick(instance, None, alerts).cursor
    fail(instance)  # AAPL's newest report passes: the event closes
    closed = tick(instance, cursor, alerts)
    assert json.loads(closed.cursor)["events"] == {} and "drift cleared for AAPL" in closed.skip_message
    fail(instance, ("2013-02-22", "AAPL"), ("2013-02-22", "MSFT"))
    result = tick(instance, closed.cursor, alerts)
    assert [r.run_key for r in result.run_requests] == ["retrain:2013-02-22|MSFT"]
    aapl = [a for a in logged(data_dir) if a["ticker"] == "AAPL"][-1]
    assert aapl["date"] == "2013-02-22" and "within the cooldown of 5 sessions" in aapl["message"]
    fail(instance, ("2013-02-25", "MSFT"), model="v2")  # MSFT's newest report, under a new champion, drifts too
    only_alert = tick(instance, result.cursor, alerts)
    assert only_alert.run_requests == [] and only_alert.skip_message.startswith(
        "1 alert(s) sent, no retraining run requested: [CRITICAL] drift MSFT 2013-02-25 (No retraining: MSFT was "
        "retrained at 2013-02-22")


def test_the_state_survives_a_restart_in_the_cursor(instance, alerts):
    fail(instance, ("2013-02-20", "AAPL"))
    stored = tick(instance, None, alerts).cursor  # what the daemon persists; a restarted sensor holds nothing else
    assert json.loads(stored)["requested"] == {"AAPL": "2013-02-20"}
    fail(instance, ("2013-02-21", "AAPL"))
    assert tick(instance, stored, alerts).run_requests == []


def test_after_a_cursor_reset_nothing_is_alerted_twice_nor_called_requested(instance, alerts, data_dir):
    fail(instance, ("2013-02-20", "AAPL"))
    (request,) = tick(instance, None, alerts).run_requests

    @dg.asset
    def launched() -> None:
        """Stands in for the run the daemon launched for the request."""

    dg.materialize([launched], instance=instance, tags={RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: SENSOR})
    reset = tick(instance, None, alerts)  # the operator reset the cursor: the newest evaluation is read again
    assert reset.run_requests == [] and len(logged(data_dir)) == 1  # already alerted on that partition
    assert json.loads(reset.cursor)["events"]["AAPL"]["requested"] is None


def test_a_passing_or_warning_check_requests_and_sends_nothing(instance, alerts, data_dir):
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=CHECK_KEY.asset_key, check_name=CHECK_KEY.name, passed=False, severity=dg.AssetCheckSeverity.WARN,
        metadata={"errors": dg.MetadataValue.json([])}))
    result = tick(instance, None, alerts)
    assert result.run_requests == [] and logged(data_dir) == []
