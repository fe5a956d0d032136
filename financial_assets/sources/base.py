"""The source protocol and `standardize_bars`, the one function that turns any table into canonical raw bars.

File-level problems (no rows, missing columns, text in a price column, unparseable, mixed-zone or
future dates, an unsafe ticker) raise `BarDataError` naming the rule, the ticker and, where a row is
involved, its date. Row-level problems (NaN, zero or negative prices, high < low, duplicate or
out-of-order dates) are never dropped or fixed here: they pass through with `source_row` so the
validation layer can quarantine each one with a reason.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker

#: canonical columns every input must have (after aliasing)
REQUIRED = ("date", "open", "high", "low", "close", "volume")
#: columns converted to float64; `adj_close` is optional and NaN when absent
NUMERIC = ("open", "high", "low", "close", "volume", "adj_close")
#: header spellings (lower-cased, trimmed, '_' and ' ' equivalent) that mean a canonical column
ALIASES = {"timestamp": "date", "datetime": "date", "adj close": "adj_close", "adjclose": "adj_close"}
#: cell texts that mean "no value" (compared lower-cased); they become NaN, never an error
NA_TOKENS = frozenset({"", "nan", "-nan", "na", "n/a", "#n/a", "null", "none", "nat"})

# a time of day followed by a UTC offset: "...T00:00:00-05:00", "... 16:00+0100", "...09:30Z"
_WITH_OFFSET = re.compile(r"^(?P<wall>.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)$",
                          re.IGNORECASE)
_EPOCH_UNITS = {10: "s", 13: "ms"}  # all-digit timestamps: seconds or milliseconds since 1970


@runtime_checkable
class BarSource(Protocol):
    """Where raw daily bars come from; `load` returns RAW_COLUMNS sorted by date."""

    name: str

    def tickers(self) -> list[str]: ...

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame: ...


def empty_bars() -> pd.DataFrame:
    """A raw bar frame with no rows and the canonical dtypes."""
    columns: dict[str, pd.Series] = {"ticker": pd.Series([], dtype=object),
                                     "date": pd.Series([], dtype="datetime64[ns]")}
    columns.update({c: pd.Series([], dtype="float64") for c in NUMERIC})
    columns["source_row"] = pd.Series([], dtype="int64")
    return pd.DataFrame(columns)[list(RAW_COLUMNS)]


def between(bars: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """Rows with start <= date <= end (both inclusive, either may be None), as a new frame."""
    keep = np.ones(len(bars), dtype=bool)
    if start is not None:
        keep &= (bars["date"] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (bars["date"] <= pd.Timestamp(end)).to_numpy()
    return bars.loc[keep].reset_index(drop=True)


def canonical_column(name: object) -> str:
    """The canonical name of a header: case, surrounding spaces and '_' vs ' ' ignored."""
    text = " ".join(str(name).strip().lower().replace("_", " ").split())
    return ALIASES.get(text, text.replace(" ", "_"))


def _columns(frame: pd.DataFrame, ticker: str) -> dict[str, object]:
    """Canonical name -> the frame's own column label; raise if a required one is missing or doubled."""
    found: dict[str, object] = {}
    for label in frame.columns:
        name = canonical_column(label)
        if name in found and name in (*REQUIRED, *NUMERIC):
            raise BarDataError("required_columns", f"columns {found[name]!r} and {label!r} both mean {name!r}",
                               ticker=ticker)
        found.setdefault(name, label)
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise BarDataError("required_columns", f"missing columns {missing}; found {[str(c) for c in frame.columns]} "
                           f"(need date or timestamp, open, high, low, close, volume; adj_close optional)",
                           ticker=ticker)
    return found


