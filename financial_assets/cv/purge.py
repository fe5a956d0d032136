"""Purging and embargo: the one place that decides which training rows could leak test information."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from financial_assets.cv.times import SampleTimes, check_int


class Fold(NamedTuple):
    """One split's row positions by role (each sorted); purged and embargoed rows are left out of training."""

    train: np.ndarray
    test: np.ndarray
    purged: np.ndarray
    embargoed: np.ndarray


def purge(t1: pd.Series | SampleTimes, train: np.ndarray, test: np.ndarray, embargo: int = 0) -> Fold:
    """Split candidate training rows into kept, purged and embargoed, so no kept label overlaps a test block.

    The test rows are cut into blocks: maximal runs of consecutive bars (distinct t0 values), so a
    CPCV test set made of non-adjacent groups is purged against each group separately. A block's
    interval is [first t0 of the block, latest t1 of its rows]. A candidate row is **purged** when
    its interval [t0, t1] meets a block's interval (closed: t1 == first test t0 counts), on either
    side of the block. It is **embargoed** when it is not purged but its t0 lies within `embargo`
    bars after a block's last bar (bars last+1 .. last+embargo), which guards against serial
    correlation beyond the label itself. Callers choose `embargo`; this project passes the label
    horizon in bars. Rows sharing a t0 with a test row always overlap it, so they are purged too.
    """
    times = SampleTimes.of(t1)
    embargo = check_int(embargo, "embargo", 0)
    train, test = np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)
    if test.size == 0:
        raise ValueError("the test set is empty")
    rows = np.concatenate([train, test])
    if rows.min() < 0 or rows.max() >= len(times):
        raise ValueError(f"row positions must lie in 0..{len(times) - 1}")
    in_train, in_test = np.zeros(len(times), dtype=bool), np.zeros(len(times), dtype=bool)
    in_train[train], in_test[test] = True, True
    shared = np.flatnonzero(in_train & in_test)
    if shared.size:
        raise ValueError(f"row {shared[0]} is in both the training and the test set")
    train, test = np.flatnonzero(in_train), np.flatnonzero(in_test)  # sorted, without repeats
    train_t0, train_t1, train_bar = times.t0_ns[train], times.t1_ns[train], times.bar[train]
    overlaps = np.zeros(train.size, dtype=bool)
    embargoed = np.zeros(train.size, dtype=bool)
    test_bar = times.bar[test]
    for block in np.split(test, np.flatnonzero(np.diff(test_bar) > 1) + 1):
        start, end, last_bar = times.t0_ns[block[0]], times.t1_ns[block].max(), times.bar[block[-1]]
        overlaps |= (train_t0 <= end) & (train_t1 >= start)
        embargoed |= (train_bar > last_bar) & (train_bar <= last_bar + embargo)
    embargoed &= ~overlaps
    return Fold(train[~overlaps & ~embargoed], test, train[overlaps], train[embargoed])
