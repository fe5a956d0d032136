"""FolderSource: one file per ticker; every problem with the folder or a file is a named BarDataError."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.sources import FolderSource, make_source
from financial_assets_tests.conftest import clean_bars, write_bar_files

DATES = ["2013-01-02", "2013-01-03", "2013-01-04", "2013-01-07"]
UNSAFE = ["../x", "AA'PL", "A;DROP", "A|B", "A B", '"', "..", "A/../../B"]


def _rule(call) -> BarDataError:
    with pytest.raises(BarDataError) as caught:
        call()
    return caught.value


def test_csv_and_parquet_in_any_extension_case_are_listed_and_loaded(tmp_path):
    frame = clean_bars(DATES)
    write_bar_files(tmp_path, {"abc.CSV": frame})
    frame.assign(adj_close=frame["close"] / 2).to_parquet(tmp_path / "Xyz.Parquet")
    (tmp_path / "notes.txt").write_text("not bars")
    source = make_source("folder", folder=str(tmp_path))
    assert source.name == "folder" and source.tickers() == ["ABC", "XYZ"]
    abc, xyz = source.load("abc"), source.load("XYZ")
    assert list(abc.columns) == list(RAW_COLUMNS) and abc["ticker"].unique().tolist() == ["ABC"]
    assert abc["close"].tolist() == frame["close"].tolist() and abc["adj_close"].isna().all()
    assert xyz["adj_close"].tolist() == (frame["close"] / 2).tolist()


def test_parquet_with_tz_aware_timestamps_and_a_date_index_loads(tmp_path):
    frame = clean_bars(DATES)
    index = pd.DatetimeIndex(frame.pop("date"), name="Datetime").tz_localize("Europe/London")
    frame.set_index(index).to_parquet(tmp_path / "LSE.parquet")
    out = FolderSource(tmp_path).load("LSE")
    assert out["date"].tolist() == list(pd.to_datetime(DATES)) and str(out["date"].dtype) == "datetime64[ns]"


def test_the_window_is_inclusive_at_both_ends(tmp_path):
    write_bar_files(tmp_path, {"ABC": clean_bars(DATES)})
    out = FolderSource(tmp_path).load("ABC", dt.date(2013, 1, 3), dt.date(2013, 1, 4))
    assert out["date"].tolist() == [pd.Timestamp("2013-01-03"), pd.Timestamp("2013-01-04")]
    assert out["source_row"].tolist() == [1, 2]  # position in the file, not in the window
    assert FolderSource(tmp_path).load("ABC", dt.date(2013, 1, 5), dt.date(2013, 1, 6)).empty


def test_a_missing_folder_is_an_error(tmp_path):
    err = _rule(lambda: FolderSource(tmp_path / "nowhere").tickers())
    assert err.rule == "source_folder_exists" and "nowhere" in str(err)
    assert _rule(lambda: FolderSource(tmp_path / "nowhere").load("ABC")).rule == "source_folder_exists"


def test_an_unset_folder_is_an_error_not_the_working_directory(tmp_path, monkeypatch):
    write_bar_files(tmp_path, {"ABC": clean_bars(DATES)})
    monkeypatch.chdir(tmp_path)
    assert _rule(lambda: make_source("folder", folder="").tickers()).rule == "source_folder_exists"


def test_a_missing_file_names_the_ticker(tmp_path):
    write_bar_files(tmp_path, {"OTHER": clean_bars(DATES)})
    err = _rule(lambda: FolderSource(tmp_path).load("ACME"))
    assert (err.rule, err.ticker) == ("file_exists", "ACME") and "ACME.csv" in str(err)


@pytest.mark.parametrize("content", ["", "date,open,high,low,close,volume\n", "\n\n"],
                         ids=["0_bytes", "header_only", "blank_lines"])
def test_an_empty_file_is_an_error(tmp_path, content):
    write_bar_files(tmp_path, {"ACME": content})
    err = _rule(lambda: FolderSource(tmp_path).load("ACME"))
    assert (err.rule, err.ticker) == ("non_empty", "ACME")


def test_an_empty_parquet_file_is_an_error(tmp_path):
    pd.DataFrame(columns=["date", "open", "high", "low", "close", "volume"]).to_parquet(tmp_path / "ACME.parquet")
    assert _rule(lambda: FolderSource(tmp_path).load("ACME")).rule == "non_empty"


def test_an_unreadable_file_is_an_error(tmp_path):
    (tmp_path / "ACME.parquet").write_bytes(b"this is not parquet")
    err = _rule(lambda: FolderSource(tmp_path).load("ACME"))
    assert (err.rule, err.ticker) == ("readable_file", "ACME")


@pytest.mark.parametrize("name", UNSAFE)
def test_an_unsafe_ticker_is_refused_before_any_path_is_built(tmp_path, name):
    folder = tmp_path / "bars"
    write_bar_files(folder, {"OK": clean_bars(DATES)})
    write_bar_files(tmp_path, {"X": clean_bars(DATES)})  # what ../x would reach
    err = _rule(lambda: FolderSource(folder).load(name))
    assert err.rule == "ticker_safe_identifier" and repr(name) in str(err)


@pytest.mark.parametrize("stem", ["A B", "AA'PL", "A;DROP", "A|B", "A,B", "É"])
def test_a_file_whose_name_is_not_a_safe_ticker_is_reported_by_name(tmp_path, stem):
    write_bar_files(tmp_path, {"GOOD": clean_bars(DATES), f"{stem}.csv": clean_bars(DATES)})
    tickers, (err,) = FolderSource(tmp_path).scan()
    assert err.rule == "ticker_safe_identifier" and f"{stem}.csv" in str(err)
    assert tickers == ["GOOD"] and FolderSource(tmp_path).tickers() == ["GOOD"]
    assert len(FolderSource(tmp_path).load("GOOD")) == len(DATES)  # the good file still loads


def test_two_files_for_one_ticker_are_ambiguous(tmp_path):
    write_bar_files(tmp_path, {"ABC": clean_bars(DATES)})
    clean_bars(DATES).to_parquet(tmp_path / "abc.parquet")
    assert FolderSource(tmp_path).tickers() == ["ABC"]
    err = _rule(lambda: FolderSource(tmp_path).load("ABC"))
    assert err.rule == "unique_ticker_file" and "ABC.csv" in str(err) and "abc.parquet" in str(err)


def test_hidden_and_non_bar_files_are_not_tickers(tmp_path):
    write_bar_files(tmp_path, {"ABC": clean_bars(DATES), "._ABC.csv": "mac resource fork", "README.md": "hi"})
    (tmp_path / "SUB.csv").mkdir()
    assert FolderSource(tmp_path).tickers() == ["ABC"]


def test_make_source_hands_the_calendar_and_intraday_mode_to_the_folder(tmp_path):
    source = make_source("folder", folder=str(tmp_path), calendar_code="24/5", intraday="refuse")
    assert (source.calendar_code, source.intraday) == ("24/5", "refuse")
    assert (FolderSource(tmp_path).calendar_code, FolderSource(tmp_path).intraday) == ("XNYS", "aggregate")
