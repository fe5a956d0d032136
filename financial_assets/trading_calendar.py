"""Trading sessions of an exchange calendar, so that weekends and holidays are never partitions."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

ALWAYS_OPEN = "24/7"


@lru_cache(maxsize=8)
def _calendar(code: str, start: str) -> xcals.ExchangeCalendar:
    # exchange_calendars knows sessions up to about a year ahead of today
    return xcals.get_calendar(code, start=start)


def trading_sessions(code: str, start: str, end: str | None = None) -> pd.DatetimeIndex:
    """Sessions of calendar `code` from `start` to `end` inclusive (default: the calendar's last)."""
    if code == ALWAYS_OPEN:
        last = end or (dt.date.today() + dt.timedelta(days=366)).isoformat()
        return pd.date_range(start, last, freq="D")
    sessions = _calendar(code, start).sessions.tz_localize(None)
    lo, hi = pd.Timestamp(start), (pd.Timestamp(end) if end else sessions[-1])
    return sessions[(sessions >= lo) & (sessions <= hi)]


def weekday_holidays(code: str, start: str, end: str | None = None) -> list[dt.date]:
    """Weekdays in [start, end] on which calendar `code` has no session (exchange holidays)."""
    sessions = trading_sessions(code, start, end)
    if code == ALWAYS_OPEN or sessions.empty:
        return []
    weekdays = pd.bdate_range(sessions[0], sessions[-1])
    return [d.date() for d in weekdays.difference(sessions)]


def trading_days_to_month_end(dates: pd.Series | pd.DatetimeIndex, code: str, start: str) -> pd.Series:
    """For each date, the number of sessions after it up to the last session of its month.

    Known in advance from the calendar, so it is not a look-ahead feature.
    """
    idx = pd.DatetimeIndex(dates)
    sessions = trading_sessions(code, start, (idx.max() + pd.offsets.MonthEnd(1)).date().isoformat())
    month = sessions.to_period("M")
    last_in_month = pd.Series(sessions, index=sessions).groupby(month).transform("max")
    position = pd.Series(range(len(sessions)), index=sessions)
    end_pos = position.reindex(last_in_month.values).to_numpy()
    remaining = pd.Series(end_pos - position.to_numpy(), index=sessions)
    # dates that are not sessions (should not happen for validated bars) count to the next session
    return pd.Series(remaining.reindex(idx, method="bfill").to_numpy(), index=getattr(dates, "index", None))
