"""The source protocol, `standardize` and `standardize_bars`: any table into canonical raw bars.

File-level problems (no rows, missing columns, text in a price column, unparseable, mixed-zone or
future dates, an unsafe ticker, intraday stamps where only daily bars are accepted) raise
`BarDataError` naming the rule, the ticker and, where a row is involved, its date. Row-level problems
(NaN, zero or negative prices, high < low, duplicate or out-of-order dates) are never dropped or fixed
here: they pass through with `source_row` so the validation layer can quarantine each one with a reason.
Prices are exactly Python's `float()` of the cell's text. Intraday tables (`financial_assets.sources.intraday`)
become daily bars by the calendar's sessions, with the raw intraday rows kept beside them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from financial_assets.core.bars import RAW_COLUMNS
from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import normalize_ticker
from financial_assets.sources.intraday import (
    aggregate_sessions,
    check_intraday_mode,
    empty_intraday,
    empty_outside_session,
    first_intraday_row,
    utc_instants,
)

#: canonical columns every input must have (after aliasing)
REQUIRED = ("date", "open", "high", "low", "close", "volume")
#: columns converted to float64; `adj_close` is optional and NaN when absent
NUMERIC = ("open", "high", "low", "close", "volume", "adj_close")
#: header spellings (lower-cased, trimmed, '_' and ' ' equivalent) that mean a canonical column
ALIASES = {"timestamp": "date", "datetime": "date", "adj close": "adj_close", "adjclose": "adj_close"}
#: cell texts that mean "no value" (compared lower-cased); they become NaN, never an error
NA_TOKENS = frozenset({"", "-", "nan", "-nan", "na", "n/a", "#n/a", "null", "none", "nat"})
#: what a number cell may hold (then read by `float()`): ASCII decimal, exponent, inf or infinity
_DECIMAL = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?)", re.IGNORECASE | re.ASCII)

# a time of day followed by a UTC offset: "...T00:00:00-05:00", "... 16:00+0100", "...09:30Z"
_WITH_OFFSET = re.compile(r"^(?P<wall>.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)$",
                          re.IGNORECASE)
_EPOCH_UNITS = {10: "s", 13: "ms"}  # all-digit timestamps: seconds or milliseconds since 1970


@runtime_checkable
class BarSource(Protocol):
    """Where raw daily bars come from; `load` returns RAW_COLUMNS sorted by date."""

    name: str

    def tickers(self) -> list[str]:
        """The tickers this source offers."""

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        """The ticker's bars from `start` to `end` (inclusive; None: unbounded)."""


def empty_bars() -> pd.DataFrame:
    """A raw bar frame with no rows and the canonical dtypes."""
    columns: dict[str, pd.Series] = {"ticker": pd.Series([], dtype=object),
                                     "date": pd.Series([], dtype="datetime64[ns]")}
    columns.update({c: pd.Series([], dtype="float64") for c in NUMERIC})
    columns["source_row"] = pd.Series([], dtype="int64")
    return pd.DataFrame(columns)[list(RAW_COLUMNS)]


