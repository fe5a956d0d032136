"""Trading sessions of an exchange calendar, so that weekends and holidays are never partitions."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

ALWAYS_OPEN = "24/7"
#: one calendar object per exchange, built once from this date (building one costs about a second)
EARLIEST = "1990-01-02"


@lru_cache(maxsize=8)
def _calendar(code: str, start: str) -> xcals.ExchangeCalendar:
    # exchange_calendars knows sessions up to about a year ahead of today
    return xcals.get_calendar(code, start=start)


def _sessions(code: str, start: str) -> pd.DatetimeIndex:
    first = min(pd.Timestamp(start), pd.Timestamp(EARLIEST)).date().isoformat()
    return _calendar(code, first).sessions.tz_localize(None)


def trading_sessions(code: str, start: str, end: str | None = None) -> pd.DatetimeIndex:
    """Sessions of calendar `code` from `start` to `end` inclusive (default: the calendar's last)."""
    if code == ALWAYS_OPEN:
        last = end or (dt.date.today() + dt.timedelta(days=366)).isoformat()
        return pd.date_range(start, last, freq="D")
    sessions = _sessions(code, start)
    lo, hi = pd.Timestamp(start), (pd.Timestamp(end) if end else sessions[-1])
    return sessions[(sessions >= lo) & (sessions <= hi)]


def weekday_holidays(code: str, start: str, end: str | None = None) -> list[dt.date]:
    """Weekdays in [start, end] on which calendar `code` has no session (exchange holidays)."""
    sessions = trading_sessions(code, start, end)
    if code == ALWAYS_OPEN or sessions.empty:
        return []
    weekdays = pd.bdate_range(sessions[0], sessions[-1])
    return [d.date() for d in weekdays.difference(sessions)]


@lru_cache(maxsize=8)
def _sessions_left_in_month(code: str) -> tuple[np.ndarray, np.ndarray]:
    sessions = _sessions(code, EARLIEST) if code != ALWAYS_OPEN else trading_sessions(code, EARLIEST)
    position = np.arange(len(sessions))
    last = pd.Series(position).groupby(sessions.to_period("M").asi8).transform("max").to_numpy()
    return sessions.to_numpy(), last - position


def trading_days_to_month_end(dates: pd.Series | pd.DatetimeIndex, code: str) -> np.ndarray:
    """For each date, the number of sessions after it up to the last session of its month.

    Known in advance from the calendar, so it is not a look-ahead feature. A date that is not a
    session counts from the next session.
    """
    sessions, left = _sessions_left_in_month(code)
    index = np.searchsorted(sessions, pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[ns]"))
    return left[np.minimum(index, len(left) - 1)].astype(np.float64)
