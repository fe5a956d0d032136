"""`standardize_bars`: bad files raise a named rule; bad rows pass through untouched with `source_row`."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.sources import make_source, standardize_bars
from financial_assets.sources.base import NA_TOKENS
from financial_assets_tests.conftest import clean_bars, write_bar_files

HEADER = "date,open,high,low,close,volume\n"
FUTURE = dt.date.today() + dt.timedelta(days=30)


def _load(folder, text: str, ticker: str = "ACME") -> pd.DataFrame:
    write_bar_files(folder, {ticker: text})
    return make_source("folder", folder=str(folder)).load(ticker)


def _error(folder, text: str) -> BarDataError:
    with pytest.raises(BarDataError) as caught:
        _load(folder, text)
    return caught.value


# ---------------------------------------------------------------- one test per bad file


def test_a_missing_column_is_named_with_the_columns_found(tmp_path):
    err = _error(tmp_path, "date,open,high,low,close\n2013-01-02,1,2,0.5,1.5\n")
    assert err.rule == "required_columns" and err.ticker == "ACME"
    assert "'volume'" in str(err) and "found ['date', 'open', 'high', 'low', 'close']" in str(err)


def test_a_misnamed_column_is_a_missing_column(tmp_path):
    err = _error(tmp_path, "date,open,high,low,clse,volume\n2013-01-02,1,2,0.5,1.5,10\n")
    assert err.rule == "required_columns" and "ACME" in str(err)
    assert "missing columns ['close']" in str(err) and "'clse'" in str(err)


def test_two_headers_meaning_the_same_column_are_refused(tmp_path):
    err = _error(tmp_path, "date,timestamp,open,high,low,close,volume\n2013-01-02,2013-01-02,1,2,0.5,1.5,10\n")
    assert err.rule == "required_columns" and "'date' and 'timestamp' both mean 'date'" in str(err)


def test_a_non_numeric_price_names_ticker_date_column_and_value(tmp_path):
    err = _error(tmp_path, HEADER + "2013-01-02,1,2,0.5,1.5,10\n2013-01-03,1,2,0.5,abc,10\n")
    assert (err.rule, err.ticker, err.date) == ("numeric_values", "ACME", dt.date(2013, 1, 3))
    assert "ACME" in str(err) and "2013-01-03" in str(err) and "close" in str(err) and "'abc'" in str(err)


def test_a_non_numeric_volume_is_refused_too(tmp_path):
    err = _error(tmp_path, HEADER + "2013-01-02,1,2,0.5,1.5,1'000\n")
    assert err.rule == "numeric_values" and "volume" in str(err) and "2013-01-02" in str(err)


def test_mixed_timezones_are_refused(tmp_path):
    err = _error(tmp_path, "timestamp,open,high,low,close,volume\n2013-01-02T00:00:00-05:00,1,2,0.5,1.5,10\n"
                           "2013-01-03T00:00:00+09:00,1,2,0.5,1.5,10\n")
    assert err.rule == "single_timezone" and "ACME" in str(err) and "2013-01-03" in str(err)


def test_utc_stamps_next_to_naive_ones_are_mixed_zones(tmp_path):
    err = _error(tmp_path, HEADER + "2013-01-02 00:00:00,1,2,0.5,1.5,10\n2013-01-03 00:00:00Z,1,2,0.5,1.5,10\n")
    assert err.rule == "single_timezone" and "2013-01-02" in str(err)


def test_a_date_in_the_future_names_ticker_and_date(tmp_path):
    err = _error(tmp_path, HEADER + f"2013-01-02,1,2,0.5,1.5,10\n{FUTURE},1,2,0.5,1.5,10\n")
    assert (err.rule, err.ticker, err.date) == ("date_not_in_future", "ACME", FUTURE)
    assert str(FUTURE) in str(err)


def test_today_is_not_the_future_and_today_can_be_pinned():
    frame = clean_bars(["2013-01-02", "2013-01-03"])
    assert len(standardize_bars(frame, "ACME", today=dt.date(2013, 1, 3))) == 2
    with pytest.raises(BarDataError, match=r"\[date_not_in_future\].*date=2013-01-03"):
        standardize_bars(frame, "ACME", today=dt.date(2013, 1, 2))


@pytest.mark.parametrize("bad", ["2013-13-45", "yesterday", ""])
def test_an_unparseable_or_missing_date_is_refused(tmp_path, bad):
    err = _error(tmp_path, HEADER + f"2013-01-02,1,2,0.5,1.5,10\n{bad},1,2,0.5,1.5,10\n")
    assert err.rule == "parseable_dates" and "ACME" in str(err) and "row 1" in str(err)


def test_no_rows_is_an_empty_source():
    with pytest.raises(BarDataError, match=r"\[non_empty\] ticker='ACME'"):
        standardize_bars(pd.DataFrame(columns=["date", "open", "high", "low", "close", "volume"]), "acme")
    with pytest.raises(BarDataError, match=r"\[non_empty\]"):
        standardize_bars(pd.DataFrame(), "ACME")


@pytest.mark.parametrize("name", ["../x", "AA'PL", "A;DROP", "A|B", "A B", '"', "", "A/B", "A\\B", "..", "A,B"])
def test_an_unsafe_ticker_is_refused_before_any_conversion(name):
    with pytest.raises(BarDataError) as caught:
        standardize_bars(clean_bars(["2013-01-02"]), name)
    assert caught.value.rule == "ticker_safe_identifier" and repr(name) in str(caught.value)


# ---------------------------------------------------------------- rows pass through


PASS_THROUGH = (HEADER + "2013-01-04,10,11,9,10.5,100\n"  # 0: fine, but after later dates
                "2013-01-02,10,11,9,,100\n"  # 1: NaN close
                "2013-01-03,0,11,9,10.5,100\n"  # 2: zero open
                "2013-01-07,10,11,-9,10.5,100\n"  # 3: negative low
                "2013-01-08,10,8,9,10.5,100\n"  # 4: high < low
                "2013-01-08,10,11,9,10.6,100\n"  # 5: duplicate date
                "2013-01-09,10,11,9,NaN,\n")  # 6: NaN token close, empty volume


def test_bad_rows_come_back_unchanged_with_their_source_row(tmp_path):
    out = _load(tmp_path, PASS_THROUGH)
    assert list(out.columns) == list(RAW_COLUMNS) and len(out) == 7
    assert out["source_row"].tolist() == [1, 2, 0, 3, 4, 5, 6]  # sorted by date, stable, duplicates kept
    assert out["date"].is_monotonic_increasing and out["date"].duplicated().sum() == 1
    raw = pd.read_csv(tmp_path / "ACME.csv")
    back = out.sort_values("source_row").reset_index(drop=True)
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(back[column].to_numpy(), raw[column].to_numpy(dtype="float64"))
    assert back.loc[2, "open"] == 0.0 and back.loc[3, "low"] == -9.0 and back.loc[4, "high"] < back.loc[4, "low"]
    assert np.isnan(back.loc[1, "close"]) and np.isnan(back.loc[6, "close"]) and np.isnan(back.loc[6, "volume"])
    assert back["adj_close"].isna().all()


def test_dtypes_are_the_canonical_ones(tmp_path):
    out = _load(tmp_path, PASS_THROUGH)
    assert str(out["date"].dtype) == "datetime64[ns]" and (out["date"] == out["date"].dt.normalize()).all()
    assert all(out[c].dtype == np.float64 for c in ("open", "high", "low", "close", "volume", "adj_close"))
    assert out["source_row"].dtype == np.int64 and set(out["ticker"]) == {"ACME"}


@st.composite
def _messy_frames(draw):
    n = draw(st.integers(1, 30))
    days = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))  # repeats and any order
    price = st.one_of(st.none(), st.floats(-1e3, 1e6, allow_nan=False))
    cells = {c: draw(st.lists(price, min_size=n, max_size=n)) for c in ("open", "high", "low", "close", "volume")}
    dates = [(pd.Timestamp("2013-01-01") + pd.Timedelta(days=d)).date().isoformat() for d in days]
    return pd.DataFrame({"Date": dates, **{c.upper(): v for c, v in cells.items()}})


@settings(max_examples=60, deadline=None)
@given(_messy_frames())
def test_no_row_is_ever_dropped_reordered_silently_or_changed(frame):
    out = standardize_bars(frame, "ACME")
    assert len(out) == len(frame) and sorted(out["source_row"]) == list(range(len(frame)))
    assert out["date"].is_monotonic_increasing
    back = out.sort_values("source_row").reset_index(drop=True)
    assert (back["date"] == pd.to_datetime(frame["Date"])).all()
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(back[column].to_numpy(), frame[column.upper()].to_numpy(dtype="float64"))
    ties = out.groupby("date")["source_row"].apply(lambda rows: rows.is_monotonic_increasing)
    assert ties.all()  # stable: equal dates keep source order


# ---------------------------------------------------------------- raw means raw


def _decimal_texts(n: int, seed: int) -> list[str]:
    """Random decimal texts: 1-25 digits, a point anywhere or none, a sign, exponents within the float range."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        point = rng.randint(0, len(digits))
        text = digits[:point] + "." + digits[point:] if rng.random() < 0.8 else digits
        if rng.random() < 0.5:
            text += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 280))
        texts.append(rng.choice(["", "", "-", "+"]) + text)
    return texts


