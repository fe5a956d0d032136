"""Walk-forward splits: consecutive test blocks at the end of history, each trained only on bars before it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
import pandas as pd

from financial_assets.cv.base import PurgedSplitter
from financial_assets.cv.times import check_int


class WalkForward(PurgedSplitter):
    """`n_splits` consecutive test blocks of `test_size` bars ending at the last bar, trained on the past only.

    Sizes count bars (distinct t0 values). `test_size` defaults to n_bars // (n_splits + 1), as
    scikit-learn's TimeSeriesSplit does. Training is every bar before the test block
    (`mode="expanding"`) or the `train_size` bars just before it (`mode="rolling"`); that window
    is then purged, so rows whose labels reach into the test block leave it (a rolling split
    trains on `train_size` bars minus the purged ones). No training row follows a test block, so
    `embargo` has nothing to remove here; it is accepted for a uniform interface.
    """

    def __init__(self, n_splits: int, *, t1: pd.Series, mode: Literal["expanding", "rolling"] = "expanding",
                 train_size: int | None = None, test_size: int | None = None, embargo: int = 0):
        super().__init__(t1=t1, embargo=embargo)
        self.n_splits = check_int(n_splits, "n_splits", 1)
        n_bars = self.times.n_bars
        self.test_size = n_bars // (self.n_splits + 1) if test_size is None else check_int(test_size, "test_size", 1)
        if self.test_size == 0:
            raise ValueError(f"{n_bars} distinct t0 values are too few for {self.n_splits} test blocks")
        self.first_test_bar = n_bars - self.n_splits * self.test_size
        if self.first_test_bar < 1:
            raise ValueError(f"{self.n_splits} test blocks of {self.test_size} bars leave no history before the "
                             f"first one: there are {n_bars} distinct t0 values")
        if mode not in ("expanding", "rolling"):
            raise ValueError(f"mode must be 'expanding' or 'rolling', got {mode!r}")
        if mode == "expanding" and train_size is not None:
            raise ValueError("train_size applies to mode='rolling' only; expanding training uses all the past")
        if mode == "rolling" and train_size is None:
            raise ValueError("mode='rolling' needs train_size (in bars)")
        self.mode = mode
        self.train_size = None if train_size is None else check_int(train_size, "train_size", 1)
        if self.train_size is not None and self.train_size > self.first_test_bar:
            raise ValueError(f"train_size={self.train_size} bars do not fit before the first test block, "
                             f"which starts at bar {self.first_test_bar}")

    def _bar_folds(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        bars = np.arange(self.times.n_bars)
        for number in range(self.n_splits):
            start = self.first_test_bar + number * self.test_size
            first_train = 0 if self.train_size is None else start - self.train_size
            yield (bars >= first_train) & (bars < start), (bars >= start) & (bars < start + self.test_size)
