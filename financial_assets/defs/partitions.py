"""The partitions of every asset, defined once: ticker x trading date, and trading date alone.

The date dimension holds one partition per session of the exchange calendar (`FA_CALENDAR`; weekends
and holidays are not partitions) from `FA_HISTORY_START` to the end of the source's data: the
embedded bars end on 2013-03-01, so no partition after it can ever be filled; a live source ends at
the last session that has closed (`FA_HISTORY_END` overrides both). The ticker dimension is dynamic,
so adding a ticker is a data change (sensor, UI or command line), not a code change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import ALWAYS_OPEN, trading_sessions, weekday_holidays
from financial_assets.core.errors import BarDataError
from financial_assets.settings import env
from financial_assets.sources.embedded import LAST_SESSION as EMBEDDED_LAST_SESSION

TICKERS_PARTITION_NAME = "tickers"


def history_end() -> str:
    """The last date of the partition set: FA_HISTORY_END, else where the source's data ends."""
    if env("FA_HISTORY_END"):
        return env("FA_HISTORY_END")
    if env("FA_SOURCE") == "embedded":
        return EMBEDDED_LAST_SESSION
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()  # today's session has not closed
    closed = trading_sessions(env("FA_CALENDAR"), env("FA_HISTORY_START"), yesterday)
    return closed[-1].date().isoformat() if len(closed) else env("FA_HISTORY_START")


def _date_partitions() -> dg.TimeWindowPartitionsDefinition:
    """Sessions from the history start to a fixed end (FA_HISTORY_END or the embedded data's), or, for a live
    source, up to the session holding today: a long-running code server then gains each new day by itself,
    and the nightly schedule launches a session only once it has closed."""
    calendar, start = env("FA_CALENDAR"), env("FA_HISTORY_START")
    fixed = env("FA_HISTORY_END") or (EMBEDDED_LAST_SESSION if env("FA_SOURCE") == "embedded" else None)
    # Dagster keeps a partition whose window ends by `end`; a Friday's window runs to Monday's tick
    step = pd.offsets.Day(1) if calendar == ALWAYS_OPEN else pd.offsets.BDay(1)
    bounds = {"end": (pd.Timestamp(fixed) + step).strftime("%Y-%m-%d")} if fixed else {"end_offset": 1}
    if calendar == ALWAYS_OPEN:
        return dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 * * *", fmt="%Y-%m-%d", start=start, **bounds)
    holidays = weekday_holidays(calendar, start, fixed)  # none for 24/5; to the calendar's end when live
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5", fmt="%Y-%m-%d", start=start,
        exclusions=[dt.datetime.combine(d, dt.time()) for d in holidays], **bounds,
    )


trading_date_partitions = _date_partitions()
ticker_partitions = dg.DynamicPartitionsDefinition(name=TICKERS_PARTITION_NAME)
bar_partitions = dg.MultiPartitionsDefinition({"date": trading_date_partitions, "ticker": ticker_partitions})


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
