"""Calendars: exchange sessions with their opens and closes in UTC, 24/5 (FX) and 24/7 (crypto)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from financial_assets.core.calendar import (
    calendar_timezone,
    close_ticks,
    last_closed_session,
    session_bounds,
    trading_days_to_month_end,
    trading_sessions,
    weekday_holidays,
)
from financial_assets.defs.partitions import date_partitions


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_exchange_bounds_are_utc_and_include_early_closes():
    bounds = session_bounds("XNYS", "2013-11-27", "2013-12-02")
    assert bounds.index.tolist() == list(pd.to_datetime(["2013-11-27", "2013-11-29", "2013-12-02"]))  # Thanksgiving
    assert bounds.loc["2013-11-27", "open"] == _utc("2013-11-27 14:30") and bounds.loc["2013-11-27", "close"] == _utc(
        "2013-11-27 21:00")
    assert bounds.loc["2013-11-29", "close"] == _utc("2013-11-29 18:00")  # early close, 13:00 New York
    summer = session_bounds("XNYS", "2013-07-01", "2013-07-01")
    assert summer["open"].tolist() == [_utc("2013-07-01 13:30")]  # daylight saving time
    assert str(bounds["open"].dtype) == "datetime64[ns, UTC]" and str(bounds.index.dtype) == "datetime64[ns]"


def test_a_futures_session_opens_the_evening_before_its_date():
    bounds = session_bounds("CMES", "2024-03-11", "2024-03-11")
    assert bounds["open"].tolist() == [_utc("2024-03-10 22:00")]  # Sunday 17:00 Chicago
    assert bounds["close"].tolist() == [_utc("2024-03-11 22:00")]


def test_24_7_sessions_are_utc_days():
    bounds = session_bounds("24/7", "2024-03-08", "2024-03-10")
    assert bounds.index.tolist() == list(pd.date_range("2024-03-08", "2024-03-10"))  # weekend included
    assert bounds["open"].tolist() == [_utc(d) for d in ("2024-03-08", "2024-03-09", "2024-03-10")]
    assert bounds["close"].tolist() == [_utc(d) for d in ("2024-03-09", "2024-03-10", "2024-03-11")]
    assert calendar_timezone("24/7") == "UTC"


def test_24_5_sessions_run_from_17_00_new_york_to_17_00_new_york_on_weekdays():
    bounds = session_bounds("24/5", "2024-03-07", "2024-03-12")
    assert bounds.index.tolist() == list(pd.to_datetime(["2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12"]))
    friday, monday = bounds.loc["2024-03-08"], bounds.loc["2024-03-11"]
    assert (friday["open"], friday["close"]) == (_utc("2024-03-07 22:00"), _utc("2024-03-08 22:00"))  # EST
    # Monday's session opens Sunday 17:00 New York, now daylight time, and crosses midnight UTC
    assert (monday["open"], monday["close"]) == (_utc("2024-03-10 21:00"), _utc("2024-03-11 21:00"))
    assert (bounds["open"].iloc[1:].to_numpy() >= bounds["close"].iloc[:-1].to_numpy()).all()  # no overlap
    assert calendar_timezone("24/5") == "America/New_York" and calendar_timezone("XTKS") == "Asia/Tokyo"


def test_24_5_has_weekdays_only_and_no_holidays():
    sessions = trading_sessions("24/5", "2013-12-23", "2014-01-03")
    assert len(sessions) == 10 and (sessions.dayofweek < 5).all()
    assert pd.Timestamp("2013-12-25") in sessions and pd.Timestamp("2014-01-01") in sessions
    assert weekday_holidays("24/5", "2013-01-01", "2013-12-31") == []
    assert weekday_holidays("24/7", "2013-01-01", "2013-12-31") == []
    assert trading_days_to_month_end(pd.DatetimeIndex(["2024-02-14"]), "24/5").tolist() == [11.0]


def test_24_5_partitions_are_weekdays():
    code = ("from financial_assets.defs.partitions import trading_date_partitions as p; k = p.get_partition_keys(); "
            "print('2013-01-19' in k, '2013-01-21' in k, '2013-02-18' in k)")
    out = subprocess.run([sys.executable, "-c", code], env={"FA_CALENDAR": "24/5", "FA_HISTORY_START": "2013-01-01",
                         "PATH": ""}, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]  # no Saturday; MLK and Presidents' Day trade


def test_a_calendar_that_starts_after_1990_still_loads():
    assert trading_sessions("XTKS", "2013-01-01", "2013-01-08").tolist() == list(pd.to_datetime(
        ["2013-01-04", "2013-01-07", "2013-01-08"]))  # Tokyo's year starts on the 4th; XTKS knows 1997 on
    assert session_bounds("XTKS", "2013-01-04", "2013-01-04")["close"].tolist() == [_utc("2013-01-04 06:00")]


def _local(text: str, zone: str) -> dt.datetime:
    return pd.Timestamp(text, tz=zone).to_pydatetime()


def test_partition_windows_start_at_the_usual_close_in_the_exchange_time_zone():
    assert close_ticks("XNYS").cron == "0 16 * * 1-5" and close_ticks("XNYS").timezone == "America/New_York"
    assert close_ticks("XLON").cron == "30 16 * * 1-5" and close_ticks("XLON").timezone == "Europe/London"
    assert close_ticks("24/5").cron == "0 17 * * 1-5" and not close_ticks("24/5").next_day
    assert close_ticks("24/7").cron == "0 0 * * *" and close_ticks("24/7").next_day  # a UTC day closes at midnight


# (calendar, local time, the newest date partition then); a live partition set, from 2024-01-02
CLOSED_BY = [
    ("XNYS", "2024-03-11 15:59", "2024-03-08"),  # Monday before the close: Friday's session
    ("XNYS", "2024-03-11 16:00", "2024-03-11"),  # closed (daylight time since Sunday)
    ("XNYS", "2024-03-08 23:00", "2024-03-08"),
    ("XNYS", "2024-03-09 12:00", "2024-03-08"),  # Saturday
    ("XNYS", "2024-07-04 12:00", "2024-07-03"),  # Independence Day
    ("XNYS", "2024-01-02 10:00", "2024-01-02"),  # before the first session closes: the first partition alone
    ("24/5", "2024-03-08 16:59", "2024-03-07"),
    ("24/5", "2024-03-08 17:00", "2024-03-08"),
    ("24/5", "2024-03-10 20:00", "2024-03-08"),  # Monday's session opened Sunday 17:00 and is not over
    ("24/7", "2024-03-09 23:59", "2024-03-08"),
    ("24/7", "2024-03-10 00:00", "2024-03-09"),
    ("XTKS", "2024-12-02 15:29", "2024-11-29"),
    ("XTKS", "2024-12-02 15:30", "2024-12-02"),  # Tokyo closes at 15:30 since November 2024
]


@pytest.mark.parametrize("code, local, newest", CLOSED_BY)
def test_a_session_becomes_a_date_partition_once_it_has_closed(code, local, newest):
    now = _local(local, calendar_timezone(code))
    assert date_partitions(code, "2024-01-02", None).get_partition_keys(current_time=now)[-1] == newest
    if newest != "2024-01-02":
        assert last_closed_session(code, pd.Timestamp(now)) == newest


def test_the_last_closed_session_follows_early_closes():
    assert last_closed_session("XNYS", pd.Timestamp("2013-11-29 13:30", tz="America/New_York")) == "2013-11-29"
    assert last_closed_session("XNYS", pd.Timestamp("2013-11-29 12:59", tz="America/New_York")) == "2013-11-27"


def test_a_fixed_end_keeps_its_last_session_whatever_the_weekday():
    for end, last in [("2013-03-01", "2013-03-01"), ("2013-12-25", "2013-12-24"), ("2013-02-27", "2013-02-27")]:
        assert date_partitions("XNYS", "2013-01-02", end).get_last_partition_key() == last
    assert date_partitions("24/7", "2013-01-01", "2013-01-31").get_last_partition_key() == "2013-01-31"
