"""Splitters: the outer and inner cross-validation from `financial_assets.cv`, and the purged early-stopping slice.

A splitter factory takes the label end times (a Series indexed by t0, sorted) and returns an object
with sklearn's `split(X)` yielding positional (train, test) arrays: any splitter of `financial_assets.cv`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import pandas as pd

from financial_assets.cv import CombinatorialPurgedCV, PurgedKFold, WalkForward
from financial_assets.models.config import TrainingConfig


class Splitter(Protocol):
    """The sklearn splitter protocol, as `financial_assets.cv` implements it."""

    def split(self, X: object, y: object = None, groups: object = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(train, test) positions of each fold of `X`."""


SplitterFactory = Callable[[pd.Series], Splitter]


def embargo_bars(config: TrainingConfig, horizon: int) -> int:
    """Bars embargoed after each test block: `config.embargo`, or the label horizon when it is None."""
    return config.embargo if config.embargo is not None else horizon


def outer_factory(config: TrainingConfig, embargo: int) -> SplitterFactory:
    """The outer splitter named by `config.cv`, purged on t1 and embargoed by `embargo` bars."""
    def build(t1: pd.Series) -> Splitter:
        if config.cv == "walk_forward":
            return WalkForward(config.n_splits, t1=t1, mode="expanding", embargo=embargo)
        if config.cv == "purged_kfold":
            return PurgedKFold(config.n_splits, t1=t1, embargo=embargo)
        return CombinatorialPurgedCV(config.n_splits, config.cpcv_test_groups, t1=t1, embargo=embargo)
    return build


def inner_factory(config: TrainingConfig, embargo: int) -> SplitterFactory:
    """Expanding walk-forward splits of one training fold for the tuner."""
    def build(t1: pd.Series) -> Splitter:
        return WalkForward(config.inner_splits, t1=t1, mode="expanding", embargo=embargo)
    return build


def purged_holdout(t0: np.ndarray, t1: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions (fit, validation): the last `fraction` of dates validate; fit rows whose t1 reaches them are dropped.

    Returns an empty validation set when the slice would be too small to stop on (< 20 rows).
    """
    dates = np.unique(t0)
    n_val_dates = int(round(len(dates) * fraction))
    if n_val_dates < 1:
        return np.arange(len(t0)), np.zeros(0, dtype=np.int64)
    cut = dates[len(dates) - n_val_dates]
    validation = np.flatnonzero(t0 >= cut)
    fit = np.flatnonzero((t0 < cut) & (t1 < cut))
    if len(validation) < 20 or len(fit) < 20:
        return np.arange(len(t0)), np.zeros(0, dtype=np.int64)
    return fit, validation
