"""The embedded default: real daily bars shipped inside the `bokeh-sampledata` package (public domain).

AAPL, IBM, MSFT 2000-03-01..2013-03-01, GOOG from 2004-08-19, FB from 2012-05-18: unadjusted OHLCV
with the real splits left in (AAPL 2000-06-21 and 2005-02-28, MSFT 2003-02-18), plus Yahoo's
adjusted close. No network is needed.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker
from financial_assets.sources.base import between, standardize_bars

TICKERS = ("AAPL", "FB", "GOOG", "IBM", "MSFT")
#: the last session the package holds (every ticker ends here)
LAST_SESSION = "2013-03-01"


@lru_cache(maxsize=len(TICKERS))
def _bars(ticker: str) -> pd.DataFrame:
    from bokeh_sampledata import stocks  # imported late: reads five gzip files

    return standardize_bars(pd.DataFrame(getattr(stocks, ticker)), ticker)


class EmbeddedSource:
    """Five real tickers from `bokeh_sampledata.stocks`, through the same `standardize_bars` as user files."""

    name = "embedded"
    #: the market ticker of the cross-asset features: the oldest, steadiest large cap of the five
    default_benchmark = "IBM"

    def tickers(self) -> list[str]:
        """The five embedded tickers."""
        return list(TICKERS)

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        """The ticker's embedded bars from `start` to `end`; a ticker not embedded is a BarDataError."""
        ticker = normalize_ticker(ticker)
        if ticker not in TICKERS:
            raise BarDataError("ticker_in_source", f"the embedded data has only {', '.join(TICKERS)}", ticker=ticker)
        return between(_bars(ticker), start, end)  # `between` copies: the cached frame stays untouched
