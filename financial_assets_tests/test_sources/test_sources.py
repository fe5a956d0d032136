"""The source contract: `make_source`, the BarSource protocol, canonical frames, and no Dagster import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.sources import (
    BarSource,
    EmbeddedSource,
    FolderSource,
    SyntheticSource,
    YahooSource,
    empty_bars,
    make_source,
)
from financial_assets_tests.conftest import clean_bars, write_bar_files

DTYPES = {"ticker": "object", "date": "datetime64[ns]", "open": "float64", "high": "float64", "low": "float64",
          "close": "float64", "volume": "float64", "adj_close": "float64", "source_row": "int64"}


def test_make_source_builds_each_kind(tmp_path):
    assert isinstance(make_source("embedded"), EmbeddedSource)
    assert isinstance(make_source(" Folder ", folder=str(tmp_path)), FolderSource)
    assert isinstance(make_source("yfinance", tickers=["AAPL"]), YahooSource)
    assert isinstance(make_source("yahoo", tickers=["AAPL"]), YahooSource)
    synthetic = make_source("synthetic", seed=3, n_synthetic=2, calendar_code="XNYS", start="2013-01-02")
    assert isinstance(synthetic, SyntheticSource) and synthetic.tickers() == ["SYN000", "SYN001"]
    assert synthetic.sessions[0].date().isoformat() == "2013-01-02"


def test_an_unknown_kind_is_an_error():
    with pytest.raises(BarDataError, match=r"\[source_kind\].*'bloomberg'"):
        make_source("bloomberg")


def test_every_source_meets_the_protocol_and_returns_canonical_frames(tmp_path):
    write_bar_files(tmp_path, {"ACME": clean_bars(["2013-01-03", "2013-01-02"])})
    sources = [make_source("embedded"), make_source("folder", folder=str(tmp_path)),
               SyntheticSource(n_tickers=1, seed=1, start="2013-01-02", end="2013-01-31"), YahooSource(["AAPL"])]
    for source in sources:
        assert isinstance(source, BarSource) and source.name in ("embedded", "folder", "synthetic", "yfinance")
    for source in sources[:3]:
        bars = source.load(source.tickers()[0])
        assert {c: str(t) for c, t in bars.dtypes.items()} == DTYPES
        assert bars["date"].is_monotonic_increasing and isinstance(bars.index.start, int | np.integer)
    empty = empty_bars()
    assert {c: str(t) for c, t in empty.dtypes.items()} == DTYPES and list(empty.columns) == list(RAW_COLUMNS)


def test_the_sources_package_does_not_import_dagster():
    code = ("import sys, financial_assets.sources as s; s.make_source('embedded').load('IBM'); "
            "assert 'dagster' not in sys.modules, 'dagster imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
