"""Intraday bars (hourly, one-minute, ...) to daily bars by the sessions of a calendar.

A table is intraday when some calendar date carries more than one time of day; a daily file stamped
00:00, or at one fixed time such as 16:00, stays daily (so do UTC stamps that move by an hour with
daylight saving time, one a day). Each intraday bar is taken to be stamped at its start and belongs to
the session whose [open, close) holds the stamp (`financial_assets.core.calendar.session_bounds`:
exchange_calendars' opens and closes with early closes, or the 24/5 and 24/7 definitions there).

Per session: open = the first bar's open, high = max, low = min, close = the last bar's close,
volume = sum, adj_close = the last bar's. A missing value in any bar makes that daily value missing
(nothing is skipped), so validation quarantines the day. A bar in no session is never dropped: it
becomes an `outside_session` record naming the ticker, its timestamp and the neighbouring sessions.

Time zones: naive stamps are the calendar's wall-clock time (`calendar_timezone`: the exchange's zone,
New York for 24/5, UTC for 24/7); stamps with UTC offsets, zone-aware datetimes and epoch numbers are
instants, converted to UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from financial_assets.core.calendar import calendar_timezone, session_bounds
from financial_assets.core.errors import BarDataError

#: "aggregate" builds daily bars by the calendar's sessions; "refuse" raises `daily_bars_only`
INTRADAY_MODES = ("aggregate", "refuse")
#: the raw intraday rows: `timestamp` in UTC, `session` the date of the session holding it (NaT: none)
INTRADAY_COLUMNS = ("ticker", "timestamp", "session", "open", "high", "low", "close", "volume", "adj_close",
                    "source_row")
#: quarantine records of bars in no session; `date` is the stamp's date in the calendar's zone
OUTSIDE_SESSION_COLUMNS = ("ticker", "date", "timestamp", "rule", "severity", "column", "value", "detail",
                           "source_row")
#: sessions this far either side of the stamps are looked up (some open the evening before their date)
_MARGIN = pd.Timedelta(days=3)


def check_intraday_mode(mode: str) -> str:
    """`mode` if it is one of INTRADAY_MODES, else an `intraday_mode` error."""
    if mode not in INTRADAY_MODES:
        raise BarDataError("intraday_mode", f"intraday={mode!r}: use one of {', '.join(INTRADAY_MODES)}")
    return mode


def empty_intraday() -> pd.DataFrame:
    """An intraday frame with no rows and the INTRADAY_COLUMNS dtypes."""
    columns = {c: pd.Series([], dtype="float64") for c in INTRADAY_COLUMNS}
    columns.update(ticker=pd.Series([], dtype=object), timestamp=pd.Series([], dtype="datetime64[ns, UTC]"),
                   session=pd.Series([], dtype="datetime64[ns]"), source_row=pd.Series([], dtype="int64"))
    return pd.DataFrame(columns)


def empty_outside_session() -> pd.DataFrame:
    """An outside-session record frame with no rows and the OUTSIDE_SESSION_COLUMNS dtypes."""
    columns = {c: pd.Series([], dtype=object) for c in OUTSIDE_SESSION_COLUMNS}
    columns.update(date=pd.Series([], dtype="datetime64[ns]"), timestamp=pd.Series([], dtype="datetime64[ns, UTC]"),
                   source_row=pd.Series([], dtype="int64"))
    return pd.DataFrame(columns)


def first_intraday_row(wall: pd.Series) -> int | None:
    """Position of the first row whose date carries more than one time of day; None for daily stamps."""
    day = wall.dt.normalize()
    several = (wall - day).groupby(day).transform("nunique").to_numpy() > 1
    return int(np.flatnonzero(several)[0]) if several.any() else None


def utc_instants(wall: pd.Series, calendar: str, ticker: str) -> pd.Series:
    """Naive stamps, read as wall-clock time in the calendar's zone, as UTC instants."""
    zone = calendar_timezone(calendar)
    local = wall.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    if local.isna().any():
        row = int(np.flatnonzero(local.isna().to_numpy())[0])
        raise BarDataError("unambiguous_time", f"row {row}: {wall.iloc[row]} is ambiguous or does not exist in {zone} "
                           f"(a daylight-saving change); write the stamps with UTC offsets", ticker=ticker,
                           date=wall.iloc[row].date())
    return local.dt.tz_convert("UTC")