def _bits(values) -> np.ndarray:
    """The float64 values as their 64-bit patterns, so that equality is bit-for-bit."""
    return np.asarray(values, dtype="float64").view(np.int64)


def test_prices_are_exactly_float_of_the_text_through_a_csv_file(tmp_path):
    columns = ("open", "high", "low", "close", "volume")
    cells = {c: _decimal_texts(2000, seed) for seed, c in enumerate(columns)}
    rows = [",".join(["2013-01-02"] + [cells[c][i] for c in columns]) for i in range(2000)]
    back = _load(tmp_path, HEADER + "\n".join(rows) + "\n").sort_values("source_row")
    for column in columns:
        np.testing.assert_array_equal(_bits(back[column]), _bits([float(t) for t in cells[column]]), column)


@pytest.mark.parametrize("dtype", [object, "string"])
def test_prices_are_exactly_float_of_the_text_through_standardize_bars(dtype):
    frame = clean_bars(["2013-01-02"] * 3000)
    texts = _decimal_texts(3000, seed=11)
    frame["close"] = pd.Series([f"  {t} " for t in texts], dtype=dtype)  # surrounding spaces are not part of it
    out = standardize_bars(frame, "ACME").sort_values("source_row")
    np.testing.assert_array_equal(_bits(out["close"]), _bits([float(t) for t in texts]))


