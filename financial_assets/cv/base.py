"""The scikit-learn splitter protocol over bars: subclasses choose test and candidate bars, `purge` does the rest."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from financial_assets.cv.purge import Fold, purge
from financial_assets.cv.times import SampleTimes, check_int


class PurgedSplitter(ABC):
    """Base of the purged splitters; usable as `cv=` anywhere scikit-learn takes a splitter.

    `t1` is a Series indexed by each row's t0 (prediction time) with the row's label end time as
    value, in the order of the rows of X, sorted by t0. `embargo` is in bars (distinct t0 values)
    and defaults to 0: callers choose it (this project passes the label horizon in bars).
    """

    n_splits: int

    def __init__(self, *, t1: pd.Series, embargo: int = 0):
        self.times = SampleTimes(t1)
        self.embargo = check_int(embargo, "embargo", 0)

    @abstractmethod
    def _bar_folds(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each split's (candidate training bars, test bars) as boolean masks over bars, before purging."""

    def folds(self) -> Iterator[Fold]:
        """Each split's rows by role (train, test, purged, embargoed); ValueError if a split keeps no training row."""
        for number, (train_bars, test_bars) in enumerate(self._bar_folds()):
            fold = purge(self.times, self.times.rows_in(train_bars), self.times.rows_in(test_bars), self.embargo)
            if fold.train.size == 0:
                raise ValueError(f"split {number}: purging and the embargo leave no training rows; "
                                 f"use fewer splits, a shorter embargo or shorter labels")
            yield fold

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train, test) row positions per split; y and groups are ignored (rows are grouped by t0)."""
        self.times.check_rows(X)
        for fold in self.folds():
            yield fold.train, fold.test

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of splits `split` yields; the arguments are ignored, as scikit-learn allows."""
        return self.n_splits
