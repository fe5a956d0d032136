"""The partitions of every asset, defined once: ticker x trading date.

The date dimension is a daily time window on the exchange's sessions (weekends and holidays are
excluded), starting at FA_HISTORY_START; the ticker dimension is dynamic, so adding a ticker is a
data change (sensor, UI or CLI), not a code change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import dagster as dg
import pandas as pd

from financial_assets.settings import env
from financial_assets.core.calendar import ALWAYS_OPEN, weekday_holidays

TICKERS_PARTITION_NAME = "tickers"


def _date_partitions() -> dg.TimeWindowPartitionsDefinition:
    calendar, start = env("FA_CALENDAR"), env("FA_HISTORY_START")
    if calendar == ALWAYS_OPEN:
        return dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 * * *", fmt="%Y-%m-%d", start=start)
    holidays = [dt.datetime.combine(d, dt.time()) for d in weekday_holidays(calendar, start)]
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5", fmt="%Y-%m-%d", start=start, exclusions=holidays
    )


trading_date_partitions = _date_partitions()
ticker_partitions = dg.DynamicPartitionsDefinition(name=TICKERS_PARTITION_NAME)
bar_partitions = dg.MultiPartitionsDefinition({"date": trading_date_partitions, "ticker": ticker_partitions})


def dates_by_ticker(keys: list[str] | list[dg.MultiPartitionKey]) -> dict[str, pd.DatetimeIndex]:
    """Group ticker x date partition keys of a run into {ticker: sorted dates}."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        dims = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else dict(
            zip(("date", "ticker"), str(key).split("|"))
        )
        grouped[dims["ticker"]].append(dims["date"])
    return {t: pd.DatetimeIndex(sorted(pd.to_datetime(d))) for t, d in sorted(grouped.items())}


def run_dates(keys: list[str]) -> pd.DatetimeIndex:
    """The sorted dates of date-only partition keys."""
    return pd.DatetimeIndex(sorted(pd.to_datetime(list(keys))))