def _reduce(ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return ufunc.reduceat(values, starts) if len(starts) else values[:0]


def _daily(ticker: str, bars: pd.DataFrame) -> pd.DataFrame:
    """One daily bar per session of `bars` (all in a session, sorted by timestamp); NaN in any bar propagates."""
    session = bars["session"].to_numpy(dtype="datetime64[ns]")
    starts = np.flatnonzero(np.r_[True, session[1:] != session[:-1]]) if len(bars) else np.array([], dtype=np.intp)
    ends = np.r_[starts[1:], len(bars)] - 1 if len(bars) else starts
    column = {c: bars[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume", "adj_close")}
    return pd.DataFrame({
        "ticker": np.full(len(starts), ticker, dtype=object), "date": session[starts],
        "open": column["open"][starts], "high": _reduce(np.maximum, column["high"], starts),
        "low": _reduce(np.minimum, column["low"], starts), "close": column["close"][ends],
        "volume": _reduce(np.add, column["volume"], starts), "adj_close": column["adj_close"][ends],
        "source_row": bars["source_row"].to_numpy(dtype="int64")[starts],
    })


def _gap(calendar: str, bounds: pd.DataFrame, at: int) -> str:
    """Why an instant is in no session: it is after session `at`'s close (-1: before any) and before the next open."""
    zone = calendar_timezone(calendar)
    parts = []
    if at >= 0:
        parts.append(f"after the {bounds.index[at].date()} session closed at "
                     f"{bounds['close'].iloc[at].tz_convert(zone)}")
    if at + 1 < len(bounds):
        parts.append(f"before the {bounds.index[at + 1].date()} session opens at "
                     f"{bounds['open'].iloc[at + 1].tz_convert(zone)}")
    return f"in no {calendar} session: " + (" and ".join(parts) or "the calendar has no session near it")


def _outside(ticker: str, calendar: str, bars: pd.DataFrame, bounds: pd.DataFrame, at: np.ndarray) -> pd.DataFrame:
    """One `outside_session` quarantine record per bar of `bars` (each in no session; `at` as in `_gap`)."""
    bars = bars.reset_index(drop=True)
    local = bars["timestamp"].dt.tz_convert(calendar_timezone(calendar))
    details = {a: _gap(calendar, bounds, a) for a in np.unique(at)}
    return pd.DataFrame({
        "ticker": ticker, "date": local.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]"),
        "timestamp": bars["timestamp"], "rule": "outside_session", "severity": "error", "column": "timestamp",
        "value": local.astype(str), "detail": [details[a] for a in at], "source_row": bars["source_row"],
    }, columns=list(OUTSIDE_SESSION_COLUMNS))


def aggregate_sessions(ticker: str, instants: pd.Series, values: pd.DataFrame,
                       calendar: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Daily bars (RAW_COLUMNS), the intraday rows (INTRADAY_COLUMNS) and the outside-session records.

    `instants` (UTC) and `values` (open .. adj_close as float64) are the rows in source order.
    """
    order = np.argsort(instants.to_numpy(dtype="datetime64[ns]"), kind="stable")
    bars = pd.DataFrame({"ticker": ticker, "timestamp": instants.reset_index(drop=True),
                         **values.reset_index(drop=True), "source_row": np.arange(len(values), dtype="int64")})
    bars = bars.iloc[order].reset_index(drop=True)
    first, last = bars["timestamp"].iloc[0] - _MARGIN, bars["timestamp"].iloc[-1] + _MARGIN
    bounds = session_bounds(calendar, first.date().isoformat(), last.date().isoformat())
    stamps = bars["timestamp"].to_numpy(dtype="datetime64[ns]")
    opens, closes = (bounds[c].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]") for c in ("open", "close"))
    at = np.searchsorted(opens, stamps, side="right") - 1  # the last session opened at or before each stamp
    inside = np.zeros(len(bars), dtype=bool)
    inside[at >= 0] = stamps[at >= 0] < closes[at[at >= 0]]
    session = np.full(len(bars), np.datetime64("NaT", "ns"))
    session[inside] = bounds.index.to_numpy(dtype="datetime64[ns]")[at[inside]]
    bars.insert(2, "session", session)
    daily = _daily(ticker, bars.loc[inside])
    return daily, bars[list(INTRADAY_COLUMNS)], _outside(ticker, calendar, bars.loc[~inside], bounds, at[~inside])
