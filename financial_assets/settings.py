"""Every setting of the project, read from environment variables; defaults live here and only here."""

from __future__ import annotations

import os

#: Environment variable -> default. `dagster dev`, the command line, the benchmarks and the tests all read these.
DEFAULTS: dict[str, str] = {
    # where the Parquet lake, artefacts and the MLflow store live
    "FA_DATA_DIR": "data",
    # bar source: embedded | folder | yfinance | synthetic
    "FA_SOURCE": "embedded",
    # folder of <TICKER>.csv / <TICKER>.parquet files, for FA_SOURCE=folder
    "FA_SOURCE_DIR": "",
    # comma-separated tickers for the yfinance source (embedded, folder and synthetic list their own)
    "FA_TICKERS": "",
    # first trading date of the partition set: the whole embedded history by default
    "FA_HISTORY_START": "2000-03-01",
    # last trading date of the partition set; empty: the source's last session (the embedded data
    # ends on 2013-03-01; live sources end at the last session that has closed)
    "FA_HISTORY_END": "",
    # exchange calendar: any exchange_calendars code (XNYS, XLON, ...), 24/5 (spot FX) or 24/7 (crypto)
    "FA_CALENDAR": "XNYS",
    # ticker the cross-asset features use as the market; empty: the source's own default (IBM for
    # the embedded data, the first synthetic ticker), else it must be named
    "FA_BENCHMARK_TICKER": "",
    # seed and size of the synthetic source
    "FA_SYNTHETIC_SEED": "7",
    "FA_SYNTHETIC_TICKERS": "20",
    # comma-separated feature names; empty means the registry's default set
    "FA_FEATURES": "",
    # a ticker whose share of rejected bars in a run exceeds this is held back from downstream assets
    "FA_MAX_REJECTED_SHARE": "0.05",
    # files with times of day: aggregate them to daily bars by session, or refuse them
    "FA_INTRADAY": "aggregate",
    # Dagster: hand partitioned events to the event log in batches (see financial_assets/runs/event_log_storage.py)
    "DAGSTER_EVENT_BATCH_SIZE": "50000",
}


def apply_env_defaults() -> None:
    """Fill unset variables with their defaults so `dagster.EnvVar` always resolves."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)


def env(name: str) -> str:
    """The value of one setting: the environment first, then the default."""
    return os.environ.get(name, DEFAULTS[name])
