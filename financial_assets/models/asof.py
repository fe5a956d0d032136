"""When models train: the retrain calendar of a run, its as-of dates, and which model types train at each of them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from financial_assets.models.config import SEQUENCE_MODELS

#: FA_RETRAIN_CALENDAR=auto: the calendar of a run whose dates span at most so many days. A nightly run, a drift
#: retrain or a catch-up keeps the monthly cadence; a backfill of years trains a model a quarter per ticker (a first
#: run over 4 years: 15, not 45), one of decades a model a year, at the cost of older models in between
#: FA_RETRAIN_CALENDAR value that picks the calendar from the span of the run (AUTO_CALENDARS)
AUTO = "auto"
AUTO_CALENDARS: tuple[tuple[int, str], ...] = ((366, "month_end"), (8 * 366, "quarter_end"))
AUTO_LONGEST = "year_end"


def retrain_calendar_of(setting: str, run_dates: pd.DatetimeIndex) -> str:
    """The retrain calendar of a run over `run_dates`: `setting`, or for `auto` the one AUTO_CALENDARS gives the span
    from its first to its last date."""
    if setting != AUTO:
        return setting
    dates = pd.DatetimeIndex(run_dates)
    span = (dates.max() - dates.min()).days if len(dates) else 0
    return next((calendar for days, calendar in AUTO_CALENDARS if span <= days), AUTO_LONGEST)


def training_dates(run_dates: pd.DatetimeIndex, retrain_dates: pd.DatetimeIndex,
                   calendar_only: bool = False) -> pd.DatetimeIndex:
    """The run's dates that are retrain dates. A run over a single date (a person's or the drift sensor's request)
    trains at that date whatever the calendar, unless `calendar_only` (the nightly run: else it would retrain every
    ticker every night)."""
    run_dates = pd.DatetimeIndex(run_dates).unique().sort_values()
    return run_dates if len(run_dates) == 1 and not calendar_only else run_dates[run_dates.isin(retrain_dates)]


def model_types_at(as_of: pd.Timestamp, dates: pd.DatetimeIndex, model_types: Sequence[str],
                   sequence_at_every_date: bool) -> tuple[str, ...]:
    """The model types trained at `as_of`, one of a run's `dates`: torch sequence models only at the last date,
    unless they train at every date (they cost minutes per ticker on CPU)."""
    last = as_of == dates.max()
    return tuple(t for t in model_types if t not in SEQUENCE_MODELS or sequence_at_every_date or last)
