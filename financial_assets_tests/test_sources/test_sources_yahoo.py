"""YahooSource through the real yfinance code, replayed offline at the HTTP layer.

The fixture `fixtures/yahoo_chart_AAPL_2013-01.json` is a v8 chart-API response CONSTRUCTED in
Yahoo's format from the real AAPL bars of January 2013 (see fixtures/README.md); it was not
recorded, because these machines have no network. The mock replaces `Session.request` of the HTTP
backends (curl_cffi, and requests for yfinance's fallback) with a small fake Yahoo that answers the
cookie, crumb and chart URLs and, like Yahoo, returns only bars with period1 <= timestamp < period2.
Everything above that line runs for real: yfinance's cookie/crumb handshake, time-zone lookup,
chart parsing and time-zone handling, then `standardize_bars`. A guard makes any real connection
(libcurl's perform, a socket connect or a DNS lookup) raise, and a test proves the guard bites.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from urllib.parse import urlsplit

import pandas as pd
import pytest

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.sources import YahooSource, make_source
from financial_assets_tests.paths import FIXTURES

FIXTURE = FIXTURES / "yahoo_chart_AAPL_2013-01.json"
NEW_YORK = "America/New_York"


class NetworkBlocked(RuntimeError):
    """A test tried to reach the network."""


def _blocked(*args, **kwargs):
    raise NetworkBlocked("a test tried to open a network connection")


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Any real connection raises; yfinance's caches live in tmp_path and its in-memory GET cache starts empty."""
    import curl_cffi
    import yfinance as yf
    from yfinance.cache import _TzDBManager
    from yfinance.data import YfData

    monkeypatch.setattr(curl_cffi.Curl, "perform", _blocked)
    monkeypatch.setattr(socket.socket, "connect", _blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked)
    monkeypatch.setattr(socket, "getaddrinfo", _blocked)
    previous = _TzDBManager.get_location()
    yf.set_tz_cache_location(str(tmp_path / "yf-cache"))  # time zones and cookies
    YfData.cache_get.cache_clear()
    yield
    YfData.cache_get.cache_clear()
    yf.set_tz_cache_location(previous)


class FakeYahoo:
    """Answers yfinance's GETs the way query*.finance.yahoo.com does, from recorded-format chart JSON."""

    def __init__(self, charts: dict[str, dict]):
        self.charts = charts
        self.requests: list[tuple[str, dict]] = []

    def _response(self, url: str, status: int, body: str | bytes):
        from curl_cffi.requests import Response

        response = Response()
        response.url, response.status_code = url, status
        response.ok, response.reason = status < 400, "OK" if status < 400 else "Not Found"
        response.content = body.encode() if isinstance(body, str) else body
        response.headers["content-type"] = "application/json;charset=utf-8"
        return response

    def chart(self, symbol: str, params: dict) -> tuple[int, dict]:
        if symbol not in self.charts:
            error = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
            return 404, {"chart": {"result": None, "error": error}}
        result = json.loads(json.dumps(self.charts[symbol]["chart"]["result"][0]))
        stamps = result.pop("timestamp")
        if "period1" in params:  # Yahoo: bars whose session starts in [period1, period2)
            keep = [int(params["period1"]) <= s < int(params["period2"]) for s in stamps]
        else:  # range=1d, as yfinance's time-zone lookup asks: the last bar
            keep = [i == len(stamps) - 1 for i in range(len(stamps))]
            result["meta"]["range"] = params.get("range", "")
        quote, adjclose = result["indicators"]["quote"][0], result["indicators"]["adjclose"][0]
        if any(keep):
            result["timestamp"] = [s for s, k in zip(stamps, keep, strict=True) if k]
            for series in (quote, adjclose):
                for name, values in series.items():
                    series[name] = [v for v, k in zip(values, keep, strict=True) if k]
        else:
            result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return 200, {"chart": {"result": [result], "error": None}}

    def request(self, session, method, url, params=None, **kwargs):
        self.requests.append((url, dict(params or {})))
        parts = urlsplit(url)
        if parts.hostname == "fc.yahoo.com":
            return self._response(url, 404, "")  # the real one answers 404 too; its cookie is optional
        if parts.path == "/v1/test/getcrumb":
            return self._response(url, 200, "OfflineCrumb")
        if parts.path.startswith("/v8/finance/chart/"):
            status, body = self.chart(parts.path.rsplit("/", 1)[-1], dict(params or {}))
            return self._response(url, status, json.dumps(body))
        body = {"finance": {"result": None, "error": {"code": "Not Found", "description": "offline test"}}}
        return self._response(url, 404, json.dumps(body))


