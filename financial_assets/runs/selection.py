"""`financial-assets materialize`: a selection of assets for one partition or a range, checked before launch.

Dagster's own command accepts a reversed range (and crashes inside the run) and answers a holiday or
an unregistered ticker with a generic subset error. Here each part of a key is checked first and
the error says which part is wrong and how to fix it.
"""

from __future__ import annotations

import dagster as dg

from financial_assets.core.errors import BarDataError
from financial_assets.defs.partitions import TICKERS_PARTITION_NAME, trading_date_partitions
from financial_assets.runs.runner import QUIET, StageRun, launch
from financial_assets.runs.stages import Stage, plan_stages


def _stage_of(defs: dg.Definitions, names: list[str]) -> tuple[Stage, frozenset[dg.AssetKey]]:
    stages = plan_stages(defs)
    known = {k.to_user_string(): s for s in stages for k in s.asset_keys}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BarDataError("asset_exists", f"no asset named {', '.join(unknown)}; assets: {', '.join(sorted(known))}")
    chosen = {known[n].index for n in names}
    if len(chosen) > 1:
        raise BarDataError("one_partitioning", f"{', '.join(names)} belong to different stages "
                           f"({', '.join(known[n].job_name + ': ' + n for n in names)}): materialize each stage alone")
    return known[names[0]], frozenset(dg.AssetKey.from_user_string(n) for n in names)


def _checked_date(date: str) -> str:
    if not trading_date_partitions.has_partition_key(date):
        first, last = trading_date_partitions.get_first_partition_key(), trading_date_partitions.get_last_partition_key()
        raise BarDataError("date_partition", f"{date!r} is not a date partition: partitions are the trading sessions "
                           f"from {first} to {last} (not weekends or exchange holidays); dates are YYYY-MM-DD",
                           date=date)
    return date


def _checked_ticker(ticker: str, known: list[str]) -> str:
    if ticker not in known:
        raise BarDataError("ticker_partition", f"ticker {ticker!r} is not registered (known: {', '.join(known) or 'none'})"
                           f"; register it with `financial-assets tickers {ticker}` (or add its file to the source "
                           "folder: the ticker_registration_sensor adds it)", ticker=ticker)
    return ticker


def checked_key(stage: Stage, key: str, tickers: list[str]) -> tuple[str, str | None]:
    """(date, ticker) of a partition key of `stage`, each part checked; ticker is None for date-only stages."""
    if isinstance(stage.partitions_def, dg.MultiPartitionsDefinition):
        if key.count("|") != 1:
            raise BarDataError("partition_key", f"{key!r} is not DATE|TICKER, e.g. 2013-01-02|AAPL")
        date, ticker = key.split("|")
        return _checked_date(date), _checked_ticker(ticker, tickers)
    if "|" in key:
        raise BarDataError("partition_key", f"{key!r}: {stage.job_name} is partitioned by date alone, e.g. 2013-01-02")
    return _checked_date(key), None


def checked_range(stage: Stage, text: str, tickers: list[str]) -> tuple[str, str]:
    """The two ends of FIRST...LAST, checked part by part and in order."""
    ends = text.split("...")
    if len(ends) != 2:
        raise BarDataError("partition_range", f"{text!r} is not FIRST...LAST, e.g. 2013-01-02|AAPL...2013-03-01|MSFT")
    (d0, t0), (d1, t1) = (checked_key(stage, e, tickers) for e in ends)
    if d0 > d1:
        raise BarDataError("partition_range", f"{text!r}: the first date {d0} is after the last date {d1}", date=d0)
    if t0 is not None and tickers.index(t0) > tickers.index(t1):
        raise BarDataError("partition_range", f"{text!r}: ticker {t0} comes after {t1} in the registered order "
                           f"{', '.join(tickers)}; a range runs from the earlier ticker to the later one", ticker=t0)
    return ends[0], ends[1]


def launch_selection(instance: dg.DagsterInstance, select: str, partition: str | None = None,
                     partition_range: str | None = None, console: str = QUIET) -> StageRun:
    """Check the selection and the partition(s), then run them as one run of the stage's job."""
    from financial_assets.definitions import defs

    stage, keys = _stage_of(defs, [n.strip() for n in select.split(",") if n.strip()])
    tickers = instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)
    if partition is not None:
        checked_key(stage, partition, tickers)
        first = last = partition
    else:
        first, last = checked_range(stage, partition_range or "", tickers)
    return launch(instance, stage.job_name, first, last, keys, console)

