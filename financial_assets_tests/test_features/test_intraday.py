"""Intraday files: daily bars by the calendar's sessions, raw rows kept, bars in no session quarantined."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.sources import (
    INTRADAY_COLUMNS,
    OUTSIDE_SESSION_COLUMNS,
    FolderSource,
    make_source,
    standardize,
    standardize_bars,
)
from financial_assets_tests.conftest import write_bar_files

HEADER = "timestamp,open,high,low,close,volume\n"
# XNYS around Thanksgiving 2013 (New York time): a full day, the holiday, the early close at 13:00
HOURLY = [
    "2013-11-27 08:30,50,99,1,50,7",  # 0: pre-market, outside
    "2013-11-27 09:30,10,11,9.5,10.5,100",
    "2013-11-27 10:30,10.5,12,10,11,200",
    "2013-11-27 11:30,11,11.5,9,9.5,300",
    "2013-11-27 12:30,9.5,10,9.25,9.75,400",
    "2013-11-27 13:30,9.75,10.5,9.5,10.25,500",
    "2013-11-27 14:30,10.25,10.75,10,10.5,600",
    "2013-11-27 15:30,10.5,10.6,10.1,10.2,700",
    "2013-11-27 16:00,10.2,30,2,10.2,8",  # 8: at the close, outside
    "2013-11-28 10:30,10,10,10,10,9",  # 9: Thanksgiving, outside
    "2013-11-29 09:30,20,21,19,20.5,1000",
    "2013-11-29 10:30,20.5,22,20,21,2000",
    "2013-11-29 11:30,21,21.5,18,19,3000",
    "2013-11-29 12:30,19,19.5,18.5,19.25,4000",
    "2013-11-29 13:00,19.25,40,1,19.25,11",  # 14: after the early close, outside
]
# by hand: open = first, high = max, low = min, close = last, volume = sum of the bars in the session
HOURLY_DAILY = pd.DataFrame({
    "ticker": "ACME", "date": pd.to_datetime(["2013-11-27", "2013-11-29"]),
    "open": [10.0, 20.0], "high": [12.0, 22.0], "low": [9.0, 18.0], "close": [10.2, 19.25],
    "volume": [100.0 + 200 + 300 + 400 + 500 + 600 + 700, 1000.0 + 2000 + 3000 + 4000], "adj_close": np.nan,
    "source_row": [1, 10],
})[list(RAW_COLUMNS)]


def _folder(tmp_path, lines: list[str], **options) -> FolderSource:
    write_bar_files(tmp_path, {"ACME": HEADER + "\n".join(lines) + "\n"})
    return FolderSource(tmp_path, **options)


def _hand_daily(rows: list[tuple[str, str, list[float]]]) -> pd.DataFrame:
    """(session, stamp, [open, high, low, close, volume]) in time order -> daily bars, in plain Python."""
    out = []
    for session in sorted({s for s, _, _ in rows}):
        bars = [v for s, _, v in rows if s == session]
        out.append({"date": pd.Timestamp(session), "open": bars[0][0], "high": max(b[1] for b in bars),
                    "low": min(b[2] for b in bars), "close": bars[-1][3], "volume": sum(b[4] for b in bars)})
    return pd.DataFrame(out)


def _assert_daily(daily: pd.DataFrame, hand: pd.DataFrame) -> None:
    assert list(daily.columns) == list(RAW_COLUMNS) and set(daily["ticker"]) == {"ACME"}
    pd.testing.assert_frame_equal(daily[list(hand.columns)], hand, check_dtype=False)


def test_hourly_bars_become_daily_bars_by_session_with_the_early_close(tmp_path):
    out = _folder(tmp_path, HOURLY).load_standardized("ACME")
    pd.testing.assert_frame_equal(out.daily, HOURLY_DAILY)
    assert _folder(tmp_path, HOURLY).load("ACME").equals(out.daily)  # `load` is the daily frame


def test_bars_outside_every_session_are_quarantine_records(tmp_path):
    records = _folder(tmp_path, HOURLY).load_standardized("ACME").outside_session
    assert list(records.columns) == list(OUTSIDE_SESSION_COLUMNS)
    assert records["source_row"].tolist() == [0, 8, 9, 14]
    assert set(records["rule"]) == {"outside_session"} and set(records["ticker"]) == {"ACME"}
    assert records["timestamp"].tolist() == [pd.Timestamp(t, tz="UTC") for t in
                                             ("2013-11-27 13:30", "2013-11-27 21:00", "2013-11-28 15:30",
                                              "2013-11-29 18:00")]
    assert records["date"].tolist() == list(pd.to_datetime(["2013-11-27", "2013-11-27", "2013-11-28", "2013-11-29"]))
    assert records["value"].iloc[3] == "2013-11-29 13:00:00-05:00"
    assert "after the 2013-11-29 session closed at 2013-11-29 13:00:00-05:00" in records["detail"].iloc[3]
    assert "before the 2013-11-29 session opens at 2013-11-29 09:30:00-05:00" in records["detail"].iloc[2]
    assert "XNYS" in records["detail"].iloc[0]


def test_the_raw_intraday_rows_are_kept_unchanged(tmp_path):
    out = _folder(tmp_path, HOURLY).load_standardized("ACME")
    rows = out.intraday
    assert list(rows.columns) == list(INTRADAY_COLUMNS) and len(rows) == len(HOURLY)
    assert rows["source_row"].tolist() == list(range(len(HOURLY))) and rows["timestamp"].is_monotonic_increasing
    given = pd.read_csv(tmp_path / "ACME.csv")
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(rows[column].to_numpy(), given[column].to_numpy(dtype="float64"))
    assert rows["session"].isna().tolist() == [r in (0, 8, 9, 14) for r in range(len(HOURLY))]
    assert str(rows["timestamp"].dtype) == "datetime64[ns, UTC]" and str(rows["session"].dtype) == "datetime64[ns]"


def test_one_minute_bars_match_a_hand_computation(tmp_path):
    rng = np.random.default_rng(3)
    days = ("2013-11-29", "2013-12-02")
    stamps = [t for day in days for t in pd.date_range(f"{day} 09:00", f"{day} 16:29", freq="min")]
    closes = {"2013-11-29": "13:00", "2013-12-02": "16:00"}  # the day after Thanksgiving closes early
    lines, rows, outside = [], [], []
    for i, stamp in enumerate(stamps):
        o, h, lo, c = (round(100 + x, 2) for x in rng.normal(0, 1, 4))
        v = int(rng.integers(0, 1000))
        text = stamp.strftime("%Y-%m-%d %H:%M")
        lines.append(f"{text},{o},{h},{lo},{c},{v}")
        day, hhmm = text.split()
        if "09:30" <= hhmm < closes[day]:
            rows.append((day, text, [o, h, lo, c, v]))
        else:
            outside.append(i)
    out = _folder(tmp_path, lines).load_standardized("ACME")
    _assert_daily(out.daily, _hand_daily(rows))
    assert out.daily["source_row"].tolist() == [30, len(stamps) // 2 + 30]  # the 09:30 bars
    assert out.outside_session["source_row"].tolist() == outside and len(outside) == 30 + 210 + 30 + 30
    assert len(out.intraday) == len(stamps)


def test_a_24_7_day_is_the_utc_day_even_when_the_file_is_in_local_time(tmp_path):
    stamps = pd.date_range("2024-03-09 06:00", "2024-03-10 12:00", freq="h", tz="Asia/Tokyo")
    lines, rows = [], []
    for i, stamp in enumerate(stamps):
        values = [10.0 + i, 11.0 + i + i % 3, 9.0 + i - i % 2, 10.5 + i, 100.0 + i]
        lines.append(stamp.isoformat() + "," + ",".join(map(str, values)))
        rows.append((stamp.tz_convert("UTC").strftime("%Y-%m-%d"), "", values))
    out = _folder(tmp_path, lines, calendar_code="24/7").load_standardized("ACME")
    # Tokyo's 2024-03-09 06:00..08:00 is 2024-03-08 21:00..23:00 UTC; its 2024-03-10 09:00 is midnight UTC
    assert [sum(1 for s, _, _ in rows if s == d) for d in ("2024-03-08", "2024-03-09", "2024-03-10")] == [3, 24, 4]
    _assert_daily(out.daily, _hand_daily(rows))
    assert out.outside_session.empty and len(out.intraday) == len(stamps)


FX = [  # UTC stamp, 24/5 session (17:00 New York to 17:00 New York) or None
    ("2024-03-07T23:00:00Z", "2024-03-08"),  # Thursday evening: Friday's session, across midnight UTC
    ("2024-03-08T03:00:00Z", "2024-03-08"),
    ("2024-03-08T21:00:00Z", "2024-03-08"),  # Friday 16:00 EST
    ("2024-03-08T22:00:00Z", None),  # Friday 17:00 EST: the week is over
    ("2024-03-09T12:00:00Z", None),  # Saturday
    ("2024-03-10T20:00:00Z", None),  # Sunday 16:00 EDT (clocks moved forward that morning)
    ("2024-03-10T21:00:00Z", "2024-03-11"),  # Sunday 17:00 EDT: Monday's session opens
    ("2024-03-10T23:00:00Z", "2024-03-11"),
    ("2024-03-11T00:00:00Z", "2024-03-11"),  # midnight UTC inside Monday's session
    ("2024-03-11T20:00:00Z", "2024-03-11"),
    ("2024-03-11T21:00:00Z", "2024-03-12"),  # Monday 17:00 EDT: Tuesday's session
]


@pytest.mark.parametrize("zone", ["utc", "naive_new_york"])
def test_24_5_sessions_cross_midnight_utc_and_skip_the_weekend(tmp_path, zone):
    lines, rows = [], []
    for i, (stamp, session) in enumerate(FX):
        values = [1.1 + i / 100, 1.12 + i / 100, 1.09 + i / 100, 1.105 + i / 100, 1000.0 * (i + 1)]
        text = stamp if zone == "utc" else pd.Timestamp(stamp).tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M")
        lines.append(text + "," + ",".join(map(str, values)))
        if session:
            rows.append((session, stamp, values))
    out = _folder(tmp_path, lines, calendar_code="24/5").load_standardized("ACME")
    _assert_daily(out.daily, _hand_daily(rows))
    assert out.outside_session["source_row"].tolist() == [3, 4, 5]
    assert out.outside_session["timestamp"].tolist() == [pd.Timestamp(FX[i][0]) for i in (3, 4, 5)]
    assert "before the 2024-03-11 session opens at 2024-03-10 17:00:00-04:00" in out.outside_session["detail"].iloc[2]


@pytest.mark.parametrize("form", ["naive", "offset", "utc", "epoch_ms", "aware_parquet"])
def test_naive_stamps_are_exchange_time_and_instants_are_converted(tmp_path, form):
    frame = pd.read_csv(io.StringIO(HEADER + "\n".join(HOURLY)), dtype={"timestamp": str})
    local = pd.to_datetime(frame["timestamp"]).dt.tz_localize("America/New_York")
    if form == "aware_parquet":
        frame.assign(timestamp=local).to_parquet(tmp_path / "ACME.parquet")
    else:
        stamps = {"naive": frame["timestamp"], "offset": local.map(pd.Timestamp.isoformat),
                  "utc": local.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "epoch_ms": (local.astype("int64") // 1_000_000).astype(str)}[form]
        write_bar_files(tmp_path, {"ACME": frame.assign(timestamp=stamps)})
    out = FolderSource(tmp_path).load_standardized("ACME")
    pd.testing.assert_frame_equal(out.daily, HOURLY_DAILY)
    assert out.outside_session["source_row"].tolist() == [0, 8, 9, 14]


def test_a_missing_value_in_any_bar_makes_the_daily_value_missing(tmp_path):
    lines = list(HOURLY)
    lines[3] = "2013-11-27 11:30,11,,9,9.5,300"  # no high
    lines[12] = "2013-11-29 11:30,21,21.5,18,19,n/a"  # no volume
    daily = _folder(tmp_path, lines).load("ACME")
    assert np.isnan(daily["high"].iloc[0]) and np.isnan(daily["volume"].iloc[1])  # never skipped
    assert daily["low"].tolist() == [9.0, 18.0] and daily["volume"].iloc[0] == 2800.0


def test_out_of_order_rows_are_aggregated_in_time_order(tmp_path):
    shuffled = [HOURLY[i] for i in (4, 1, 2, 3, 0, 5, 6, 7, 8, 13, 12, 11, 10, 9, 14)]
    out = _folder(tmp_path, shuffled).load_standardized("ACME")
    pd.testing.assert_frame_equal(out.daily.drop(columns="source_row"), HOURLY_DAILY.drop(columns="source_row"))
    assert out.daily["source_row"].tolist() == [1, 12]  # the row that gave the open
    assert out.intraday["timestamp"].is_monotonic_increasing


def test_the_window_keeps_sessions_and_records_of_those_dates(tmp_path):
    out = _folder(tmp_path, HOURLY).load_standardized("ACME", dt.date(2013, 11, 29), dt.date(2013, 11, 29))
    assert out.daily["date"].tolist() == [pd.Timestamp("2013-11-29")]
    assert out.outside_session["source_row"].tolist() == [14]
    assert out.intraday["source_row"].tolist() == [10, 11, 12, 13, 14]


def test_refuse_mode_names_ticker_first_intraday_timestamp_and_file(tmp_path):
    lines = ["2013-11-26 00:00,1,2,0.5,1.5,10"] + HOURLY  # a daily-looking first row, then hourly bars
    for source in (_folder(tmp_path, lines, intraday="refuse"),
                   make_source("folder", folder=str(tmp_path), intraday="refuse")):
        with pytest.raises(BarDataError) as caught:
            source.load("ACME")
        err = caught.value
        assert (err.rule, err.ticker, err.date) == ("daily_bars_only", "ACME", "2013-11-27 08:30")
        assert "ACME.csv" in str(err) and "row 1" in str(err) and "'2013-11-27 08:30'" in str(err)
        assert "9 times of day" in str(err)


def test_standardize_bars_takes_daily_bars_only():
    frame = pd.read_csv(io.StringIO(HEADER + "\n".join(HOURLY)), dtype=str)
    with pytest.raises(BarDataError, match=r"\[daily_bars_only\] ticker='ACME' date=2013-11-27 08:30"):
        standardize_bars(frame, "ACME")
    assert standardize(frame, "ACME", calendar="XNYS").daily.equals(HOURLY_DAILY)


def test_an_unknown_intraday_mode_is_refused(tmp_path):
    with pytest.raises(BarDataError, match=r"\[intraday_mode\].*'split'"):
        FolderSource(tmp_path, intraday="split")


def test_a_daily_file_at_one_fixed_time_stays_daily(tmp_path):
    text = "date,open,high,low,close,volume\n2013-01-02 16:00,1,2,0.5,1.5,10\n2013-01-03 16:00,1,2,0.5,1.5,10\n" \
           "2013-01-03 16:00,1,2,0.5,1.6,10\n"  # a duplicate stays a duplicate for validation to quarantine
    write_bar_files(tmp_path, {"ACME": text})
    out = FolderSource(tmp_path, intraday="refuse").load_standardized("ACME")
    assert out.daily["date"].tolist() == list(pd.to_datetime(["2013-01-02", "2013-01-03", "2013-01-03"]))
    assert out.intraday.empty and out.outside_session.empty
    assert list(out.intraday.columns) == list(INTRADAY_COLUMNS)


def test_daily_utc_stamps_that_move_with_daylight_saving_time_stay_daily():
    frame = pd.DataFrame({"timestamp": ["2013-03-08T21:00:00Z", "2013-03-11T20:00:00Z"], "open": ["1", "1"],
                          "high": ["2", "2"], "low": ["0.5", "0.5"], "close": ["1.5", "1.5"], "volume": ["9", "9"]})
    out = standardize(frame, "ACME", calendar="XNYS", intraday="refuse")
    assert out.daily["date"].tolist() == list(pd.to_datetime(["2013-03-08", "2013-03-11"]))
    epoch = frame.assign(timestamp=["1362776400", "1363032000"])  # the same instants in epoch seconds
    assert standardize_bars(epoch, "ACME")["date"].tolist() == list(pd.to_datetime(["2013-03-08", "2013-03-11"]))


def test_a_local_time_that_daylight_saving_makes_ambiguous_is_refused(tmp_path):
    lines = ["2013-11-01 16:00,1,2,0.5,1.5,10", "2013-11-03 01:30,1,2,0.5,1.5,10", "2013-11-03 02:30,1,2,0.5,1.5,10"]
    with pytest.raises(BarDataError) as caught:
        _folder(tmp_path, lines, calendar_code="24/5").load("ACME")
    assert caught.value.rule == "unambiguous_time" and "2013-11-03 01:30" in str(caught.value)
    assert "America/New_York" in str(caught.value)
