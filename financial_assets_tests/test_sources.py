"""Bar sources: embedded real bars, user folders, Yahoo Finance replayed offline, the synthetic market."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from financial_assets.bars import RAW_COLUMNS
from financial_assets.errors import BarDataError
from financial_assets.sources import SyntheticSource, YahooSource, make_source, standardize_bars
from financial_assets.trading_calendar import trading_sessions
from financial_assets_tests.conftest import clean_bars, write_bar_files

FIXTURES = Path(__file__).parent / "fixtures"


def test_embedded_bars_are_real_with_splits_kept_raw():
    source = make_source("embedded")
    assert source.tickers() == ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
    aapl = source.load("AAPL")
    assert list(aapl.columns) == list(RAW_COLUMNS)
    assert (len(aapl), aapl["date"].min(), aapl["date"].max()) == (3270, pd.Timestamp("2000-03-01"), pd.Timestamp("2013-03-01"))
    day = aapl.set_index("date")
    raw_move = day.loc["2000-06-21", "close"] / day.loc["2000-06-20", "close"]
    adj_move = day.loc["2000-06-21", "adj_close"] / day.loc["2000-06-20", "adj_close"]
    assert raw_move < 0.55 and 0.9 < adj_move < 1.1
    assert len(source.load("IBM", dt.date(2013, 1, 2), dt.date(2013, 1, 4))) == 3


def test_folder_reads_csv_and_parquet_with_any_header_case(tmp_path):
    frame = clean_bars(["2013-01-02", "2013-01-03"])
    upper = frame.rename(columns=str.upper).rename(columns={"DATE": "Timestamp"})
    write_bar_files(tmp_path, {"abc": upper})
    frame.assign(adj_close=frame["close"] / 2).to_parquet(tmp_path / "XYZ.parquet")
    source = make_source("folder", folder=str(tmp_path))
    assert source.tickers() == ["ABC", "XYZ"]
    abc, xyz = source.load("ABC"), source.load("XYZ")
    assert abc["close"].tolist() == frame["close"].tolist() and abc["adj_close"].isna().all()
    assert xyz["adj_close"].tolist() == (frame["close"] / 2).tolist()


def test_single_zone_timestamps_keep_their_local_date():
    frame = pd.DataFrame({"timestamp": ["2013-01-02T00:00:00-05:00", "2013-01-03T00:00:00-05:00"],
                          "open": [1, 1], "high": [2, 2], "low": [0.5, 0.5], "close": [1.5, 1.5], "volume": [10, 10]})
    out = standardize_bars(frame, "AAA")
    assert out["date"].tolist() == [pd.Timestamp("2013-01-02"), pd.Timestamp("2013-01-03")]


def test_bad_rows_pass_through_untouched_in_source_order(tmp_path):
    text = ("date,open,high,low,close,volume\n2013-01-03,1,2,0.5,,10\n2013-01-02,0,2,0.5,1.5,10\n"
            "2013-01-04,-1,2,0.5,1.5,10\n2013-01-04,1,0.4,0.5,1.5,10\n")
    write_bar_files(tmp_path, {"AAA": text})
    out = make_source("folder", folder=str(tmp_path)).load("AAA")
    assert len(out) == 4
    assert out["source_row"].tolist() == [1, 0, 2, 3]  # sorted by date, original positions kept
    assert np.isnan(out.loc[out["source_row"] == 0, "close"]).all()
    assert out.loc[out["source_row"] == 2, "open"].item() == -1


@pytest.fixture
def offline_yahoo(monkeypatch, tmp_path):
    """Replace yfinance's HTTP request with the fixture and make any real connection fail."""
    import yfinance as yf
    from yfinance.data import YfData

    payload = (FIXTURES / "yahoo_chart_AAPL_2013-01.json").read_text()
    requests = []

    class Response:
        status_code = 200
        text = payload
        url = "https://query2.finance.yahoo.com/v8/finance/chart/AAPL"

        def json(self):
            return json.loads(payload)

    def fake_request(self, url, request_method, body=None, params=None, timeout=30, data=None):
        requests.append((url, params))
        return Response()

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    yf.set_tz_cache_location(str(tmp_path / "tz"))
    monkeypatch.setattr(YfData, "_make_request", fake_request)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    return requests


def test_yahoo_source_parses_a_chart_response_through_yfinance(offline_yahoo):
    bars = YahooSource(["aapl"]).load("AAPL", dt.date(2013, 1, 2), dt.date(2013, 1, 31))
    assert offline_yahoo and all("v8/finance/chart/AAPL" in url for url, _ in offline_yahoo)
    assert len(bars) == 21  # end is inclusive: January 31 is there
    first, last = bars.iloc[0], bars.iloc[-1]
    assert (first["date"], first["open"], first["close"], first["volume"]) == (pd.Timestamp("2013-01-02"), 553.82, 549.03, 20018500.0)
    assert (last["date"], last["close"]) == (pd.Timestamp("2013-01-31"), 455.49)
    assert last["adj_close"] == pytest.approx(59.065900168086)


def test_synthetic_market_is_seeded_consistent_and_on_sessions_only():
    a = SyntheticSource(n_tickers=3, seed=1, start="2010-01-04", end="2012-12-31")
    b = SyntheticSource(n_tickers=3, seed=1, start="2010-01-04", end="2012-12-31")
    c = SyntheticSource(n_tickers=3, seed=2, start="2010-01-04", end="2012-12-31")
    x = a.load("SYN001")
    pd.testing.assert_frame_equal(x, b.load("SYN001"))
    assert not np.allclose(x["close"], c.load("SYN001")["close"])
    assert (x["low"] <= x[["open", "close"]].min(axis=1)).all() and (x["high"] >= x[["open", "close"]].max(axis=1)).all()
    assert (x["volume"] > 0).all()
    assert set(x["date"]) == set(trading_sessions("XNYS", "2010-01-04", "2012-12-31"))


def test_synthetic_ar1_signal_is_recovered():
    bars = SyntheticSource(n_tickers=1, seed=3, start="1995-01-03", end="2020-12-31", ar1=0.2).load("SYN000")
    r = np.diff(np.log(bars["close"].to_numpy()))
    estimate = np.corrcoef(r[1:], r[:-1])[0, 1]
    assert abs(estimate - 0.2) < 0.05


def test_synthetic_regime_shift_raises_volatility_after_the_date():
    bars = SyntheticSource(n_tickers=1, seed=4, start="2000-01-03", end="2010-12-31", regime_shift="2005-01-03",
                           shift_vol=2.0).load("SYN000")
    r = pd.Series(np.log(bars["close"]).diff().to_numpy(), index=bars["date"])
    assert r["2005-01-03":].std() > 1.6 * r[:"2004-12-31"].std()


def test_unknown_source_kind_is_an_error():
    with pytest.raises(BarDataError, match="source_kind"):
        make_source("bloomberg")