@pytest.fixture
def yahoo(no_network, monkeypatch) -> FakeYahoo:
    """The fake Yahoo behind both of yfinance's HTTP backends."""
    import curl_cffi.requests
    import requests

    fake = FakeYahoo({"AAPL": json.loads(FIXTURE.read_text())})

    def request(session, method, url, *args, **kwargs):
        return fake.request(session, method, url, **kwargs)

    monkeypatch.setattr(curl_cffi.requests.Session, "request", request)
    monkeypatch.setattr(requests.Session, "request", request)
    return fake


def _chart_requests(fake: FakeYahoo, symbol: str = "AAPL") -> list[dict]:
    return [params for url, params in fake.requests
            if url.endswith(f"/v8/finance/chart/{symbol}") and "period1" in params]


def _new_york_midnight(day: str) -> int:
    return int(pd.Timestamp(day).tz_localize(NEW_YORK).timestamp())


def test_the_fixture_is_parsed_by_yfinance_into_canonical_bars(yahoo):
    bars = YahooSource(["aapl"]).load("AAPL", dt.date(2013, 1, 2), dt.date(2013, 1, 31))
    assert list(bars.columns) == list(RAW_COLUMNS) and len(bars) == 21
    assert str(bars["date"].dtype) == "datetime64[ns]" and bars["source_row"].tolist() == list(range(21))
    first, last = bars.iloc[0], bars.iloc[-1]
    assert first["date"] == pd.Timestamp("2013-01-02") and first["ticker"] == "AAPL"
    ohlc = [first[c] for c in ("open", "high", "low", "close")]
    assert ohlc == pytest.approx([553.82, 555.0, 541.63, 549.03], abs=1e-4)
    assert first["volume"] == 20018500.0
    assert last["date"] == pd.Timestamp("2013-01-31") and last["close"] == pytest.approx(455.49, abs=1e-4)
    assert last["adj_close"] == pytest.approx(59.0659, abs=1e-4)
    assert _chart_requests(yahoo), "the bars did not come through the fake Yahoo"
    hosts = {urlsplit(url).hostname for url, _ in yahoo.requests}
    assert hosts <= {"fc.yahoo.com", "query1.finance.yahoo.com", "query2.finance.yahoo.com"}


def test_end_is_inclusive_although_yahoo_excludes_period2(yahoo):
    bars = YahooSource(["AAPL"]).load("AAPL", dt.date(2013, 1, 10), dt.date(2013, 1, 15))
    assert bars["date"].dt.strftime("%m-%d").tolist() == ["01-10", "01-11", "01-14", "01-15"]
    (params,) = _chart_requests(yahoo)
    # period2 is the day after `end`: Yahoo would have left the 15th out otherwise
    assert params["period1"] == _new_york_midnight("2013-01-10")
    assert params["period2"] == _new_york_midnight("2013-01-16")
    assert params["interval"] == "1d"


def test_a_window_without_sessions_is_empty_not_an_error(yahoo):
    bars = YahooSource(["AAPL"]).load("AAPL", dt.date(2013, 1, 5), dt.date(2013, 1, 6))  # a weekend
    assert bars.empty and list(bars.columns) == list(RAW_COLUMNS)


def test_an_unknown_symbol_is_a_named_download_error(yahoo):
    with pytest.raises(BarDataError) as caught:
        YahooSource(["NOPE"]).load("NOPE", dt.date(2013, 1, 2), dt.date(2013, 1, 31))
    assert (caught.value.rule, caught.value.ticker) == ("source_download", "NOPE")


def test_the_guard_blocks_real_connections(no_network):
    """Without the fake Yahoo, yfinance reaches libcurl, the guard raises, and the load fails by name."""
    with pytest.raises(BarDataError) as caught:
        YahooSource(["AAPL"]).load("AAPL", dt.date(2013, 1, 2), dt.date(2013, 1, 31))
    assert caught.value.rule == "source_download"
    chain, err = [], caught.value
    while err is not None:
        chain.append(type(err))
        err = err.__cause__ or err.__context__
    assert NetworkBlocked in chain
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))


def test_tickers_are_normalized_and_checked():
    assert YahooSource(["msft", " aapl "]).tickers() == ["AAPL", "MSFT"]
    assert make_source("yfinance", tickers=["ibm", ""]).tickers() == ["IBM"]
    with pytest.raises(BarDataError, match=r"\[ticker_safe_identifier\]"):
        YahooSource(["AA'PL"])
    with pytest.raises(BarDataError, match=r"\[source_tickers\]"):
        make_source("yfinance", tickers=[])


def test_yfinance_error_setting_is_restored(yahoo):
    import yfinance as yf

    before = yf.config.debug.hide_exceptions
    YahooSource(["AAPL"]).load("AAPL", dt.date(2013, 1, 2), dt.date(2013, 1, 3))
    with pytest.raises(BarDataError):
        YahooSource(["NOPE"]).load("NOPE", dt.date(2013, 1, 2), dt.date(2013, 1, 3))
    assert yf.config.debug.hide_exceptions == before
