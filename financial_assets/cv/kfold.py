"""Purged K-fold: contiguous folds of bars, each the test set once, training on every other fold."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from financial_assets.cv.base import PurgedSplitter
from financial_assets.cv.times import check_int


class PurgedKFold(PurgedSplitter):
    """`n_splits` contiguous folds of bars (the first n_bars % n_splits one bar longer), purged and embargoed.

    Training rows after a test fold see the future of the test period; purging removes those
    whose labels overlap it and `embargo` (in bars, chosen by the caller) removes more.
    """

    def __init__(self, n_splits: int, *, t1: pd.Series, embargo: int = 0):
        super().__init__(t1=t1, embargo=embargo)
        self.n_splits = check_int(n_splits, "n_splits", 2)
        self.group = self.times.groups(self.n_splits)

    def _bar_folds(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for number in range(self.n_splits):
            test = self.group == number
            yield ~test, test
