"""The nightly loop as an operator runs it: webserver and daemon on one instance, a drifted and a stable ticker.

A folder source holds two tickers of daily bars with a planted mean-reverting edge (AR(1) returns, phi
-0.25, constant volatility, so a logistic model passes the promotion gate and serves) on the 24/7
calendar, up to the session that closed last night (24/7: a session closes every midnight UTC, so the
schedule has a session to launch whenever the test runs). DRFT's volatility triples from the session
after the history ends; STBL never changes. `financial-assets run` materializes two years of history,
which ends CATCH_UP sessions before last night: the daemon has been off since, as on a first deployment.
Then, as `make ui` and compose start them, the report server, `dagster-webserver` and `dagster-daemon`
on that DAGSTER_HOME. Through the webserver's GraphQL API the test turns on `nightly_schedule` (every
minute: FA_NIGHTLY_CRON) and watches what an operator would see:

- the schedule's first tick launches the first stage for last night (a catch-up range, its labels from
  the 20 sessions before the history's end), later ticks skip it, and nightly_stage_sensor runs the
  next stages; no label whose bars exist is null afterwards;
- each night's drift report shows its verdict on its partition (error for DRFT alone) with links to its
  HTML and JSON that the report server answers over HTTP (STBL's HTML, not flagged, rendered on that
  first request); drift_check fails at ERROR for DRFT alone, one drift alert names it with the same
  link, and drift_retrain_sensor requests one retraining run, listed under 3_models_backtest_drift_job;
  its own report of the same date alerts nothing; retrain_outcome_sensor alerts the promotion rule's
  outcome; no run fails;
- a run of STBL alone, launched through the webserver once the stages end, leaves drift_check failing
  at ERROR (DRFT's newest report still drifts); the event is alerted and retrained once, whichever
  evaluation the sensor reads first (the model stage's or STBL's run's), and after the retraining run's
  own evaluation the check still fails and nothing more is alerted or launched.

The cross-asset feature rel_strength_20 is left out (FA_FEATURES): with two tickers the universe median is
their mean, so DRFT's break moves STBL's relative strength too, and STBL would drift for a real reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from financial_assets.defs.operations.stage_jobs import MATURING_SESSIONS
from financial_assets.features import DEFAULT_FEATURES
from financial_assets.runs.stages import BARS_JOB, MODELS_JOB, STAGE_JOB_NAMES
from financial_assets.sources import SyntheticSource
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.conftest import write_bar_files
from financial_assets_tests.fixtures.deploy.services import (
    BIN,
    ROOT,
    Services,
    free_port,
    graphql,
    http_get,
    location_loaded,
)
from financial_assets_tests.matured_labels import unmatured_nulls

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

DRIFTED, STABLE = "DRFT", "STBL"
#: sessions (days: 24/7) of history, of warm-up bars before it (twice the longest feature lookback), and of the
#: catch-up the schedule's first tick runs; DRFT's break is the first session after the history
HISTORY, WARMUP, CATCH_UP = 730, 400, 25
#: longer than the test takes (about 6 to 8 minutes on 2 busy cores), so that it runs within one UTC day
DAY_GUARD = pd.Timedelta(minutes=15)
SETTINGS = {
    "FA_SOURCE": "folder", "FA_CALENDAR": "24/7", "FA_BENCHMARK_TICKER": STABLE,
    "FA_FEATURES": ",".join(f for f in DEFAULT_FEATURES if f != "rel_strength_20"),
    "FA_MODEL_TYPES": "logistic", "FA_TUNING_TRIALS": "0", "FA_NIGHTLY_CRON": "* * * * *",
}
LOCATION = "financial_assets"
REPOSITORY = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
STAGE_JOBS = list(STAGE_JOB_NAMES)
NIGHTLY_TAG, RETRAIN_TAG = "financial_assets/nightly", "financial_assets/retrain"

START_SCHEDULE = """mutation($selector: ScheduleSelector!) { startSchedule(scheduleSelector: $selector) {
  __typename ... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message } } }"""
SCHEDULE_TICKS = """query($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
  ... on Schedule { scheduleState { ticks(limit: 50) { status timestamp runIds runKeys skipReason } } } } }"""
SENSOR_TICKS = """query($selector: SensorSelector!, $after: Float) { sensorOrError(sensorSelector: $selector) {
  ... on Sensor { sensorState { status ticks(limit: 20, afterTimestamp: $after) { status timestamp } } } } }"""
RUNS = """query($filter: RunsFilter!) { runsOrError(filter: $filter) { ... on Runs { results {
  runId jobName status endTime tags { key value } } } } }"""
JOB_RUNS = """query($selector: PipelineSelector!) { pipelineOrError(params: $selector) {
  ... on Pipeline { runs { runId } } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on Error { message } } }"""
MATERIALIZATION = """query($partition: String!) { assetOrError(assetKey: {path: ["drift_report"]}) { ... on Asset {
  assetMaterializations(partitions: [$partition], limit: 1) { runId metadataEntries { label
  ... on UrlMetadataEntry { url } ... on TextMetadataEntry { text } } } } } }"""
EXECUTIONS = """{ assetCheckExecutions(assetKey: {path: ["drift_report"]}, checkName: "drift_check", limit: 20) {
  runId status evaluation { severity metadataEntries { label ... on JsonMetadataEntry { jsonString } } } } }"""
CHECK = """{ assetNodeOrError(assetKey: {path: ["drift_report"]}) { ... on AssetNode { assetChecksOrError {
  ... on AssetChecks { checks { name executionForLatestMaterialization { runId status evaluation { severity
  metadataEntries { label ... on JsonMetadataEntry { jsonString } } } } } } } } } }"""


def _day(stamp: pd.Timestamp, days: int = 0) -> str:
    return (stamp + pd.Timedelta(days=days)).date().isoformat()


def _last_closed_session() -> pd.Timestamp:
    """Yesterday (UTC): the 24/7 session that closed last, after waiting out the last DAY_GUARD of a day if need be (a
    day that turns during the test would make a new session, without bars, that the schedule launches)."""
    now = pd.Timestamp.now(tz="UTC")
    midnight = now.normalize() + pd.Timedelta(days=1)
    if midnight - now < DAY_GUARD:
        time.sleep((midnight - now).total_seconds() + 60)
    return pd.Timestamp.now(tz="UTC").normalize().tz_localize(None) - pd.Timedelta(days=1)


def _write_bars(folder: Path, first: str, brk: str, last: str) -> None:
    """DRFT (volatility x3 from `brk`) and STBL: mean-reverting walks with constant volatility, as <TICKER>.csv."""
    common = {"n_tickers": 2, "seed": 7, "calendar_code": "24/7", "start": first, "end": last, "mu": 0.0,
              "alpha": 0.0, "beta": 0.0, "ar1": -0.25}
    shifted = SyntheticSource(**common, regime_shift=brk, shift_drift=1.0, shift_vol=3.0)
    calm = SyntheticSource(**common)
    bars = {DRIFTED: shifted.load("SYN001"), STABLE: calm.load("SYN000")}
    write_bar_files(folder, {t: b.drop(columns=["ticker", "source_row"]) for t, b in bars.items()})


@pytest.fixture
def loop(tmp_path):
    """History through `financial-assets run`, then the report server, the webserver and the daemon on loopback."""
    night = _last_closed_session()
    end = night - pd.Timedelta(days=CATCH_UP)  # the history's last session
    start = end - pd.Timedelta(days=HISTORY - 1)
    _write_bars(tmp_path / "bars", _day(start, -WARMUP), _day(end, 1), _day(night))
    reports, web = free_port(), free_port()
    env = {**os.environ, **SETTINGS, "DAGSTER_HOME": str(tmp_path / "home"), "FA_DATA_DIR": str(tmp_path / "data"),
           "FA_SOURCE_DIR": str(tmp_path / "bars"), "FA_HISTORY_START": _day(start),
           "FA_ARTIFACTS_URL": f"http://127.0.0.1:{reports}", "FA_DAGSTER_URL": f"http://127.0.0.1:{web}"}
    done = subprocess.run([str(BIN / "financial-assets"), "run", "--end", _day(end)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    for ticker in (DRIFTED, STABLE):  # each serves a champion, whose last report of the history finds no drift
        assert f"\n  {ticker}: champion logistic " in done.stdout, done.stdout[-4000:]
        assert any(f"\n  {ticker} {_day(end)}: {level}: " in done.stdout for level in ("OK", "WARN")), done.stdout
    services = Services(tmp_path / "logs")
    try:
        services.start("report_server", [str(BIN / "python"), "-m", "financial_assets.defs.drift.report_server",
                                         "--port", str(reports)], env, cwd=tmp_path)
        services.start("webserver", [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
                                     "-h", "127.0.0.1", "-p", str(web)], env, cwd=tmp_path)
        services.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], env,
                       cwd=tmp_path)
        base = f"http://127.0.0.1:{web}"
        services.wait_for("the webserver with the code location loaded", lambda: location_loaded(base), timeout_s=240)
        services.wait_for("the report server", lambda: http_get(env["FA_ARTIFACTS_URL"]), timeout_s=60)
        yield {"base": base, "services": services, "night": _day(night), "end": _day(end),
               "data": tmp_path / "data", "reports": env["FA_ARTIFACTS_URL"]}
    finally:
        services.stop_all()


def _sensor_ticks(base: str, name: str, after: float | None = None) -> list[dict]:
    """The sensor's finished ticks (after `after`, a timestamp), newest first."""
    state = graphql(base, SENSOR_TICKS, {"selector": {**REPOSITORY, "sensorName": name}, "after": after})
    return [t for t in state["sensorOrError"]["sensorState"]["ticks"] if t["status"] != "STARTED"]


