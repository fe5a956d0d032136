"""The partitions of every asset, defined once: ticker x trading date, and trading date alone.

The date dimension holds one partition per session of the exchange calendar (`FA_CALENDAR`; weekends
and holidays are not partitions) from `FA_HISTORY_START` to the end of the source's data: the
embedded bars end on 2013-03-01, so no partition after it can ever be filled; a live source ends at
the last session that has closed, and gains each session once it closes (`FA_HISTORY_END` overrides
both). The ticker dimension is dynamic, so adding a ticker is a data change (sensor, UI or command
line), not a code change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import ALWAYS_OPEN, close_ticks, weekday_holidays
from financial_assets.core.errors import BarDataError
from financial_assets.core.tickers import TICKERS_PARTITION_NAME
from financial_assets.defs.load_time import LOAD

#: the tags of a run over a partition range (first...last), which the stage sensors and alerts read back
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def date_partitions(calendar: str, start: str, end: str | None) -> dg.TimeWindowPartitionsDefinition:
    """One partition per session of `calendar` from `start` to `end`; with no `end`, to the newest session that has
    closed, so a long-running code server gains each session by itself once it closes, never before.

    A session's window starts at its usual close (`close_ticks`, in the calendar's time zone) and the set
    runs to the window holding now: the session whose close has passed. Holidays are excluded windows.
    Dagster ends the window before a holiday at the holiday's tick, so from a holiday's usual close until
    the next session's close, that next session is already listed; the nightly schedule and `run` go by
    the calendar's closes and never launch it early.
    """
    ticks = close_ticks(calendar)
    bounds = {}
    if end is not None:  # the window of the session `end` runs to the next tick
        step = pd.offsets.Day(1) if calendar == ALWAYS_OPEN else pd.offsets.BDay(1)
        bounds["end"] = dt.datetime.combine((pd.Timestamp(end) + step).date(), ticks.time)
    holidays = weekday_holidays(calendar, start, end)  # none for 24/5 and 24/7; to the calendar's end when live
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=ticks.cron, fmt="%Y-%m-%d", start=start, timezone=ticks.timezone,
        end_offset=0 if ticks.next_day else 1,
        exclusions=[dt.datetime.combine(d, ticks.time) for d in holidays] or None, **bounds)


def _date_partitions() -> dg.TimeWindowPartitionsDefinition:
    """The date partitions of the settings: FA_CALENDAR from FA_HISTORY_START to FA_HISTORY_END, else to the embedded
    data's last session, else (a live source) to the newest closed session (`load_settings.py`)."""
    return date_partitions(LOAD.calendar, LOAD.history_start, LOAD.fixed_history_end)


trading_date_partitions = _date_partitions()
ticker_partitions = dg.DynamicPartitionsDefinition(name=TICKERS_PARTITION_NAME)
bar_partitions = dg.MultiPartitionsDefinition({"date": trading_date_partitions, "ticker": ticker_partitions})


def session_keys(start: str | None = None, end: str | None = None) -> list[str]:
    """Date partition keys between start and end inclusive (defaults: the whole partition set)."""
    keys = trading_date_partitions.get_partition_keys()
    return [k for k in keys if (start is None or k >= start) and (end is None or k <= end)]


def _split(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    if isinstance(key, dg.MultiPartitionKey):
        return key.keys_by_dimension["date"], key.keys_by_dimension["ticker"]
    date, _, ticker = str(key).partition("|")
    return date, ticker


def dates_by_ticker(keys: list[str] | list[dg.MultiPartitionKey]) -> dict[str, pd.DatetimeIndex]:
    """Group ticker x date partition keys of a run into {ticker: sorted dates}."""
    if not keys:
        raise BarDataError("partition_range", "the run has no partitions: a range must run from an earlier date "
                           "and ticker to a later one (DATE|TICKER...DATE|TICKER)")
    grouped: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        date, ticker = _split(key)
        grouped[ticker].append(date)
    return {t: pd.DatetimeIndex(sorted(pd.to_datetime(d))) for t, d in sorted(grouped.items())}


def run_dates(keys: list[str]) -> pd.DatetimeIndex:
    """The sorted dates of date-only partition keys."""
    if not keys:
        raise BarDataError("partition_range", "the run has no partitions: the range's start is after its end")
    return pd.DatetimeIndex(sorted(pd.to_datetime(list(keys))))


def bar_key(date: pd.Timestamp | str, ticker: str) -> str:
    """The ticker x date partition key, DATE|TICKER (Dagster orders dimensions by name)."""
    return f"{pd.Timestamp(date).date().isoformat()}|{ticker}"
