"""Bar sources: the embedded default, a folder of files, Yahoo Finance and a synthetic market.

Every source returns the canonical raw frame of `financial_assets.core.bars.RAW_COLUMNS`; folder, Yahoo
and embedded bars all pass through `standardize_bars` or `standardize` (which also aggregates intraday
files, see `intraday`). Plain Python: nothing here imports Dagster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from financial_assets.core.errors import BarDataError
from financial_assets.sources.base import BarSource, StandardizedBars, empty_bars, standardize, standardize_bars
from financial_assets.sources.embedded import EmbeddedSource
from financial_assets.sources.folder import FolderSource
from financial_assets.sources.intraday import (
    INTRADAY_COLUMNS,
    INTRADAY_MODES,
    OUTSIDE_SESSION_COLUMNS,
    empty_intraday,
    empty_outside_session,
)
from financial_assets.sources.synthetic import SyntheticSource
from financial_assets.sources.yahoo import YahooSource

__all__ = ["BarSource", "EmbeddedSource", "FolderSource", "StandardizedBars", "SyntheticSource", "YahooSource",
           "empty_bars", "load_standardized", "make_source", "unusable_inputs", "standardize", "standardize_bars",
           "INTRADAY_COLUMNS", "INTRADAY_MODES", "KINDS", "OUTSIDE_SESSION_COLUMNS"]

#: accepted values of `kind` (FA_SOURCE)
KINDS = ("embedded", "folder", "yfinance", "synthetic")


def make_source(kind: str, *, folder: str = "", tickers: Sequence[str] = (), seed: int = 7, n_synthetic: int = 20,
                calendar_code: str = "XNYS", start: str = "2000-03-01", intraday: str = "aggregate") -> BarSource:
    """The source named `kind`: embedded | folder | yfinance (alias yahoo) | synthetic.

    `folder` and `intraday` (aggregate | refuse intraday files) are for folder, `tickers` for yfinance
    (embedded, folder and synthetic list their own), `calendar_code` for folder and synthetic, `seed`,
    `n_synthetic` and `start` for synthetic.
    """
    name = str(kind).strip().lower()
    if name == "embedded":
        return EmbeddedSource()
    if name == "folder":
        return FolderSource(folder, calendar_code=calendar_code, intraday=intraday)
    if name in ("yfinance", "yahoo"):
        if not [t for t in tickers if str(t).strip()]:
            raise BarDataError("source_tickers", "the yfinance source needs tickers: set FA_TICKERS, e.g. AAPL,MSFT")
        return YahooSource([t for t in tickers if str(t).strip()])
    if name == "synthetic":
        return SyntheticSource(n_tickers=n_synthetic, seed=seed, calendar_code=calendar_code, start=start)
    raise BarDataError("source_kind", f"unknown source {kind!r}: use {', '.join(KINDS)}")


def load_standardized(source: BarSource, ticker: str, start: dt.date | None = None,
                      end: dt.date | None = None) -> StandardizedBars:
    """Daily bars with the intraday rows they came from, for any source (daily-only sources have none)."""
    if isinstance(source, FolderSource):
        return source.load_standardized(ticker, start, end)
    return StandardizedBars(source.load(ticker, start, end), empty_intraday(), empty_outside_session())


def unusable_inputs(source: BarSource) -> list[BarDataError]:
    """Inputs the source offers that cannot become a ticker (a badly named file), one error each."""
    return source.scan()[1] if isinstance(source, FolderSource) else []
