"""The load-time settings, the ones that shape the asset graph itself, read from the environment in one place.

Two binding times, named:
- load time (this module): the calendar, the history span and the source it depends on, the nightly cron and the
  freshness grace shape the partitions, the schedule and the freshness policy, so they are read once, here, when the
  code location loads (`defs/load_time.py` binds them, and the resources that use them, `MarketResource` and
  `BarSourceResource`, take them from there; the command line reads them when a command starts) and changing them
  takes a reload of the code location;
- run time: every other FA_* setting is a field of a resource bound with `dagster.EnvVar` in its family's
  `defs/<family>/resources.py`, read when a run starts and checked when the code location loads.
Every default lives in `settings.py`. No Dagster here: the command line refuses a wrong date in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from financial_assets.core.calendar import calendar_timezone, last_closed_session, trading_sessions
from financial_assets.settings import env
from financial_assets.sources import KINDS
from financial_assets.sources.embedded import LAST_SESSION as EMBEDDED_LAST_SESSION


@dataclass(frozen=True)
class LoadSettings:
    """The settings read when the code location loads, checked."""

    calendar: str  # FA_CALENDAR: an exchange_calendars code, 24/5 or 24/7
    history_start: str  # FA_HISTORY_START: the first date partition
    fixed_history_end: str | None  # FA_HISTORY_END, else the embedded data's last session; None: a live source
    source: str  # FA_SOURCE: the source whose data the span ends with
    nightly_cron: str  # FA_NIGHTLY_CRON, in the calendar's time zone
    freshness_grace: pd.Timedelta  # FA_FRESHNESS_GRACE_HOURS after a session's close its bars are due

    def history_end(self, now: pd.Timestamp | None = None) -> str:
        """The last date of the partition set: the fixed end, else (a live source) the newest session closed by now."""
        closed = self.fixed_history_end or last_closed_session(self.calendar, now or pd.Timestamp.now(tz="UTC"))
        return max(closed or self.history_start, self.history_start)

    def history_sessions(self) -> pd.DatetimeIndex:
        """The sessions of the partition set: the calendar's from the history start to `history_end()`."""
        return trading_sessions(self.calendar, self.history_start, self.history_end())


def _date(name: str, value: str) -> str:
    try:
        ok = pd.Timestamp(value).date().isoformat() == value
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, got {value!r}")
    return value


def load_settings() -> LoadSettings:
    """The load-time settings of the environment (defaults: `settings.py`), each checked, naming the one that fails."""
    calendar = env("FA_CALENDAR")
    try:
        calendar_timezone(calendar)
    except Exception as error:  # exchange_calendars' own error for an unknown code
        raise ValueError(f"FA_CALENDAR must be an exchange_calendars code, 24/5 or 24/7, got {calendar!r}: "
                         f"{error}") from error
    start = _date("FA_HISTORY_START", env("FA_HISTORY_START"))
    end = env("FA_HISTORY_END")
    if end and _date("FA_HISTORY_END", end) < start:
        raise ValueError(f"FA_HISTORY_END {end} is before FA_HISTORY_START {start}")
    source = env("FA_SOURCE")
    if source.strip().lower() not in (*KINDS, "yahoo"):
        raise ValueError(f"FA_SOURCE must be one of {', '.join(KINDS)}, got {source!r}")
    grace = env("FA_FRESHNESS_GRACE_HOURS")
    try:
        hours = float(grace)
    except ValueError:
        hours = -1.0
    if not hours >= 0:
        raise ValueError(f"FA_FRESHNESS_GRACE_HOURS must be a number of hours >= 0, got {grace!r}")
    return LoadSettings(calendar=calendar, history_start=start,
                        fixed_history_end=end or (EMBEDDED_LAST_SESSION if source == "embedded" else None),
                        source=source, nightly_cron=env("FA_NIGHTLY_CRON"), freshness_grace=pd.Timedelta(hours=hours))