def _runs(base: str, tags: dict[str, str] | None = None, run_id: str | None = None) -> list[dict]:
    """The runs carrying every tag of `tags` (or run `run_id`), oldest first, each with its tags as a dict."""
    selected = {"runIds": [run_id]} if run_id else {"tags": [{"key": k, "value": v} for k, v in tags.items()]}
    found = graphql(base, RUNS, {"filter": selected})["runsOrError"]["results"]
    return [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in reversed(found)]


def _all_finished(runs: list[dict], count: int) -> list[dict] | None:
    """`runs` once at least `count` exist and all have finished, or as soon as one failed (nothing follows a failed
    stage)."""
    done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
    failed = any(r["status"] != "SUCCESS" for r in done)
    return runs if failed or (len(runs) >= count and len(done) == len(runs)) else None


def _alerts(data: Path) -> list[dict]:
    path = data / "alerts" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _of_kind(data: Path, kind: str) -> list[dict]:
    return [a for a in _alerts(data) if a["kind"] == kind]


def _launch_one(base: str, partition: str, assets: list[str]) -> str:
    """Launch `assets` of the model stage job for one DATE|TICKER partition, as the UI's Materialize dialog does."""
    day, ticker = partition.split("|")
    tags = {"dagster/partition": partition, "dagster/partition/date": day, "dagster/partition/ticker": ticker}
    params = {"selector": {**REPOSITORY, "jobName": MODELS_JOB, "assetSelection": [{"path": [a]} for a in assets]},
              "runConfigData": {}, "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
    launched = graphql(base, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _report_metadata(base: str, partition: str) -> dict[str, str]:
    """The text and URL entries of drift_report's newest materialization of `partition`, as its UI page lists them."""
    (event,) = graphql(base, MATERIALIZATION, {"partition": partition})["assetOrError"]["assetMaterializations"]
    return {e["label"]: e.get("url", e.get("text")) for e in event["metadataEntries"]}


def _check_evaluation(base: str, run_id: str) -> dict:
    """drift_check's evaluation in run `run_id`: its status, severity and JSON metadata."""
    (execution,) = [e for e in graphql(base, EXECUTIONS)["assetCheckExecutions"] if e["runId"] == run_id]
    metadata = {e["label"]: json.loads(e["jsonString"]) for e in execution["evaluation"]["metadataEntries"]
                if e.get("jsonString") is not None}
    return {"status": execution["status"], "severity": execution["evaluation"]["severity"], **metadata}


def _drift_check(base: str) -> dict:
    (check,) = graphql(base, CHECK)["assetNodeOrError"]["assetChecksOrError"]["checks"]
    return check["executionForLatestMaterialization"]


def test_a_night_of_the_daemon_alerts_and_retrains_the_drifted_ticker_once(loop):
    base, services, night, data = loop["base"], loop["services"], loop["night"], loop["data"]
    # the run-status sensors start from the newest run event at their first tick: let them tick before any run
    for sensor in ("nightly_stage_sensor", "retrain_outcome_sensor", "drift_retrain_sensor"):
        services.wait_for(f"a first tick of {sensor}", lambda sensor=sensor: _sensor_ticks(base, sensor),
                          timeout_s=180, interval_s=2)
    schedule = {**REPOSITORY, "scheduleName": "nightly_schedule"}
    started = graphql(base, START_SCHEDULE, {"selector": schedule})["startSchedule"]
    assert started == {"__typename": "ScheduleStateResult", "scheduleState": {"status": "RUNNING"}}, started

    # the schedule's tick and the stage runs of last night, each stage launched when the one before succeeded
    stages = services.wait_for("the three nightly stage runs", lambda: _all_finished(
        _runs(base, {NIGHTLY_TAG: night}), 3), timeout_s=600, interval_s=3)
    assert [(r["jobName"], r["status"]) for r in stages] == [(job, "SUCCESS") for job in STAGE_JOBS], services.failure()
    # then a run of the stable ticker alone, launched through the webserver, while drift_retrain_sensor waits for its
    # next tick (it reads the newest drift_check evaluation: the model stage's, or this run's)
    run_id = _launch_one(base, f"{night}|{STABLE}", ["predictions", "drift_report"])
    ticks = graphql(base, SCHEDULE_TICKS, {"selector": schedule})["scheduleOrError"]["scheduleState"]["ticks"]
    launched = [t for t in ticks if t["runIds"]]
    assert [(t["status"], t["runKeys"], t["runIds"]) for t in launched] == [
        ("SUCCESS", [f"nightly:{night}:{BARS_JOB}"], [stages[0]["runId"]])], ticks
    assert stages[0]["tags"]["dagster/schedule_name"] == "nightly_schedule"
    assert [r["tags"].get("dagster/sensor_name") for r in stages[1:]] == ["nightly_stage_sensor"] * 2
    # a catch-up: the first two stages rerun the labels that matured since the history, the model stage starts after
    maturing = _day(pd.Timestamp(loop["end"]), 1 - MATURING_SESSIONS)
    assert [r["tags"]["dagster/asset_partition_range_start"] for r in stages] == [
        f"{maturing}|{DRIFTED}", maturing, f"{_day(pd.Timestamp(loop['end']), 1)}|{DRIFTED}"]
    assert {r["tags"]["dagster/asset_partition_range_end"] for r in stages} == {f"{night}|{STABLE}", night}
    lake = ParquetLake(data / "lake")
    bars = lake.read("validated_bars")
    assert f"{bars['date'].max():%Y-%m-%d}" == night
    assert unmatured_nulls(lake.read("labels"), bars) == []
    assert unmatured_nulls(lake.read("training_table"), bars) == []

    # each report's verdict and links on its partition in the UI, served by the report server (STBL's HTML, not
    # rendered by the run as it is not flagged, on this first request), while drift_retrain_sensor waits for its tick
    links = {}
    for ticker in (DRIFTED, STABLE):
        metadata = _report_metadata(base, f"{night}|{ticker}")
        assert (metadata["level"] == "error") == (ticker == DRIFTED), metadata
        links[ticker] = metadata["report"]
        assert links[ticker] == f"{loop['reports']}/drift_report/{ticker}/{night}/report.html"
        status, body = http_get(links[ticker], timeout_s=120)
        assert status == 200 and b"Dataset Drift" in body, (status, body[:500])
        status, body = http_get(metadata["report_json"], timeout_s=30)
        assert status == 200 and json.loads(body), (status, body[:500])

    # after the run of the stable ticker alone, the check still fails at ERROR, on DRFT's newest report
    (stable,) = services.wait_for(f"run {run_id}", lambda: _all_finished(_runs(base, run_id=run_id), 1), timeout_s=300)
    assert stable["status"] == "SUCCESS", services.failure()
    evaluation = _check_evaluation(base, run_id)
    assert (evaluation["status"], evaluation["severity"]) == ("FAILED", "ERROR"), evaluation
    assert [(e["ticker"], e["date"], e["report"]) for e in evaluation["errors"]] == [(DRIFTED, night, links[DRIFTED])]
    assert "error" not in evaluation["this_run_levels"]  # STBL's own report is not at ERROR

    # one retraining run of the drifted ticker, requested by drift_retrain_sensor and listed under the stage job
    retrains = services.wait_for("the retraining run", lambda: _all_finished(
        _runs(base, {RETRAIN_TAG: f"{night}|{DRIFTED}"}), 1), timeout_s=300, interval_s=3)
    assert [(r["jobName"], r["status"]) for r in retrains] == [(MODELS_JOB, "SUCCESS")], services.failure()
    (retrain,) = retrains
    assert retrain["tags"]["dagster/sensor_name"] == "drift_retrain_sensor"
    listed = graphql(base, JOB_RUNS, {"selector": {**REPOSITORY, "pipelineName": MODELS_JOB}})["pipelineOrError"]
    assert retrain["runId"] in {r["runId"] for r in listed["runs"]}
    # one drift alert, for the drifted ticker, linking the report the UI links
    (alert,) = _of_kind(data, "drift")
    assert (alert["ticker"], alert["date"], alert["severity"]) == (DRIFTED, night, "critical")
    assert f"Retraining requested at {night}|{DRIFTED} ({MODELS_JOB})" in alert["message"]
    assert alert["report_url"] == links[DRIFTED]
    # the promotion rule's outcome of the retraining, alerted by retrain_outcome_sensor
    (outcome,) = services.wait_for("the outcome alert", lambda: _of_kind(data, "retrain"), timeout_s=180)
    (model,) = lake.read("trained_model", [DRIFTED], start=night, end=night).itertuples()
    assert (outcome["ticker"], outcome["date"]) == (DRIFTED, night)
    assert model.promotion_reason in outcome["message"] and retrain["runId"] in outcome["message"]

    # the retraining run recomputed DRFT's report of the night, under the same champion: the sensor reads that
    # evaluation as the same drift event, so no new alert and no new run; the check's status in the UI still fails
    services.wait_for("drift_retrain_sensor's tick after the retraining run", lambda: _sensor_ticks(
        base, "drift_retrain_sensor", after=max(retrain["endTime"], stable["endTime"])), timeout_s=180, interval_s=3)
    assert len(_of_kind(data, "drift")) == 1 and len(_of_kind(data, "retrain")) == 1
    assert len(_runs(base, {RETRAIN_TAG: f"{night}|{DRIFTED}"})) == 1
    assert [r["runId"] for r in _runs(base, {"dagster/sensor_name": "drift_retrain_sensor"})] == [retrain["runId"]]
    check = _drift_check(base)
    assert (check["status"], check["evaluation"]["severity"]) == ("FAILED", "ERROR"), check
    # no run failed, and nothing else was alerted but the stale bars of the days the daemon was off
    assert {(r["jobName"], r["status"]) for r in _runs(base, {})} == {(job, "SUCCESS") for job in STAGE_JOBS}
    assert {a["kind"] for a in _alerts(data)} <= {"drift", "retrain", "freshness"}, _alerts(data)
    assert {a["ticker"] for a in _of_kind(data, "freshness")} <= {DRIFTED, STABLE}
    # the schedule kept ticking every minute and launched nothing more: the first stage holds the night
    ticks = graphql(base, SCHEDULE_TICKS, {"selector": schedule})["scheduleOrError"]["scheduleState"]["ticks"]
    assert [t["runIds"] for t in ticks if t["runIds"]] == [[stages[0]["runId"]]]
    newest = next(t for t in ticks if t["status"] != "STARTED")  # ticks come newest first
    assert newest["skipReason"] == f"{BARS_JOB} already holds {night}", newest