@pytest.mark.parametrize("token", ["null", "NULL", "n/a", "NaN", "-", "", "  ", "none", "#N/A"])
def test_na_tokens_are_missing_values(tmp_path, token):
    assert "-" in NA_TOKENS
    out = _load(tmp_path, HEADER + f"2013-01-02,1,2,0.5,{token},10\n")
    assert np.isnan(out["close"].iloc[0]) and out["open"].iloc[0] == 1.0


@pytest.mark.parametrize("text", ["1_000", "\uff11\uff12", "0x10", "1.5.2", "--1", "1e999", "-1e400"])
def test_text_that_float_would_accept_or_overflow_is_not_a_number(tmp_path, text):
    err = _error(tmp_path, HEADER + f"2013-01-02,1,2,0.5,{text},10\n")
    assert (err.rule, err.date) == ("numeric_values", dt.date(2013, 1, 2)) and repr(text) in str(err)


# ---------------------------------------------------------------- accepted shapes


def test_header_case_spaces_timestamp_and_adj_close_spellings(tmp_path):
    out = _load(tmp_path, " TimeStamp , OPEN,High ,low,Close,VOLUME,Adj Close\n2013-01-02,1,2,0.5,1.5,10,0.75\n")
    assert out[["open", "high", "low", "close", "volume", "adj_close"]].iloc[0].tolist() == [1, 2, 0.5, 1.5, 10, 0.75]


def test_a_byte_order_mark_and_extra_columns_are_harmless(tmp_path):
    (tmp_path / "ACME.csv").write_bytes("\ufeffDate,Open,High,Low,Close,Volume,Dividends\n2013-01-02,1,2,0.5,1.5,10,0\n"
                                        .encode("utf-8"))
    out = make_source("folder", folder=str(tmp_path)).load("ACME")
    assert out["date"].tolist() == [pd.Timestamp("2013-01-02")] and list(out.columns) == list(RAW_COLUMNS)


def test_single_zone_offsets_keep_the_local_date(tmp_path):
    out = _load(tmp_path, "timestamp,open,high,low,close,volume\n2013-01-02T23:30:00+09:00,1,2,0.5,1.5,10\n"
                          "2013-01-03T23:30:00+09:00,1,2,0.5,1.5,10\n")
    assert out["date"].tolist() == [pd.Timestamp("2013-01-02"), pd.Timestamp("2013-01-03")]  # not the UTC dates


def test_one_zone_across_daylight_saving_time_loads(tmp_path):
    # what `yf.download(...).to_csv()` writes for a New York ticker over a year
    index = pd.DatetimeIndex(["2013-03-08", "2013-03-11", "2013-11-04"], name="Date").tz_localize("America/New_York")
    frame = clean_bars(["x"] * 3).drop(columns="date").set_index(index)
    frame.to_csv(tmp_path / "ACME.csv")
    assert "-05:00" in (tmp_path / "ACME.csv").read_text() and "-04:00" in (tmp_path / "ACME.csv").read_text()
    out = make_source("folder", folder=str(tmp_path)).load("ACME")
    assert out["date"].tolist() == list(index.tz_localize(None))


def test_tz_aware_datetimes_become_local_midnight():
    frame = clean_bars(["2013-01-02", "2013-01-03"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.tz_localize("Asia/Tokyo") + pd.Timedelta(hours=15)
    out = standardize_bars(frame, "ACME")
    assert out["date"].tolist() == [pd.Timestamp("2013-01-02"), pd.Timestamp("2013-01-03")]


def test_a_date_index_counts_as_the_date_column():
    frame = clean_bars(["2013-01-02", "2013-01-03"])
    frame = frame.set_index(pd.DatetimeIndex(frame.pop("date"), name="Date"))
    assert standardize_bars(frame, "ACME")["date"].tolist() == [pd.Timestamp("2013-01-02"), pd.Timestamp("2013-01-03")]


def test_epoch_seconds_and_compact_dates_are_dates():
    frame = clean_bars(["x", "y"])
    assert standardize_bars(frame.assign(date=[1357137000, 1357223400]), "A")["date"].dt.day.tolist() == [2, 3]
    assert standardize_bars(frame.assign(date=["20130102", "20130103"]), "A")["date"].dt.day.tolist() == [2, 3]
