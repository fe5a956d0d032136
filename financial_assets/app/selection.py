"""`financial-assets materialize`: a selection of assets for one partition or a range, checked before launch.

Dagster's own command accepts a reversed range (and crashes inside the run) and answers a holiday or
an unregistered ticker with a generic subset error. Here each part of a key is checked first and
the error says which part is wrong and how to fix it. The checks need the assets' stages
(`catalog`), the calendar and the registered tickers, not the code location nor (but for the
tickers) Dagster, so a wrong argument is refused in about a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd

from financial_assets.app.catalog import AssetStage, asset_stages
from financial_assets.core.errors import BarDataError
from financial_assets.load_settings import load_settings


def checked_selection(names: list[str]) -> AssetStage:
    """The stage of the selected assets; an error for an unknown asset or assets of two stages."""
    known = asset_stages()
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise BarDataError("asset_exists", f"no asset named {', '.join(unknown) or '(none given)'}; "
                           f"assets: {', '.join(sorted(known))}")
    if len({known[n].index for n in names}) > 1:
        raise BarDataError("one_partitioning", f"{', '.join(names)} belong to different stages "
                           f"({', '.join(known[n].job + ': ' + n for n in names)}): materialize each stage alone")
    return known[names[0]]


def _checked_date(date: str) -> str:
    sessions = load_settings().history_sessions()
    try:
        is_session = dt.date.fromisoformat(date).isoformat() == date and pd.Timestamp(date) in sessions
    except ValueError:
        is_session = False
    if not is_session:
        first, last = (d.date().isoformat() for d in sessions[[0, -1]])
        raise BarDataError("date_partition", f"{date!r} is not a date partition: partitions are the trading sessions "
                           f"from {first} to {last} that have closed (not weekends or exchange holidays); dates are "
                           "YYYY-MM-DD", date=date)
    return date


def _checked_ticker(ticker: str, known: list[str]) -> str:
    if ticker not in known:
        raise BarDataError("ticker_partition",
                           f"ticker {ticker!r} is not registered (known: {', '.join(known) or 'none'})"
                           f"; register it with `financial-assets tickers {ticker}` (or add its file to the source "
                           "folder: the ticker_registration_sensor adds it)", ticker=ticker)
    return ticker


def checked_key(stage: AssetStage, key: str, tickers: Callable[[], list[str]]) -> tuple[str, str | None]:
    """(date, ticker) of a partition key of `stage`, each part checked; ticker is None for date-only stages.
    `tickers` gives the registered tickers (read from the instance only when a key has a ticker)."""
    if stage.by_ticker:
        if key.count("|") != 1:
            raise BarDataError("partition_key", f"{key!r} is not DATE|TICKER, e.g. 2013-01-02|AAPL")
        date, ticker = key.split("|")
        return _checked_date(date), _checked_ticker(ticker, tickers())
    if "|" in key:
        raise BarDataError("partition_key", f"{key!r}: {stage.job} is partitioned by date alone, e.g. 2013-01-02")
    return _checked_date(key), None


def checked_range(stage: AssetStage, text: str, tickers: Callable[[], list[str]]) -> tuple[str, str]:
    """The two ends of FIRST...LAST, checked part by part and in order."""
    ends = text.split("...")
    if len(ends) != 2:
        raise BarDataError("partition_range", f"{text!r} is not FIRST...LAST, e.g. 2013-01-02|AAPL...2013-03-01|MSFT")
    (d0, t0), (d1, t1) = (checked_key(stage, e, tickers) for e in ends)
    if d0 > d1:
        raise BarDataError("partition_range", f"{text!r}: the first date {d0} is after the last date {d1}", date=d0)
    if t0 is not None and tickers().index(t0) > tickers().index(t1):
        raise BarDataError("partition_range", f"{text!r}: ticker {t0} comes after {t1} in the registered order "
                           f"{', '.join(tickers())}; a range runs from the earlier ticker to the later one", ticker=t0)
    return ends[0], ends[1]


def checked_launch(select: str, partition: str | None, partition_range: str | None,
                   tickers: Callable[[], list[str]]) -> tuple[AssetStage, list[str], str, str]:
    """The stage, asset names and first and last partition keys of a selection, each part checked."""
    names = [n.strip() for n in select.split(",") if n.strip()]
    stage = checked_selection(names)
    if partition is not None:
        checked_key(stage, partition, tickers)
        return stage, names, partition, partition
    return stage, names, *checked_range(stage, partition_range or "", tickers)


def box_tickers(first: str, last: str, tickers: list[str]) -> list[str]:
    """The registered tickers a ticker x date range FIRST...LAST covers, in the registered order."""
    return tickers[tickers.index(first.split("|")[1]):tickers.index(last.split("|")[1]) + 1]
