"""A folder of user files, one per ticker: `<TICKER>.csv` or `<TICKER>.parquet` (extension in any case).

Daily or intraday bars: intraday files are aggregated to daily bars by the calendar's sessions, or
refused (`intraday="refuse"`); see `financial_assets.sources.intraday`.

No path is ever built from a ticker: `load` compares the requested (already normalized, so safe)
ticker with the names the folder lists, which also rules out traversal such as `../x`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker
from financial_assets.sources.base import StandardizedBars, standardize
from financial_assets.sources.intraday import check_intraday_mode

SUFFIXES = (".csv", ".parquet")


def _bar_files(folder: Path | None) -> list[Path]:
    """The folder's `.csv`/`.parquet` files (hidden files such as `._AAPL.csv` are OS metadata, skipped)."""
    if folder is None or not folder.is_dir():
        raise BarDataError("source_folder_exists", f"no such folder {str(folder or '')!r} (set FA_SOURCE_DIR)")
    return [p for p in sorted(folder.iterdir())
            if p.suffix.lower() in SUFFIXES and not p.name.startswith(".") and p.is_file()]


def _read(path: Path, ticker: str) -> pd.DataFrame:
    """The file's table as read: CSV cells as text (standardize_bars converts them), Parquet as stored."""
    if path.stat().st_size == 0:
        raise BarDataError("non_empty", f"{path.name} is empty (0 bytes)", ticker=ticker)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, na_filter=False, encoding="utf-8-sig", skipinitialspace=True)
    except pd.errors.EmptyDataError as err:
        raise BarDataError("non_empty", f"{path.name} has no header and no rows", ticker=ticker) from err
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
        raise BarDataError("readable_file", f"{path.name} cannot be read: {err}", ticker=ticker) from err


class FolderSource:
    """Bars the user brings: the file name is the ticker; header case and column order are free.

    `calendar_code` gives the sessions intraday files are aggregated by; `intraday` is "aggregate" or "refuse".
    """

    name = "folder"

    def __init__(self, folder: str | Path, calendar_code: str = "XNYS", intraday: str = "aggregate"):
        # an empty setting must not silently mean the working directory (Path("") is ".")
        self.folder = Path(folder) if str(folder).strip() else None
        self.calendar_code = calendar_code
        self.intraday = check_intraday_mode(intraday)

    def scan(self) -> tuple[list[str], list[BarDataError]]:
        """Tickers named by the folder's files, and one error per file whose name is not a safe ticker.

        A badly named file cannot become a partition, so it is reported and the other files go on. Two
        files for one ticker (`ABC.csv` beside `abc.parquet`) keep the ticker listed: loading it then
        fails with an error naming both files, for that ticker alone.
        """
        found: set[str] = set()
        unusable: list[BarDataError] = []
        for path in _bar_files(self.folder):
            try:
                found.add(normalize_ticker(path.stem))
            except BarDataError:
                unusable.append(BarDataError("ticker_safe_identifier", f"file {path.name!r} in {self.folder} is not "
                                             "named by a safe ticker (letters, digits and . - = ^ _, at most 32): "
                                             "rename it to <TICKER>.csv or <TICKER>.parquet", ticker=path.stem))
        return sorted(found), unusable

    def tickers(self) -> list[str]:
        """Tickers named by the folder's files (badly named files are left out: see `scan`)."""
        return self.scan()[0]

    def path_of(self, ticker: str) -> Path:
        """The one file holding `ticker`'s bars."""
        ticker = normalize_ticker(ticker)
        matches = [p for p in _bar_files(self.folder) if p.stem.strip().upper() == ticker]
        if not matches:
            raise BarDataError("file_exists", f"no {ticker}.csv or {ticker}.parquet in {self.folder}", ticker=ticker)
        if len(matches) > 1:
            raise BarDataError("unique_ticker_file", f"{[p.name for p in matches]} all hold {ticker} in {self.folder}",
                               ticker=ticker)
        return matches[0]

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        """Daily bars (RAW_COLUMNS); `load_standardized` also gives the intraday rows and outside-session records."""
        return self.load_standardized(ticker, start, end).daily

    def load_standardized(self, ticker: str, start: dt.date | None = None,
                          end: dt.date | None = None) -> StandardizedBars:
        """Daily bars, the intraday rows they were built from and the intraday bars in no session, start to end."""
        ticker = normalize_ticker(ticker)
        path = self.path_of(ticker)
        bars = standardize(_read(path, ticker), ticker, calendar=self.calendar_code, intraday=self.intraday,
                           file=path.name)
        return bars.between(start, end)
