"""Bar sources: the embedded default, a folder of files, Yahoo Finance and a synthetic market."""

from __future__ import annotations

from collections.abc import Sequence

from financial_assets.errors import BarDataError
from financial_assets.sources.base import BarSource, standardize_bars
from financial_assets.sources.embedded import EmbeddedSource
from financial_assets.sources.folder import FolderSource
from financial_assets.sources.synthetic import SyntheticSource
from financial_assets.sources.yahoo import YahooSource

__all__ = ["BarSource", "standardize_bars", "make_source", "EmbeddedSource", "FolderSource", "SyntheticSource", "YahooSource"]


def make_source(kind: str, *, folder: str = "", tickers: Sequence[str] = (), seed: int = 7, n_synthetic: int = 20,
                calendar_code: str = "XNYS", start: str = "2000-03-01") -> BarSource:
    """The source named `kind` (embedded | folder | yfinance | synthetic)."""
    if kind == "embedded":
        return EmbeddedSource()
    if kind == "folder":
        return FolderSource(folder)
    if kind == "yfinance":
        return YahooSource(list(tickers))
    if kind == "synthetic":
        return SyntheticSource(n_tickers=n_synthetic, seed=seed, calendar_code=calendar_code, start=start)
    raise BarDataError("source_kind", f"unknown source {kind!r}: use embedded, folder, yfinance or synthetic")
