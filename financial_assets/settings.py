"""Every setting of the project, read from environment variables; defaults live here and only here."""

from __future__ import annotations

import os

#: Environment variable -> default. `dagster dev`, the CLI and the tests all read these.
DEFAULTS: dict[str, str] = {
    # where the Parquet lake and run artefacts live
    "FA_DATA_DIR": "data",
    # bar source: embedded | folder | yfinance | synthetic
    "FA_SOURCE": "embedded",
    # folder of <TICKER>.csv / <TICKER>.parquet files, for FA_SOURCE=folder
    "FA_SOURCE_DIR": "",
    # comma-separated tickers for yfinance / synthetic sources (embedded and folder list their own)
    "FA_TICKERS": "",
    # first trading date of the partition set; one year of the embedded bars keeps `make run` under
    # 10 minutes (Dagster records every partition, ~50 ms each on SQLite); 2000-03-01 covers all 13 years
    "FA_HISTORY_START": "2012-03-01",
    # exchange calendar code (exchange_calendars), or 24/7 for crypto
    "FA_CALENDAR": "XNYS",
    # ticker that cross-asset features use as the market
    "FA_BENCHMARK_TICKER": "IBM",
    # seed and size of the synthetic source
    "FA_SYNTHETIC_SEED": "7",
    "FA_SYNTHETIC_TICKERS": "20",
    # comma-separated feature names; empty means the registry's default set
    "FA_FEATURES": "",
}


def apply_env_defaults() -> None:
    """Fill unset variables with their defaults so `dagster.EnvVar` always resolves."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)


def env(name: str) -> str:
    """The value of one setting: the environment first, then the default."""
    return os.environ.get(name, DEFAULTS[name])
