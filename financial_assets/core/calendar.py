"""Trading sessions of a calendar, so that weekends and holidays are never partitions.

`FA_CALENDAR` (the `code` of every function here) is one of:

- an `exchange_calendars` code, e.g. `XNYS`, `XLON`, `XTKS`, `CMES`: the exchange's trading days, holidays and
  early closes, opens and closes from `exchange_calendars` (a lunch break counts as part of its session). Use it for
  listed stocks, ETFs and futures: the code of the exchange the ticker trades on (XNYS New York, XLON London, XTKS
  Tokyo, CMES CME Globex futures, whose sessions start the evening before).
- `24/5`: Monday to Friday; a session runs from 17:00 New York time of the previous day to 17:00 New York time (so
  it crosses midnight UTC; Monday's opens Sunday 17:00); no session from Friday 17:00 to Sunday 17:00, no holidays.
  Use it for spot FX and other markets that trade round the clock on weekdays and roll over at the New York close.
- `24/7`: every calendar day, 00:00 to 24:00 UTC. Use it for crypto.

`24/5` here is the FX convention, not the `24/5` of `exchange_calendars` (weekdays 00:00 to 24:00 UTC).
Each calendar has a time zone (`calendar_timezone`): the exchange's, New York for `24/5`, UTC for `24/7`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

ALWAYS_OPEN = "24/7"
WEEKDAYS_OPEN = "24/5"
#: calendars defined here rather than by exchange_calendars
ROUND_THE_CLOCK = (ALWAYS_OPEN, WEEKDAYS_OPEN)
#: a `24/5` session ends, and the next one begins, this long after midnight in this zone
FX_DAY_END = pd.Timedelta(hours=17)
FX_ZONE = "America/New_York"
#: one calendar object per exchange, built once from this date (building one costs about a second)
EARLIEST = "1990-01-02"


@lru_cache(maxsize=8)
def _calendar(code: str, start: str) -> xcals.ExchangeCalendar:
    # exchange_calendars knows sessions up to about a year ahead of today
    return xcals.get_calendar(code, start=start)


def _exchange(code: str, start: str) -> xcals.ExchangeCalendar:
    """Calendar `code` from EARLIEST (or `start` if earlier), not before the first date it knows (XTKS: 1997)."""
    first = min(pd.Timestamp(start), pd.Timestamp(EARLIEST))
    known = type(xcals.get_calendar(code)).bound_min()
    return _calendar(code, max(first, known if known is not None else first).date().isoformat())


def _sessions(code: str, start: str) -> pd.DatetimeIndex:
    return _exchange(code, start).sessions.tz_localize(None)


def trading_sessions(code: str, start: str, end: str | None = None) -> pd.DatetimeIndex:
    """Sessions of calendar `code` from `start` to `end` inclusive (default: the calendar's last)."""
    if code in ROUND_THE_CLOCK:
        last = end or (dt.date.today() + dt.timedelta(days=366)).isoformat()
        return pd.date_range(start, last, freq="D" if code == ALWAYS_OPEN else "B")
    sessions = _sessions(code, start)
    lo, hi = pd.Timestamp(start), (pd.Timestamp(end) if end else sessions[-1])
    return sessions[(sessions >= lo) & (sessions <= hi)]


def calendar_timezone(code: str) -> str:
    """The time zone of calendar `code`: the exchange's, New York for 24/5, UTC for 24/7."""
    if code == ALWAYS_OPEN:
        return "UTC"
    if code == WEEKDAYS_OPEN:
        return FX_ZONE
    return str(_exchange(code, EARLIEST).tz)


def session_bounds(code: str, start: str, end: str) -> pd.DataFrame:
    """Sessions from `start` to `end` inclusive: index the session date, columns `open` and `close` in UTC.

    A session holds the instants in [open, close); early closes are in `close`.
    """
    if code in ROUND_THE_CLOCK:
        sessions = trading_sessions(code, start, end)
        if code == ALWAYS_OPEN:
            opens, closes = sessions, sessions + pd.Timedelta(days=1)
        else:
            opens, closes = sessions - pd.Timedelta(days=1) + FX_DAY_END, sessions + FX_DAY_END
        zone = calendar_timezone(code)
        return pd.DataFrame({"open": opens.tz_localize(zone).tz_convert("UTC"),
                             "close": closes.tz_localize(zone).tz_convert("UTC")}, index=sessions)
    return _exchange(code, start).schedule.loc[start:end, ["open", "close"]].rename_axis(None)


@dataclass(frozen=True)
class CloseTicks:
    """A cron ticking at a calendar's usual close, in its time zone: a session's partition window starts there."""

    cron: str
    timezone: str
    time: dt.time  # the usual close, local time
    next_day: bool  # the close falls on the day after the session's date (24/7: midnight UTC)


def close_ticks(code: str, today: dt.date | None = None) -> CloseTicks:
    """The usual close of calendar `code`: the latest local close time of its sessions of the 120 days before `today`
    (early closes come before it), on the weekdays it trades."""
    today = today or dt.date.today()
    zone = calendar_timezone(code)
    bounds = session_bounds(code, (today - dt.timedelta(days=120)).isoformat(), today.isoformat())
    after = (bounds["close"].dt.tz_convert(zone).dt.tz_localize(None) - bounds.index).max()
    close = (dt.datetime.min + after % pd.Timedelta(days=1)).time()
    days = "*" if code == ALWAYS_OPEN else "1-5"
    return CloseTicks(f"{close.minute} {close.hour} * * {days}", zone, close, after >= pd.Timedelta(days=1))


def last_closed_session(code: str, now: pd.Timestamp) -> str | None:
    """The newest session of calendar `code` whose close is at or before `now` (tz-aware), as YYYY-MM-DD."""
    local = pd.Timestamp(now).tz_convert(calendar_timezone(code))
    start = (local - pd.Timedelta(days=10)).date().isoformat()
    closes = session_bounds(code, start, (local + pd.Timedelta(days=1)).date().isoformat())["close"]
    closed = closes.index[closes <= now]
    return closed[-1].date().isoformat() if len(closed) else None


def weekday_holidays(code: str, start: str, end: str | None = None) -> list[dt.date]:
    """Weekdays in [start, end] on which calendar `code` has no session (exchange holidays)."""
    sessions = trading_sessions(code, start, end)
    if code in ROUND_THE_CLOCK or sessions.empty:
        return []
    # from `start` itself: a history that starts on a holiday must not make the holiday a partition
    weekdays = pd.bdate_range(pd.Timestamp(start), sessions[-1] if end is None else pd.Timestamp(end))
    return [d.date() for d in weekdays.difference(sessions)]


@lru_cache(maxsize=8)
def _sessions_left_in_month(code: str) -> tuple[np.ndarray, np.ndarray]:
    sessions = _sessions(code, EARLIEST) if code not in ROUND_THE_CLOCK else trading_sessions(code, EARLIEST)
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


#: FA_RETRAIN_CALENDAR -> the period whose last session is a retrain date
RETRAIN_PERIODS: dict[str, str] = {"weekly": "W", "month_end": "M", "quarter_end": "Q", "year_end": "Y"}


def retrain_sessions(sessions: pd.DatetimeIndex, retrain_calendar: str) -> pd.DatetimeIndex:
    """The last session of each week, month, quarter or year among `sessions`: the dates models retrain at.

    Pass every session the calendar knows (not a run's dates), so a run ending mid-month does not
    make its last date a month end.
    """
    if retrain_calendar not in RETRAIN_PERIODS:
        raise ValueError(f"FA_RETRAIN_CALENDAR must be one of {sorted(RETRAIN_PERIODS)}, got {retrain_calendar!r}")
    sessions = pd.DatetimeIndex(sessions).sort_values()
    last = pd.Series(sessions, index=sessions).groupby(sessions.to_period(RETRAIN_PERIODS[retrain_calendar])).max()
    return pd.DatetimeIndex(last.to_numpy())
