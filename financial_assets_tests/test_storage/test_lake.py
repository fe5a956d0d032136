"""The Parquet lake: exact replacement of partitions, atomic files, concurrent writers."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp

import duckdb
import pandas as pd
import pytest

from financial_assets.storage.lake import ParquetLake


def _frame(ticker: str, dates: list[str], value: float) -> pd.DataFrame:
    return pd.DataFrame({"ticker": ticker, "date": pd.to_datetime(dates), "x": value})


def _days(*dates: str) -> list[dt.date]:
    return [pd.Timestamp(d).date() for d in dates]


def test_write_then_read_round_trips_and_duckdb_reads_the_glob(tmp_path):
    lake = ParquetLake(tmp_path)
    frame = _frame("AAPL", ["2024-01-02", "2024-02-01"], 1.0)
    lake.write("a", frame, {"AAPL": _days("2024-01-02", "2024-02-01")})
    back = lake.read("a")
    pd.testing.assert_frame_equal(back, frame)
    via_sql = duckdb.execute("select count(*), min(date) from read_parquet(?)", [lake.glob("a")]).fetchone()
    assert via_sql == (2, dt.date(2024, 1, 2))


def test_a_date_span_reads_only_the_files_of_its_months(tmp_path):
    lake = ParquetLake(tmp_path)
    dates = ["2023-12-29", "2024-01-02", "2024-02-01", "2024-03-01"]
    for ticker in ("AAPL", "IBM"):
        lake.write("a", _frame(ticker, dates, 1.0), {ticker: _days(*dates)})
    files = lake.files("a", ["IBM"], start="2024-01-15", end="2024-02-29")
    assert [(f.parent.name, f.stem) for f in files] == [("IBM", "2024-01"), ("IBM", "2024-02")]
    assert len(lake.files("a")) == 8 and len(lake.files("a", end="2023-12-31")) == 2
    back = lake.read("a", start="2024-01-15", end="2024-03-01")
    assert back[["ticker", "date"]].values.tolist() == [[t, pd.Timestamp(d)] for t in ("AAPL", "IBM")
                                                        for d in ("2024-02-01", "2024-03-01")]


def test_rerun_replaces_exactly_its_partitions(tmp_path):
    lake = ParquetLake(tmp_path)
    lake.write("a", _frame("AAPL", ["2024-01-02", "2024-01-03"], 1.0), {"AAPL": _days("2024-01-02", "2024-01-03")})
    lake.write("a", _frame("AAPL", ["2024-01-03"], 2.0), {"AAPL": _days("2024-01-03")})
    back = lake.read("a")
    assert back["x"].tolist() == [1.0, 2.0]
    # a rerun that yields no rows empties its partition and leaves the others
    lake.write("a", _frame("AAPL", [], 0.0), {"AAPL": _days("2024-01-02")})
    assert lake.read("a")["date"].tolist() == [pd.Timestamp("2024-01-03")]


def test_a_column_all_null_in_some_partitions_reads_with_the_type_of_the_others(tmp_path):
    lake = ParquetLake(tmp_path)
    served = _frame("AAA", ["2024-01-02"], 1.0).assign(model="v3")
    unserved = _frame("ZZZ", ["2024-01-02"], 2.0).assign(model=None)  # no champion: an untyped all-null column
    lake.write("a", pd.concat([served, unserved], ignore_index=True), {"AAA": _days("2024-01-02"),
                                                                       "ZZZ": _days("2024-01-02")})
    assert lake.read("a")["model"].tolist() == ["v3", None]


def test_a_write_with_nothing_in_scope_leaves_an_empty_asset_folder(tmp_path):
    lake = ParquetLake(tmp_path)
    lake.write("cv_folds", _frame("AAPL", [], 0.0), {})  # e.g. no retrain date inside the run's range
    assert lake.asset_dir("cv_folds").is_dir() and lake.read("cv_folds").empty


def test_rows_outside_the_written_partitions_are_refused(tmp_path):
    lake = ParquetLake(tmp_path)
    with pytest.raises(ValueError, match="outside the partitions"):
        lake.write("a", _frame("AAPL", ["2024-01-04"], 1.0), {"AAPL": _days("2024-01-03")})


def _writer(root: str, day: str, value: float) -> None:
    lake = ParquetLake(root)
    for _ in range(20):
        lake.write("a", _frame("AAPL", [day], value), {"AAPL": _days(day)})


def test_concurrent_writers_of_one_month_do_not_lose_each_others_rows(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"2024-01-{d:02d}", float(d))) for d in (2, 3, 4, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    back = ParquetLake(tmp_path).read("a")
    assert back["x"].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert not list(tmp_path.rglob("*.tmp"))
