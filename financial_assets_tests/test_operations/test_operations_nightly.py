"""The nightly schedule and stage sensor: trading days only, catch-up ranges, labels rerun while they mature, and the
chain from stage to stage through real runs of the first two stage jobs on the embedded bars."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pytest

from financial_assets.app.runner import run_range
from financial_assets.core.calendar import trading_sessions
from financial_assets.definitions import defs
from financial_assets.defs.operations.nightly import closed_session
from financial_assets.defs.operations.stage_jobs import MATURING_SESSIONS
from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, session_keys
from financial_assets.runs.internals import launch_in_process
from financial_assets.runs.stages import NIGHTLY_TAG, plan_stages
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.conftest import write_bar_files
from financial_assets_tests.matured_labels import unmatured_nulls
from financial_assets_tests.synthetic_bars import random_bars

#: the `instance` fixture (conftest.py) this module's tests get
pytestmark = pytest.mark.instance(on_disk=True, tickers=["AAPL", "IBM"])

NEW_YORK = ZoneInfo("America/New_York")
REPOSITORY = defs.get_repository_def()
SCHEDULE = REPOSITORY.get_schedule_def("nightly_schedule")
SENSOR = REPOSITORY.get_sensor_def("nightly_stage_sensor")
STAGES = [s.job_name for s in plan_stages(defs)]


def materialize_record(instance: dg.DagsterInstance, asset: str, partition: str) -> None:
    """Record that `asset` holds `partition`, as an earlier night would have left it."""
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=partition))


def tick(instance: dg.DagsterInstance, day: dt.datetime) -> dg.ScheduleExecutionData:
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=day, repository_def=REPOSITORY)
    return SCHEDULE.evaluate_tick(context)


def at_six(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 18, 0, tzinfo=NEW_YORK)


def test_a_trading_day_launches_the_first_stage_for_every_ticker_with_its_maturing_labels(instance):
    materialize_record(instance, "validated_bars", "2013-02-26|AAPL")
    (request,) = tick(instance, at_six(2013, 2, 27)).run_requests
    first = session_keys(end="2013-02-26")[-MATURING_SESSIONS]  # the labels of 20 sessions up to the newest one
    assert request.job_name == STAGES[0] and request.run_key == f"nightly:2013-02-27:{STAGES[0]}"
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (f"{first}|AAPL", "2013-02-27|IBM")
    assert request.tags[NIGHTLY_TAG] == "2013-02-27"


@pytest.mark.parametrize("day", [at_six(2013, 2, 23), at_six(2013, 2, 18),
                                 dt.datetime(2013, 2, 27, 15, 0, tzinfo=NEW_YORK)])
def test_a_saturday_a_holiday_and_a_session_still_open_are_skipped(instance, day):
    result = tick(instance, day)
    assert result.run_requests == [] and "not a trading day" in result.skip_message


def test_missed_nights_are_one_range_and_a_night_already_held_is_skipped(instance):
    materialize_record(instance, "labels", "2012-12-31|IBM")  # the stage's newest date, 38 sessions before
    (request,) = tick(instance, at_six(2013, 2, 27)).run_requests
    # the missed sessions, and the 20 sessions up to 2012-12-31 whose labels matured since
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2012-12-03|AAPL", "2013-02-27|IBM")
    materialize_record(instance, "features", "2013-02-27|AAPL")
    assert "already holds 2013-02-27" in tick(instance, at_six(2013, 2, 27)).skip_message


def test_the_session_that_closed_is_found_in_each_calendar_time_zone():
    assert closed_session("XNYS", at_six(2013, 2, 27)) == "2013-02-27"
    assert closed_session("XNYS", dt.datetime(2013, 11, 29, 13, 30, tzinfo=NEW_YORK)) == "2013-11-29"  # early close
    assert closed_session("24/7", dt.datetime(2013, 2, 24, 1, 0, tzinfo=dt.UTC)) == "2013-02-23"
    assert closed_session("24/5", dt.datetime(2013, 2, 23, 18, 0, tzinfo=NEW_YORK)) is None  # Saturday
    assert closed_session("XTKS", dt.datetime(2013, 2, 27, 16, 0, tzinfo=ZoneInfo("Asia/Tokyo"))) == "2013-02-27"


def on_success(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    """The stage sensor's answer to `run`'s success (the daemon matches runs to the code location it serves)."""
    (record,) = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    context = dg.build_run_status_sensor_context("nightly_stage_sensor", record.event_log_entry.dagster_event, instance,
                                                 run, repository_def=REPOSITORY)
    return SENSOR(context)


def test_each_stage_success_launches_the_next_stage_for_the_same_night(instance):
    materialize_record(instance, "validated_bars", "2013-02-26|AAPL")
    materialize_record(instance, "training_table", "2013-02-26")
    materialize_record(instance, "predictions", "2013-02-26|IBM")
    (request,) = tick(instance, at_six(2013, 2, 27)).run_requests
    runs = []
    for stage in STAGES[:2]:
        assert request.job_name == stage
        runs.append(launch_in_process(instance, stage, request.tags))
        assert runs[-1].status == dg.DagsterRunStatus.SUCCESS
        request = on_success(instance, runs[-1])
        assert request.run_key == f"nightly:2013-02-27:{request.job_name}"
    first = session_keys(end="2013-02-26")[-MATURING_SESSIONS]
    assert runs[1].tags[RANGE_START_TAG] == first  # the SQL stage holds labels: it reruns them while they mature
    assert request.job_name == STAGES[2]  # the model stage runs from its own newest date: just the night
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2013-02-27|AAPL", "2013-02-27|IBM")
    materialize_record(instance, "predictions", "2013-02-27|AAPL")  # the model stage ran: a repeated success is a no-op
    assert on_success(instance, runs[1]).skip_message == f"{STAGES[2]} already holds 2013-02-27"


#: synthetic bars of two tickers on every session of this span; partitions from HISTORY_START on
BAR_SESSIONS = [d.date().isoformat() for d in trading_sessions("XNYS", "2012-05-01", "2013-03-01")]
HISTORY_START = "2012-09-04"


def _synthetic_folder(folder: Path) -> Path:
    frames = {}
    for seed, ticker in enumerate(["AAPL", "IBM"]):
        bars = random_bars(len(BAR_SESSIONS), seed)
        frames[ticker] = bars.assign(date=BAR_SESSIONS)
    return write_bar_files(folder, frames)


def _night(instance: dg.DagsterInstance, day: str) -> list[dg.DagsterRun]:
    """The nightly schedule's tick after `day`'s close, then the stage sensor's next request, through the SQL stage."""
    (request,) = tick(instance, dt.datetime.combine(dt.date.fromisoformat(day), dt.time(18), NEW_YORK)).run_requests
    runs = []
    for _ in STAGES[:2]:
        runs.append(launch_in_process(instance, request.job_name, request.tags))
        assert runs[-1].status == dg.DagsterRunStatus.SUCCESS
        request = on_success(instance, runs[-1])
    return runs