def _within(dates: pd.Series, start: dt.date | None, end: dt.date | None) -> np.ndarray:
    """Mask of start <= date <= end (either may be None; NaT is never within)."""
    keep = np.ones(len(dates), dtype=bool)
    if start is not None:
        keep &= (dates >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (dates <= pd.Timestamp(end)).to_numpy()
    return keep


def between(bars: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """Rows with start <= date <= end (both inclusive, either may be None), as a new frame."""
    return bars.loc[_within(bars["date"], start, end)].reset_index(drop=True)


@dataclass(frozen=True)
class StandardizedBars:
    """One table, standardized: daily bars, the intraday rows they were built from, intraday bars in no session.

    `daily` has RAW_COLUMNS (what `standardize_bars` returns); `intraday` has `INTRADAY_COLUMNS`, values
    as given, sorted by timestamp (empty for a daily table); `outside_session` has
    `OUTSIDE_SESSION_COLUMNS`, one quarantine record per intraday bar that no session holds.
    """

    daily: pd.DataFrame
    intraday: pd.DataFrame
    outside_session: pd.DataFrame

    def between(self, start: dt.date | None, end: dt.date | None) -> StandardizedBars:
        """Sessions from start to end inclusive; bars in no session and their records by their local date."""
        outside = between(self.outside_session, start, end)
        rows = (_within(self.intraday["session"], start, end)
                | self.intraday["source_row"].isin(outside["source_row"]).to_numpy())
        return StandardizedBars(between(self.daily, start, end), self.intraday.loc[rows].reset_index(drop=True),
                                outside)


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


class _Stamps(NamedTuple):
    """Each row's wall-clock time in its own zone, and its UTC instant where the input says which."""

    wall: pd.Series  # datetime64[ns], naive
    utc: pd.Series | None  # datetime64[ns, UTC]; None for naive stamps (their zone is the calendar's)


def _aware(values: pd.Series) -> _Stamps:
    """Stamps of zone-aware datetimes (one zone by construction): their own wall clock and their UTC instant."""
    return _Stamps(values.dt.tz_localize(None), values.dt.tz_convert("UTC"))


def _split_offsets(text: pd.Series, ticker: str) -> tuple[pd.Series, pd.Series | None]:
    """Date texts without their UTC offsets, and the offsets in minutes (None if there are none).

    One zone may show two offsets a year apart (standard and daylight time, one hour apart), as
    yfinance exports do; anything else (UTC next to -05:00, offsets next to naive stamps) is refused.
    """
    parts = text.str.extract(_WITH_OFFSET)
    has_offset = parts["offset"].notna()
    if not has_offset.any():
        return text, None
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
    return parts["wall"], minutes


def _parse_text_dates(text: pd.Series, ticker: str) -> _Stamps:
    digits = text.str.fullmatch(r"\d+")
    if digits.all() and text.str.len().nunique() == 1 and len(text.iloc[0]) in _EPOCH_UNITS:
        unit = _EPOCH_UNITS[len(text.iloc[0])]
        utc = pd.to_datetime(text.astype("int64"), unit=unit, utc=True)
        return _Stamps(utc.dt.tz_localize(None), utc)  # epoch stamps are UTC: their wall clock is UTC's
    wall, minutes = _split_offsets(text, ticker)
    parsed = pd.to_datetime(wall, format="ISO8601", errors="coerce")
    if parsed.isna().any():
        parsed = pd.to_datetime(wall, format="mixed", errors="coerce")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise BarDataError("parseable_dates", f"row {row}: {text.iloc[row]!r} is not a date", ticker=ticker,
                           date=text.iloc[row])
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # python datetimes sharing one tzinfo
        return _aware(parsed)
    if minutes is None:
        return _Stamps(parsed, None)
    return _Stamps(parsed, (parsed - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC"))


def _parse_dates(values: pd.Series, ticker: str) -> _Stamps:
    """Each row's wall-clock time and, where known, UTC instant; raise on missing or mixed-zone dates."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        stamps = _aware(values)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        stamps = _Stamps(values, None)
    else:
        text = values.astype("string").str.strip()
        missing = text.isna() | (text == "")
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise BarDataError("parseable_dates", f"row {row} has no date", ticker=ticker)
        if pd.api.types.is_numeric_dtype(values.dtype):
            text = text.str.replace(r"\.0+$", "", regex=True)
        stamps = _parse_text_dates(text, ticker)
    if stamps.wall.isna().any():
        row = int(np.flatnonzero(stamps.wall.isna().to_numpy())[0])
        raise BarDataError("parseable_dates", f"row {row} has no date", ticker=ticker)
    return _Stamps(stamps.wall.astype("datetime64[ns]").reset_index(drop=True),
                   None if stamps.utc is None else stamps.utc.astype("datetime64[ns, UTC]").reset_index(drop=True))


def _numeric(raw: pd.Series, column: str, dates: pd.Series, ticker: str) -> pd.Series:
    """float64 values of one column, each `float()` of its text exactly; NA tokens are NaN, other text an error."""
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("float64")
    text = raw.astype("string").str.strip()
    missing = (text.isna() | text.str.lower().isin(NA_TOKENS)).to_numpy(dtype=bool)
    bad = ~missing & ~text.str.fullmatch(_DECIMAL).fillna(False).to_numpy(dtype=bool)
    values = np.full(len(text), np.nan)
    good = ~missing & ~bad
    values[good] = text[good].astype(object).astype("float64")  # float() of each cell: correctly rounded
    overflow = np.isinf(values)
    overflow[overflow] = ~text[overflow].str.contains("inf", case=False).to_numpy(dtype=bool)  # such as 1e999
    if (bad | overflow).any():
        row = int(np.flatnonzero(bad | overflow)[0])
        raise BarDataError("numeric_values", f"{column} in row {row} is {raw.iloc[row]!r}, "
                           f"{'beyond the float range' if overflow[row] else 'not a number'}",
                           ticker=ticker, date=dates.iloc[row].date())
    return pd.Series(values)


class _Table(NamedTuple):
    """A table read but not yet shaped: ticker, date cells as given, their stamps, numeric columns."""

    ticker: str
    given: pd.Series
    stamps: _Stamps
    values: pd.DataFrame  # NUMERIC columns, float64


def _read_table(frame: pd.DataFrame, ticker: str, today: dt.date | None) -> _Table:
    """Columns, stamps and numbers of `frame`; raise on every file-level problem."""
    ticker = normalize_ticker(ticker)
    frame = _with_index_as_column(frame)
    if len(frame) == 0:
        raise BarDataError("non_empty", f"the source has no rows (columns: {[str(c) for c in frame.columns]})",
                           ticker=ticker)
    columns = _columns(frame, ticker)
    given = frame[columns["date"]].reset_index(drop=True)
    stamps = _parse_dates(given, ticker)
    dates = stamps.wall.dt.normalize()
    values = pd.DataFrame({c: _numeric(frame[columns[c]], c, dates, ticker) if c in columns else np.nan
                           for c in NUMERIC}, index=dates.index)
    future = (dates > pd.Timestamp(today or dt.date.today())).to_numpy()
    if future.any():
        row = int(np.flatnonzero(future)[0])
        raise BarDataError("date_not_in_future", f"row {row} is dated after {today or dt.date.today()}",
                           ticker=ticker, date=dates.iloc[row].date())
    return _Table(ticker, given, stamps, values)


def _daily(table: _Table) -> pd.DataFrame:
    """RAW_COLUMNS of a daily table, sorted by date (stable, duplicates kept)."""
    out = pd.DataFrame({"ticker": table.ticker, "date": table.stamps.wall.dt.normalize(), **table.values,
                        "source_row": np.arange(len(table.values), dtype="int64")})
    return out.sort_values("date", kind="stable").reset_index(drop=True)[list(RAW_COLUMNS)]


def _intraday_refused(table: _Table, row: int, file: str | None) -> BarDataError:
    """The `daily_bars_only` error for an intraday table, naming its first intraday row (and file)."""
    wall = table.stamps.wall
    times = wall.loc[wall.dt.normalize() == wall.dt.normalize().iloc[row]].nunique()
    where = f"{file}: " if file else ""
    return BarDataError("daily_bars_only", f"{where}row {row} is stamped {str(table.given.iloc[row])!r}, one of "
                        f"{times} times of day on that date: intraday bars, and only daily bars are accepted here "
                        "(intraday='aggregate' builds daily bars from them by the calendar's sessions)",
                        ticker=table.ticker, date=table.given.iloc[row])


def standardize(frame: pd.DataFrame, ticker: str, *, calendar: str, intraday: str = "aggregate",
                today: dt.date | None = None, file: str | None = None) -> StandardizedBars:
    """Canonical raw daily bars from any table of daily or intraday bars, with the intraday rows kept.

    Daily tables come back as `standardize_bars` gives them. Intraday tables (some date with several
    times of day) are aggregated by the sessions of `calendar` (`financial_assets.sources.intraday`),
    or refused with `daily_bars_only` when `intraday="refuse"`; `file` names the input in that error.
    """
    check_intraday_mode(intraday)
    table = _read_table(frame, ticker, today)
    row = first_intraday_row(table.stamps.wall)
    if row is None:
        return StandardizedBars(_daily(table), empty_intraday(), empty_outside_session())
    if intraday == "refuse":
        raise _intraday_refused(table, row, file)
    instants = table.stamps.utc if table.stamps.utc is not None else utc_instants(table.stamps.wall, calendar,
                                                                                   table.ticker)
    return StandardizedBars(*aggregate_sessions(table.ticker, instants, table.values, calendar))


def standardize_bars(frame: pd.DataFrame, ticker: str, *, today: dt.date | None = None) -> pd.DataFrame:
    """Canonical raw bars (exactly RAW_COLUMNS) from any table of daily bars.

    Accepts `date`/`timestamp`/`Datetime` and `open, high, low, close, volume` in any header case,
    optionally `adj_close` (`Adj Close`); a date index counts as a column. `source_row` is each row's
    position as given; the result is sorted by date (stable, duplicates kept). Intraday tables are
    refused (`daily_bars_only`): `standardize` aggregates them by a calendar.
    """
    table = _read_table(frame, ticker, today)
    row = first_intraday_row(table.stamps.wall)
    if row is not None:
        raise _intraday_refused(table, row, None)
    return _daily(table)
