"""A folder of user files, one per ticker: <TICKER>.csv or <TICKER>.parquet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from financial_assets.errors import BarDataError
from financial_assets.sources.base import between, standardize_bars
from financial_assets.tickers import normalize_ticker

SUFFIXES = (".csv", ".parquet")


class FolderSource:
    """Bars the user brings: the file name is the ticker, header case is ignored."""

    name = "folder"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _files(self) -> dict[str, Path]:
        if not str(self.folder) or not self.folder.is_dir():
            raise BarDataError("source_folder_exists", f"no such folder {str(self.folder)!r} (set FA_SOURCE_DIR)")
        files = {}
        for path in sorted(self.folder.iterdir()):
            if path.suffix.lower() in SUFFIXES:
                files[normalize_ticker(path.stem)] = path
        return files

    def tickers(self) -> list[str]:
        return sorted(self._files())

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        ticker = normalize_ticker(ticker)
        path = self._files().get(ticker)
        if path is None:
            raise BarDataError("file_exists", f"no {ticker}.csv or {ticker}.parquet in {self.folder}", ticker=ticker)
        if path.stat().st_size == 0:
            raise BarDataError("non_empty", f"{path.name} is empty", ticker=ticker)
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        return between(standardize_bars(frame, ticker), start, end)
