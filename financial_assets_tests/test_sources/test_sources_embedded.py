"""EmbeddedSource: the real bokeh-sampledata bars, raw prices with their splits, plus the adjusted close."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.sources import EmbeddedSource, make_source


@pytest.fixture(scope="module")
def source() -> EmbeddedSource:
    return make_source("embedded")


def test_five_real_tickers(source):
    assert source.name == "embedded" and source.tickers() == ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
    spans = {t: (len(b), b["date"].min().date(), b["date"].max().date()) for t in source.tickers()
             for b in [source.load(t)]}
    assert spans["AAPL"] == (3270, dt.date(2000, 3, 1), dt.date(2013, 3, 1))
    assert spans["FB"][1] == dt.date(2012, 5, 18) and spans["GOOG"][1] == dt.date(2004, 8, 19)


def test_bars_are_canonical(source):
    aapl = source.load("AAPL")
    assert list(aapl.columns) == list(RAW_COLUMNS) and str(aapl["date"].dtype) == "datetime64[ns]"
    assert aapl["source_row"].tolist() == list(range(len(aapl))) and aapl["date"].is_monotonic_increasing
    first = aapl.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (118.56, 132.06, 118.5,
                                                                                            130.31, 9616100.0)


SPLITS = [("AAPL", "2000-06-21", "2000-06-20"), ("AAPL", "2005-02-28", "2005-02-25"),
          ("MSFT", "2003-02-18", "2003-02-14")]  # (ticker, split day, the session before)


@pytest.mark.parametrize("ticker, day, before", SPLITS)
def test_split_days_drop_the_raw_close_but_not_the_adjusted_one(source, ticker, day, before):
    bars = source.load(ticker).set_index("date")
    raw = bars.loc[day, "close"] / bars.loc[before, "close"]
    adjusted = bars.loc[day, "adj_close"] / bars.loc[before, "adj_close"]
    assert 0.4 < raw < 0.6 and 0.9 < adjusted < 1.1


def test_the_real_crash_day_drops_both_closes(source):
    bars = source.load("AAPL").set_index("date")
    assert bars.loc["2000-09-29", "close"] / bars.loc["2000-09-28", "close"] < 0.5
    assert bars.loc["2000-09-29", "adj_close"] / bars.loc["2000-09-28", "adj_close"] < 0.5


def test_window_is_inclusive_and_a_copy(source):
    week = source.load("ibm", dt.date(2013, 1, 2), dt.date(2013, 1, 4))
    assert week["date"].dt.day.tolist() == [2, 3, 4] and week["ticker"].unique().tolist() == ["IBM"]
    week.loc[:, "close"] = np.nan
    assert source.load("IBM", dt.date(2013, 1, 2), dt.date(2013, 1, 4))["close"].notna().all()
    assert source.load("FB", dt.date(2001, 1, 1), dt.date(2001, 12, 31)).empty  # before the listing


def test_unknown_and_unsafe_tickers_are_errors(source):
    with pytest.raises(BarDataError, match=r"\[ticker_in_source\] ticker='TSLA'"):
        source.load("TSLA")
    with pytest.raises(BarDataError, match=r"\[ticker_safe_identifier\]"):
        source.load("../AAPL")


def test_all_embedded_rows_are_on_weekdays(source):
    dates = pd.concat([source.load(t)["date"] for t in source.tickers()])
    assert (dates.dt.dayofweek < 5).all()