@pytest.mark.code_location(FA_SOURCE="folder", FA_HISTORY_START=HISTORY_START)
def test_every_night_and_every_catch_up_rewrites_each_label_that_matured(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("FA_SOURCE_DIR", str(_synthetic_folder(tmp_path / "bars")))
    monkeypatch.setenv("FA_BENCHMARK_TICKER", "AAPL")
    lake = ParquetLake(data_dir / "lake")
    with dg.instance_for_test() as instance:
        summary = run_range(defs, instance, ["AAPL", "IBM"], HISTORY_START, "2012-11-30", jobs=set(STAGES[:2]))
        assert summary.success
        # one ordinary night, two nights in a row, then a catch-up of 27 sessions after missed nights
        for day, sessions in [("2012-12-03", 1), ("2012-12-04", 1), ("2012-12-05", 1), ("2013-01-15", 27)]:
            assert len(session_keys("2012-12-01", day)) - len(session_keys("2012-12-01", _last_night(lake))) == sessions
            runs = _night(instance, day)
            first = runs[0].tags[RANGE_START_TAG].split("|")[0]
            bars = lake.read("validated_bars")
            assert bars["date"].max() == pd.Timestamp(day)
            assert unmatured_nulls(lake.read("labels"), bars) == [], day
            assert unmatured_nulls(lake.read("training_table"), bars) == [], day
            # the window is what matured: the longest horizon's sessions up to the night before, no more
            assert first == session_keys(end=day)[-sessions - MATURING_SESSIONS], day
            assert runs[1].tags[RANGE_START_TAG] == first


def _last_night(lake: ParquetLake) -> str:
    return lake.read("validated_bars")["date"].max().date().isoformat()
