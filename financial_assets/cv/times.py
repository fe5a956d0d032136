"""Validated splitter inputs: sample times (t0, t1, each row's bar) and integer parameters."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype


def check_int(value: Any, name: str, minimum: int) -> int:
    """`value` as an int, or ValueError naming the parameter when it is not an integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class SampleTimes:
    """Each row's prediction time t0 and label end time t1, checked once so every splitter can trust them.

    Built from a Series whose index is t0 and whose values are t1, in the order of the rows of X.
    A "bar" is one distinct t0 value; rows sharing a t0 (a pooled model over tickers) share a bar,
    and every split moves whole bars so such rows are never separated between train and test.
    """

    def __init__(self, t1: pd.Series):
        if not isinstance(t1, pd.Series):
            raise TypeError(f"t1 must be a pandas Series (index t0, values t1), got {type(t1).__name__}")
        if not is_datetime64_any_dtype(t1.index) or not is_datetime64_any_dtype(t1.dtype):
            raise TypeError(f"t1 must hold datetimes in its index (t0) and values (t1), "
                            f"got index {t1.index.dtype} and values {t1.dtype}")
        if len(t1) == 0:
            raise ValueError("t1 is empty: there are no rows to split")
        self.t0 = pd.DatetimeIndex(t1.index).as_unit("ns")
        self.t1 = pd.DatetimeIndex(t1).as_unit("ns")
        self.t0_ns = self.t0.asi8
        self.t1_ns = self.t1.asi8
        _check_order(self.t0, self.t1)
        self.bar = np.concatenate([[0], np.cumsum(np.diff(self.t0_ns) != 0)]).astype(np.intp)
        self.n_bars = int(self.bar[-1]) + 1

    @classmethod
    def of(cls, t1: pd.Series | SampleTimes) -> SampleTimes:
        """`t1` itself when already validated, else the validated times of the Series."""
        return t1 if isinstance(t1, SampleTimes) else cls(t1)

    def __len__(self) -> int:
        return len(self.t0)

    def check_rows(self, X: Any) -> None:
        """Raise ValueError unless X has one row per sample time (splits are positions into X)."""
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        if n_rows != len(self):
            raise ValueError(f"X has {n_rows} rows but t1 has {len(self)}: t1 must describe the rows of X, in order")

    def rows_in(self, bars: np.ndarray) -> np.ndarray:
        """Row positions whose bar is True in the boolean mask `bars` (one entry per bar)."""
        return np.flatnonzero(bars[self.bar])

    def groups(self, n_groups: int) -> np.ndarray:
        """Group number of each bar: `n_groups` contiguous groups, the first `n_bars % n_groups` one bar longer."""
        if n_groups > self.n_bars:
            raise ValueError(f"{n_groups} groups need at least {n_groups} distinct t0 values, there are {self.n_bars}")
        group = np.empty(self.n_bars, dtype=np.intp)
        for number, bars in enumerate(np.array_split(np.arange(self.n_bars), n_groups)):
            group[bars] = number
        return group


def _check_order(t0: pd.DatetimeIndex, t1: pd.DatetimeIndex) -> None:
    """Raise ValueError naming the first row with a missing time, t0 out of order, or t1 before t0."""
    for name, times in (("t0 (the index)", t0), ("t1", t1)):
        missing = np.flatnonzero(times.isna())
        if missing.size:
            row = missing[0]
            raise ValueError(f"{name} is NaT at row {row} (t0 {t0[row]}): drop rows whose times are unknown")
    backwards = np.flatnonzero(np.diff(t0.asi8) < 0)
    if backwards.size:
        row = backwards[0] + 1
        raise ValueError(f"rows must be sorted by t0: row {row} has t0 {t0[row]} after {t0[row - 1]} at row {row - 1}")
    early = np.flatnonzero(t1.asi8 < t0.asi8)
    if early.size:
        row = early[0]
        raise ValueError(f"t1 must not precede t0: row {row} has t0 {t0[row]} and t1 {t1[row]}")
