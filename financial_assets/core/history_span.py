"""The span of the date partitions, from the settings alone: where history starts and ends, and its sessions.

`defs/partitions.py` builds Dagster's partitions from it; the command line checks a date against it
without importing Dagster, so a wrong date is refused in about a second.
"""

from __future__ import annotations

import pandas as pd

from financial_assets.core.calendar import last_closed_session, trading_sessions
from financial_assets.settings import env
from financial_assets.sources.embedded import LAST_SESSION as EMBEDDED_LAST_SESSION


def fixed_history_end() -> str | None:
    """FA_HISTORY_END, else the embedded data's last session; None for a live source."""
    return env("FA_HISTORY_END") or (EMBEDDED_LAST_SESSION if env("FA_SOURCE") == "embedded" else None)


def history_end() -> str:
    """The last date of the partition set: the fixed end, else (a live source) the newest session that has closed."""
    closed = fixed_history_end() or last_closed_session(env("FA_CALENDAR"), pd.Timestamp.now(tz="UTC"))
    return max(closed or env("FA_HISTORY_START"), env("FA_HISTORY_START"))


def history_sessions() -> pd.DatetimeIndex:
    """The sessions of the partition set: FA_CALENDAR's from FA_HISTORY_START to `history_end()`."""
    return trading_sessions(env("FA_CALENDAR"), env("FA_HISTORY_START"), history_end())
