"""Combinatorial purged CV (López de Prado, AFML ch. 12): every choice of k of N groups as test set, and its paths."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from financial_assets.cv.base import PurgedSplitter
from financial_assets.cv.times import check_int


class CombinatorialPurgedCV(PurgedSplitter):
    """C(N, k) splits over N contiguous groups of bars, each testing k groups, rebuilt into k/N * C(N, k) paths.

    Groups are contiguous runs of bars (the first n_bars % N one bar longer). Split s tests the
    s-th combination of `itertools.combinations(range(N), k)` (lexicographic: split 0 tests
    groups 0..k-1) and trains on the other groups, purged and embargoed against each contiguous
    run of test groups separately. A backtest path is one out-of-sample prediction for every
    group: path p takes group g from the p-th split, in split order, whose test set contains g
    (the construction of AFML section 12.4, and skfolio's `recombined_paths`).
    """

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, *, t1: pd.Series, embargo: int = 0):
        super().__init__(t1=t1, embargo=embargo)
        self.n_groups = check_int(n_groups, "n_groups", 2)
        self.n_test_groups = check_int(n_test_groups, "n_test_groups", 1)
        if self.n_test_groups >= self.n_groups:
            raise ValueError(f"n_test_groups={self.n_test_groups} must be smaller than n_groups={self.n_groups}")
        self.group = self.times.groups(self.n_groups)
        self.test_groups = list(itertools.combinations(range(self.n_groups), self.n_test_groups))
        self.n_splits = len(self.test_groups)  # C(N, k)

    @property
    def n_paths(self) -> int:
        """k/N * C(N, k) = C(N-1, k-1): how many splits test each group, so how many full paths exist."""
        return math.comb(self.n_groups - 1, self.n_test_groups - 1)

    def _test_bars(self, split: int) -> np.ndarray:
        return np.isin(self.group, self.test_groups[split])

    def _bar_folds(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for split in range(self.n_splits):
            test = self._test_bars(split)
            yield ~test, test

    def path_table(self) -> pd.DataFrame:
        """Path x group -> the split whose out-of-sample prediction that path uses for that group."""
        table = np.array([[split for split, groups in enumerate(self.test_groups) if group in groups]
                          for group in range(self.n_groups)]).T
        return pd.DataFrame(table, index=pd.RangeIndex(self.n_paths, name="path"),
                            columns=pd.RangeIndex(self.n_groups, name="group"))

    def path_predictions(self, predictions: Sequence[ArrayLike]) -> pd.DataFrame:
        """Stitch per-split out-of-sample predictions into one column per path, one row per sample.

        `predictions[s]` holds split s's predictions for its test rows, in the order `split`
        yields them (ascending row positions). The result is indexed by row position ("row"; set
        `t1.index` as index for the t0 dates) with one float column per path; every cell is
        filled, each from the split the path table names for that row's group.
        """
        if len(predictions) != self.n_splits:
            raise ValueError(f"expected predictions for {self.n_splits} splits, got {len(predictions)}")
        table = self.path_table().to_numpy()
        row_group = self.group[self.times.bar]
        paths = np.empty((len(self.times), self.n_paths))
        for split, values in enumerate(predictions):
            test = self.times.rows_in(self._test_bars(split))
            values = np.asarray(values, dtype=float)
            if values.shape != test.shape:
                raise ValueError(f"split {split}: predictions have shape {values.shape}, "
                                 f"its test set has {test.size} rows")
            for path, group in zip(*np.nonzero(table == split), strict=True):
                in_group = row_group[test] == group
                paths[test[in_group], path] = values[in_group]
        return pd.DataFrame(paths, index=pd.RangeIndex(len(self.times), name="row"),
                            columns=pd.RangeIndex(self.n_paths, name="path"))