def _with_index_as_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Move a date index (yfinance's `Date`, a Parquet index) into a column."""
    names = [canonical_column(n) for n in frame.index.names if n is not None]
    if "date" in names and "date" not in {canonical_column(c) for c in frame.columns}:
        return frame.reset_index()
    return frame


def _offset_minutes(offset: str) -> int:
    if offset.upper() == "Z":
        return 0
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return -minutes if offset[0] == "-" else minutes


def _wall_clock_text(text: pd.Series, ticker: str) -> pd.Series:
    """Date texts without their UTC offsets, once the offsets are known to be one zone's.

    One zone may show two offsets a year apart (standard and daylight time, one hour apart), as
    yfinance exports do; anything else (UTC next to -05:00, offsets next to naive stamps) is refused.
    """
    parts = text.str.extract(_WITH_OFFSET)
    has_offset = parts["offset"].notna()
    if not has_offset.any():
        return text
    if not has_offset.all():
        row = int(np.flatnonzero(~has_offset.to_numpy())[0])
        raise BarDataError("single_timezone", f"row {row} ({text.iloc[row]!r}) has no UTC offset while others have one",
                           ticker=ticker, date=text.iloc[row])
    minutes = parts["offset"].map(_offset_minutes)
    offsets = sorted(minutes.unique())
    if len(offsets) > 2 or offsets[-1] - offsets[0] not in (0, 60):
        row = int(np.flatnonzero((minutes != minutes.iloc[0]).to_numpy())[0])
        raise BarDataError("single_timezone", f"timestamps mix UTC offsets {sorted(set(parts['offset']))[:4]}: "
                           f"{text.iloc[0]!r} and {text.iloc[row]!r}; use one time zone per file",
                           ticker=ticker, date=text.iloc[row])
    return parts["wall"]


def _parse_text_dates(text: pd.Series, ticker: str) -> pd.Series:
    digits = text.str.fullmatch(r"\d+")
    if digits.all() and text.str.len().nunique() == 1 and len(text.iloc[0]) in _EPOCH_UNITS:
        unit = _EPOCH_UNITS[len(text.iloc[0])]
        return pd.to_datetime(text.astype("int64"), unit=unit)  # epoch stamps are UTC: keep the UTC date
    wall = _wall_clock_text(text, ticker)
    parsed = pd.to_datetime(wall, format="ISO8601", errors="coerce")
    if parsed.isna().any():
        parsed = pd.to_datetime(wall, format="mixed", errors="coerce")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise BarDataError("parseable_dates", f"row {row}: {text.iloc[row]!r} is not a date", ticker=ticker,
                           date=text.iloc[row])
    return parsed


def _parse_dates(values: pd.Series, ticker: str) -> pd.Series:
    """Midnight datetime64[ns] of each row's local calendar date; raise on missing or mixed-zone dates."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)  # one zone by construction: keep the local wall clock
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        missing = text.isna() | (text == "")
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise BarDataError("parseable_dates", f"row {row} has no date", ticker=ticker)
        if pd.api.types.is_numeric_dtype(values.dtype):
            text = text.str.replace(r"\.0+$", "", regex=True)
        parsed = _parse_text_dates(text, ticker)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # python datetimes sharing one tzinfo
            parsed = parsed.dt.tz_localize(None)
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise BarDataError("parseable_dates", f"row {row} has no date", ticker=ticker)
    return parsed.dt.normalize().astype("datetime64[ns]").reset_index(drop=True)


def _numeric(raw: pd.Series, column: str, dates: pd.Series, ticker: str) -> pd.Series:
    """float64 values of one column; empty cells and NA tokens become NaN, any other text is an error."""
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("float64")
    text = raw.astype("string").str.strip()
    missing = text.isna() | text.str.lower().isin(NA_TOKENS)
    values = pd.to_numeric(text.where(~missing).astype(object), errors="coerce").astype("float64")
    bad = values.isna() & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise BarDataError("numeric_values", f"{column} in row {row} is {raw.iloc[row]!r}, not a number",
                           ticker=ticker, date=dates.iloc[row].date())
    return values.reset_index(drop=True)


def standardize_bars(frame: pd.DataFrame, ticker: str, *, today: dt.date | None = None) -> pd.DataFrame:
    """Canonical raw bars (exactly RAW_COLUMNS) from any table of daily bars.

    Accepts `date`/`timestamp`/`Datetime` and `open, high, low, close, volume` in any header case,
    optionally `adj_close` (`Adj Close`); a date index counts as a column. `source_row` is each row's
    position as given; the result is sorted by date (stable, duplicates kept).
    """
    ticker = normalize_ticker(ticker)
    frame = _with_index_as_column(frame)
    if len(frame) == 0:
        raise BarDataError("non_empty", f"the source has no rows (columns: {[str(c) for c in frame.columns]})",
                           ticker=ticker)
    columns = _columns(frame, ticker)
    dates = _parse_dates(frame[columns["date"]].reset_index(drop=True), ticker)
    out = pd.DataFrame({"ticker": ticker, "date": dates})
    for column in NUMERIC:
        if column in columns:
            out[column] = _numeric(frame[columns[column]], column, dates, ticker)
        else:
            out[column] = np.nan
    future = (dates > pd.Timestamp(today or dt.date.today())).to_numpy()
    if future.any():
        row = int(np.flatnonzero(future)[0])
        raise BarDataError("date_not_in_future", f"row {row} is dated after {today or dt.date.today()}",
                           ticker=ticker, date=dates.iloc[row].date())
    out["source_row"] = np.arange(len(out), dtype="int64")
    return out.sort_values("date", kind="stable").reset_index(drop=True)[list(RAW_COLUMNS)]
