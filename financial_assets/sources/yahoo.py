"""Yahoo Finance through `yfinance`: the real download path (tests replay a chart-API response offline).

Bars are unadjusted (`auto_adjust=False`) with Yahoo's adjusted close beside them, indexed by the
exchange's local date. yfinance's `end` is exclusive; `load`'s is inclusive, so one day is added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker
from financial_assets.sources.base import between, empty_bars, standardize_bars

#: first day asked for when `load` gets no start
DEFAULT_START = dt.date(1990, 1, 1)


@contextmanager
def _yfinance_raises() -> Iterator[None]:
    """Make yfinance raise its errors instead of logging them and returning an empty frame."""
    import yfinance as yf

    previous = yf.config.debug.hide_exceptions
    yf.config.debug.hide_exceptions = False
    try:
        yield
    finally:
        yf.config.debug.hide_exceptions = previous


def download_history(ticker: str, start: dt.date, end_exclusive: dt.date) -> pd.DataFrame:
    """yfinance's daily history of `ticker` in [start, end_exclusive): Open..Volume, Adj Close; empty if none."""
    import yfinance as yf
    from yfinance.exceptions import YFPricesMissingError

    try:
        with _yfinance_raises():
            return yf.Ticker(ticker).history(start=start.isoformat(), end=end_exclusive.isoformat(), interval="1d",
                                             auto_adjust=False, actions=False)
    except YFPricesMissingError:
        return pd.DataFrame()  # the ticker exists but has no bars in the window
    except Exception as err:  # network, HTTP, rate limit, unknown ticker: all end the load, named
        raise BarDataError("source_download", f"Yahoo Finance: {type(err).__name__}: {err}", ticker=ticker) from err


class YahooSource:
    """Daily bars of the configured tickers from Yahoo Finance."""

    name = "yfinance"

    def __init__(self, tickers: Sequence[str]):
        self._tickers = sorted({normalize_ticker(t) for t in tickers})

    def tickers(self) -> list[str]:
        """The configured tickers, normalized and sorted."""
        return list(self._tickers)

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        """The ticker's daily bars from `start` to `end`, downloaded from Yahoo Finance."""
        ticker = normalize_ticker(ticker)
        first, last = start or DEFAULT_START, end or dt.date.today()
        if last < first:
            return empty_bars()
        history = download_history(ticker, first, last + dt.timedelta(days=1))
        if history is None or history.empty:
            return empty_bars()
        return between(standardize_bars(history, ticker), start, end)
