"""Bad input through the real graph: every case ends in a clear error or a quarantine record, never silent loss."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from financial_assets.core.errors import BarDataError
from financial_assets.storage.lake import ParquetLake
from financial_assets.core.tickers import normalize_ticker
from financial_assets_tests.conftest import clean_bars, write_bar_files
from financial_assets_tests.dagster_helpers import check_results, failure_messages, materialized, run_range

DATES = ["2013-01-02", "2013-01-03", "2013-01-04", "2013-01-07", "2013-01-08"]
BAD_DAY = "2013-01-04"
FIRST, LAST = DATES[0], DATES[-1]


@pytest.fixture
def folder(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("FA_SOURCE", "folder")
    monkeypatch.setenv("FA_SOURCE_DIR", str(tmp_path / "bars"))
    return tmp_path / "bars"


@pytest.fixture
def instance():
    # in memory: Dagster's SQLite event log costs ~50 ms per partition materialization here
    return dg.DagsterInstance.ephemeral()


def _bars_with(edit) -> pd.DataFrame:
    frame = clean_bars(DATES)
    edit(frame, DATES.index(BAD_DAY))
    return frame


ROW_CASES = {
    "nan_close": (lambda f, i: f.__setitem__("close", f["close"].where(f.index != i)), "not_null"),
    "zero_price": (lambda f, i: f.loc.__setitem__((i, "open"), 0.0), "positive_price"),
    "negative_price": (lambda f, i: f.loc.__setitem__((i, "low"), -3.0), "positive_price"),
    "high_below_low": (lambda f, i: f.loc.__setitem__((i, ["high", "low"]), [90.0, 95.0]), "high_ge_low"),
    "duplicate_timestamp": (lambda f, i: f.loc.__setitem__((i + 1, "date"), BAD_DAY), "unique_timestamp"),
}


@pytest.mark.parametrize("case", sorted(ROW_CASES))
def test_bad_rows_are_quarantined_with_ticker_date_rule_and_block_downstream(case, folder, data_dir, instance):
    edit, rule = ROW_CASES[case]
    write_bar_files(folder, {"ACME": _bars_with(edit)})
    result = run_range("ticker_assets_job", f"{FIRST}|ACME", f"{LAST}|ACME", instance, ["ACME"])
    lake = ParquetLake(data_dir / "lake")
    quarantine = lake.read("quarantined_bars")
    hit = quarantine.loc[quarantine["rule"] == rule]
    assert set(hit["ticker"]) == {"ACME"}
    assert pd.Timestamp(BAD_DAY) in set(hit["date"]) and set(hit["severity"]) == {"error"}
    assert pd.Timestamp(BAD_DAY) not in set(lake.read("validated_bars")["date"])
    # raw data is kept exactly as given, bad row included
    assert len(lake.read("raw_bars")) == len(DATES)
    # the blocking pandera check fails with ERROR and stops downstream assets of the run
    assert check_results(result)["bars_schema_pandera"] == (False, "ERROR")
    assert materialized(result, "features") == [] and materialized(result, "labels") == []


def test_out_of_order_rows_are_quarantined(folder, data_dir, instance):
    frame = clean_bars(DATES).iloc[[0, 1, 3, 2, 4]]  # BAD_DAY comes after a later date in the file
    write_bar_files(folder, {"ACME": frame})
    run_range("ticker_assets_job", f"{FIRST}|ACME", f"{LAST}|ACME", instance, ["ACME"])
    quarantine = ParquetLake(data_dir / "lake").read("quarantined_bars")
    hit = quarantine.loc[quarantine["rule"] == "increasing_timestamps"]
    assert hit[["ticker", "date"]].values.tolist() == [["ACME", pd.Timestamp(BAD_DAY)]]


def test_a_crash_day_warns_but_does_not_block(folder, data_dir, instance):
    frame = clean_bars(DATES)
    frame.loc[2:, ["open", "high", "low", "close"]] *= 0.5  # a -50% day that stays down
    write_bar_files(folder, {"ACME": frame})
    result = run_range("ticker_assets_job", f"{FIRST}|ACME", f"{LAST}|ACME", instance, ["ACME"])
    assert result.success
    assert check_results(result) == {"bars_schema_pandera": (True, "ERROR"),
                                     "bars_suite_great_expectations": (False, "WARN")}
    assert len(materialized(result, "features")) == len(DATES)
    quarantine = ParquetLake(data_dir / "lake").read("quarantined_bars")
    assert quarantine[["date", "rule", "severity"]].values.tolist() == [[pd.Timestamp(BAD_DAY), "extreme_return", "warn"]]


FILE_CASES = {
    "missing_file": (None, "file_exists"),
    "empty_file": ("", "non_empty"),
    "header_only": ("date,open,high,low,close,volume\n", "non_empty"),
    "missing_column": ("date,open,high,low,close\n2013-01-02,1,2,0.5,1.5\n", "required_columns"),
    "misnamed_column": ("date,open,high,low,clse,volume\n2013-01-02,1,2,0.5,1.5,10\n", "required_columns"),
    "non_numeric": ("date,open,high,low,close,volume\n2013-01-02,1,2,0.5,abc,10\n", "numeric_values"),
    "mixed_timezones": ("timestamp,open,high,low,close,volume\n2013-01-02T00:00:00-05:00,1,2,0.5,1.5,10\n"
                        "2013-01-03T00:00:00+00:00,1,2,0.5,1.5,10\n", "single_timezone"),
    "future_date": ("date,open,high,low,close,volume\n2013-01-02,1,2,0.5,1.5,10\n"
                    f"{dt.date.today() + dt.timedelta(days=30)},1,2,0.5,1.5,10\n", "date_not_in_future"),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_files_fail_the_run_with_an_error_naming_ticker_and_rule(case, folder, data_dir, instance):
    content, rule = FILE_CASES[case]
    write_bar_files(folder, {} if content is None else {"ACME": content})
    if content is None:
        write_bar_files(folder, {"OTHER": clean_bars(DATES)})
    result = run_range("ticker_assets_job", f"{FIRST}|ACME", f"{FIRST}|ACME", instance, ["ACME"])
    assert not result.success
    message = failure_messages(result)
    assert f"[{rule}]" in message and "ACME" in message
    assert not ParquetLake(data_dir / "lake").files("validated_bars")


@pytest.mark.parametrize("name", ["../x", "AA'PL", 'A"B', "A;DROP TABLE bars", "A|B", "A B", ""])
def test_unsafe_ticker_names_are_refused_before_any_path_or_key_is_built(name):
    with pytest.raises(BarDataError, match=r"\[ticker_safe_identifier\]"):
        normalize_ticker(name)


def test_an_unsafe_file_name_in_the_folder_is_reported(folder, data_dir):
    from financial_assets.sources import make_source

    write_bar_files(folder, {"A B.csv": clean_bars(DATES)})
    with pytest.raises(BarDataError, match="ticker_safe_identifier"):
        make_source("folder", folder=str(folder)).tickers()


def test_a_rerun_with_revised_source_values_archives_the_old_raw_bars(folder, data_dir, instance):
    frame = clean_bars(DATES)
    write_bar_files(folder, {"ACME": frame})
    run_range("ticker_assets_job", f"{FIRST}|ACME", f"{LAST}|ACME", instance, ["ACME"])
    revised = frame.copy()
    revised.loc[1, "close"] += 0.25
    write_bar_files(folder, {"ACME": revised})
    assert run_range("ticker_assets_job", f"{FIRST}|ACME", f"{LAST}|ACME", instance).success
    lake = ParquetLake(data_dir / "lake")
    archived = lake.read("raw_bar_revisions")
    assert archived[["ticker", "date", "close"]].values.tolist() == [["ACME", pd.Timestamp(DATES[1]), frame.loc[1, "close"]]]
    assert archived["replaced_at"].notna().all()
    assert lake.read("raw_bars")["close"].tolist() == revised["close"].tolist()
