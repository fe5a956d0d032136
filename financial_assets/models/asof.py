"""When models train: the as-of dates of a run, and which model types train at each of them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from financial_assets.models.config import SEQUENCE_MODELS


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
