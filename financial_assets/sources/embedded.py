"""The embedded default: real daily bars shipped inside the bokeh-sampledata package (public domain)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd

from financial_assets.errors import BarDataError
from financial_assets.sources.base import between, standardize_bars

TICKERS = ("AAPL", "FB", "GOOG", "IBM", "MSFT")


@lru_cache(maxsize=len(TICKERS))
def _bars(ticker: str) -> pd.DataFrame:
    from bokeh_sampledata import stocks

    return standardize_bars(pd.DataFrame(getattr(stocks, ticker)), ticker)


class EmbeddedSource:
    """AAPL, FB, GOOG, IBM, MSFT, 2000-2013: unadjusted OHLCV with real splits, plus the adjusted close."""

    name = "embedded"

    def tickers(self) -> list[str]:
        return list(TICKERS)

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        if ticker not in TICKERS:
            raise BarDataError("file_exists", f"the embedded data has only {', '.join(TICKERS)}", ticker=ticker)
        return between(_bars(ticker), start, end)
