"""Freshness of validated_bars: the cron policy per calendar, the session due at a time, one alert per stale ticker."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd

from financial_assets.app.runner import register_tickers
from financial_assets.defs.operations.freshness import (
    VALIDATED_BARS_FRESHNESS,
    deadline_cron,
    due_session,
    stale_tickers_sensor,
)
from financial_assets.defs.operations.resources import AlertsResource
from financial_assets.defs.resources import RESOURCES

SIX_HOURS = pd.Timedelta(hours=6)


def test_the_policy_is_due_six_hours_after_the_usual_close_in_the_exchange_time_zone():
    assert deadline_cron("XNYS", SIX_HOURS, "2013-03-01") == "0 22 * * 1,2,3,4,5"
    assert deadline_cron("24/5", SIX_HOURS, "2013-03-01") == "0 23 * * 1,2,3,4,5"
    assert deadline_cron("24/7", SIX_HOURS, "2013-03-01") == "0 6 * * *"
    assert deadline_cron("24/5", pd.Timedelta(hours=8), "2013-03-01") == "0 1 * * 2,3,4,5,6"  # past midnight
    assert VALIDATED_BARS_FRESHNESS.deadline_cron == "0 22 * * 1,2,3,4,5"
    assert VALIDATED_BARS_FRESHNESS.timezone == "America/New_York"


def test_the_due_session_follows_the_calendar_holidays_included():
    def due(text: str) -> str | None:
        return due_session("XNYS", pd.Timestamp(text, tz="America/New_York"), SIX_HOURS)

    assert due("2013-02-27 21:59") == "2013-02-26"
    assert due("2013-02-27 22:00") == "2013-02-27"
    assert due("2013-02-18 23:00") == "2013-02-15"  # Presidents' Day has no session
    assert due("2020-01-02 23:00") == "2013-03-01"  # never past the partition set


def test_each_stale_ticker_is_alerted_once_per_due_session(data_dir: Path):
    with dg.instance_for_test() as instance:
        register_tickers(instance, ["AAPL", "IBM", "MSFT"])
        for partition in ("2013-03-01|AAPL", "2013-02-27|IBM"):
            instance.report_runless_asset_event(dg.AssetMaterialization("validated_bars", partition=partition))
        resources = {"market": RESOURCES["market"],
                     "alerts": AlertsResource(sinks="", data_dir=str(data_dir), ui_url="http://localhost:3000")}
        first = stale_tickers_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources))
        assert json.loads(first.cursor) == {"IBM": "2013-03-01", "MSFT": "2013-03-01"}
        assert [e.partition for e in first.asset_events] == ["2013-03-01|IBM", "2013-03-01|MSFT"]
        again = stale_tickers_sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                                           resources=resources))
        assert again.asset_events == []
    logged = [json.loads(line) for line in (data_dir / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert [(a["kind"], a["ticker"], a["date"]) for a in logged] == [("freshness", "IBM", "2013-03-01"),
                                                                      ("freshness", "MSFT", "2013-03-01")]
    assert "newest session is 2013-02-27" in logged[0]["message"] and "newest session is none" in logged[1]["message"]
