"""Bar sources: the embedded default, a folder of files, Yahoo Finance and a synthetic market.

Every source returns the canonical raw frame of `financial_assets.core.bars.RAW_COLUMNS`; folder, Yahoo
and embedded bars all pass through `standardize_bars`. Plain Python: nothing here imports Dagster.
"""

from __future__ import annotations

from collections.abc import Sequence

from financial_assets.core.errors import BarDataError
from financial_assets.sources.base import BarSource, empty_bars, standardize_bars
from financial_assets.sources.embedded import EmbeddedSource
from financial_assets.sources.folder import FolderSource
from financial_assets.sources.synthetic import SyntheticSource
from financial_assets.sources.yahoo import YahooSource

__all__ = ["BarSource", "EmbeddedSource", "FolderSource", "SyntheticSource", "YahooSource", "empty_bars",
           "make_source", "standardize_bars", "KINDS"]

#: accepted values of `kind` (FA_SOURCE)
KINDS = ("embedded", "folder", "yfinance", "synthetic")


def make_source(kind: str, *, folder: str = "", tickers: Sequence[str] = (), seed: int = 7, n_synthetic: int = 20,
                calendar_code: str = "XNYS", start: str = "2000-03-01") -> BarSource:
    """The source named `kind`: embedded | folder | yfinance (alias yahoo) | synthetic.

    `folder` is for folder, `tickers` for yfinance (embedded, folder and synthetic list their own),
    `seed`, `n_synthetic`, `calendar_code` and `start` for synthetic.
    """
    name = str(kind).strip().lower()
    if name == "embedded":
        return EmbeddedSource()
    if name == "folder":
        return FolderSource(folder)
    if name in ("yfinance", "yahoo"):
        if not [t for t in tickers if str(t).strip()]:
            raise BarDataError("source_tickers", "the yfinance source needs tickers: set FA_TICKERS, e.g. AAPL,MSFT")
        return YahooSource([t for t in tickers if str(t).strip()])
    if name == "synthetic":
        return SyntheticSource(n_tickers=n_synthetic, seed=seed, calendar_code=calendar_code, start=start)
    raise BarDataError("source_kind", f"unknown source {kind!r}: use {', '.join(KINDS)}")
