"""Yahoo Finance through yfinance: the real download path (tests replay a response, never the network)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from financial_assets.errors import BarDataError
from financial_assets.sources.base import between, standardize_bars
from financial_assets.tickers import normalize_ticker

DEFAULT_START = dt.date(2000, 1, 1)


class YahooSource:
    """Daily bars of the configured tickers from Yahoo Finance, unadjusted, with the adjusted close."""

    name = "yfinance"

    def __init__(self, tickers: list[str] | tuple[str, ...]):
        self._tickers = [normalize_ticker(t) for t in tickers]

    def tickers(self) -> list[str]:
        return list(self._tickers)

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        import yfinance as yf

        ticker = normalize_ticker(ticker)
        # yfinance's end is exclusive: ask for one more day so `end` is included
        last = (end or dt.date.today()) + dt.timedelta(days=1)
        history = yf.Ticker(ticker).history(start=(start or DEFAULT_START).isoformat(), end=last.isoformat(),
                                            interval="1d", auto_adjust=False, actions=False, raise_errors=True)
        if history is None or history.empty:
            raise BarDataError("non_empty", "Yahoo Finance returned no bars", ticker=ticker)
        return between(standardize_bars(history.reset_index(), ticker), start, end)
