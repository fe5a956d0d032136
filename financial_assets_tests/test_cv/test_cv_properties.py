"""CV splitters on random pooled sample times: equal to a loop reference of the definitions, and never leaking.

The reference below restates the rules with plain loops over Python dates, independently of
`financial_assets.cv`: bars are the distinct t0 values; groups are contiguous runs of bars, the
first n_bars % n one bar longer; a test block is a run of consecutive test bars with interval
[first t0, latest t1]; a candidate is purged when its [t0, t1] meets a block's interval, else
embargoed when its bar lies 1..embargo bars after a block's last bar.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from financial_assets.cv import CombinatorialPurgedCV, Fold, PurgedKFold, PurgedSplitter, WalkForward, purge

EXAMPLES = settings(max_examples=40, deadline=None)


@st.composite
def sample_times(draw: st.DrawFn) -> pd.Series:
    """Pooled rows: 12-40 dates 1-3 days apart, 1-3 rows per date, labels 0-8 days long (mixed per row)."""
    n_bars = draw(st.integers(12, 40))
    gaps = draw(st.lists(st.integers(1, 3), min_size=n_bars, max_size=n_bars))
    dates = pd.Timestamp("2021-01-04") + pd.to_timedelta(np.cumsum(gaps), unit="D")
    per_bar = draw(st.lists(st.integers(1, 3), min_size=n_bars, max_size=n_bars))
    t0 = pd.DatetimeIndex(np.repeat(dates, per_bar))
    days = draw(st.lists(st.integers(0, 8), min_size=t0.size, max_size=t0.size))
    return pd.Series(t0 + pd.to_timedelta(days, unit="D"), index=t0)


def bars_of(t1: pd.Series) -> list[int]:
    dates = sorted(set(t1.index))
    return [dates.index(t) for t in t1.index]


def group_of_bars(n_bars: int, n_groups: int) -> list[int]:
    sizes = [n_bars // n_groups + (1 if g < n_bars % n_groups else 0) for g in range(n_groups)]
    return [g for g, size in enumerate(sizes) for _ in range(size)]


def reference_fold(t1: pd.Series, test_bars: set[int], candidate_bars: set[int], embargo: int) -> dict[str, list[int]]:
    """Expected rows by role for one split, from the definitions, with loops."""
    t0, end, bar = list(t1.index), list(t1), bars_of(t1)
    test = [r for r in range(len(t1)) if bar[r] in test_bars]
    blocks: list[list[int]] = []
    for b in sorted(test_bars):
        if blocks and b == blocks[-1][-1] + 1:
            blocks[-1].append(b)
        else:
            blocks.append([b])
    intervals = []
    for block in blocks:
        rows = [r for r in test if bar[r] in block]
        intervals.append((min(t0[r] for r in rows), max(end[r] for r in rows), block[-1]))
    roles: dict[str, list[int]] = {"train": [], "test": test, "purged": [], "embargoed": []}
    for r in range(len(t1)):
        if bar[r] not in candidate_bars:
            continue
        if any(t0[r] <= stop and end[r] >= start for start, stop, _ in intervals):
            roles["purged"].append(r)
        elif any(last < bar[r] <= last + embargo for _, _, last in intervals):
            roles["embargoed"].append(r)
        else:
            roles["train"].append(r)
    return roles


def check_against_reference(cv: PurgedSplitter, t1: pd.Series, expected: list[dict[str, list[int]]]) -> list[Fold]:
    """The splitter's folds equal the reference (returned), or it refuses when a fold would keep no training."""
    if any(not roles["train"] for roles in expected):
        with pytest.raises(ValueError, match="no training rows"):
            list(cv.folds())
        return []
    folds = list(cv.folds())
    assert len(folds) == len(expected) == cv.get_n_splits()
    for fold, roles in zip(folds, expected, strict=True):
        for role in ("train", "test", "purged", "embargoed"):
            assert getattr(fold, role).tolist() == roles[role], role
        check_no_leak(t1, fold.train, fold.test)
    return folds


def check_no_leak(t1: pd.Series, train: np.ndarray, test: np.ndarray) -> None:
    """Train and test are disjoint, share no t0, and no training label interval meets a test block's."""
    t0 = t1.index
    assert not set(train) & set(test)
    assert not set(t0[train]) & set(t0[test]), "a t0 is split between train and test"
    for start, stop in block_intervals(t1, test):
        overlap = (t0[train] <= stop) & (t1.iloc[train] >= start)
        assert not overlap.any(), "a training label overlaps a test block"


def block_intervals(t1: pd.Series, test: np.ndarray) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[first t0, last t1] of each run of consecutive test dates, found from the dates alone."""
    dates = sorted(set(t1.index))
    test_dates = sorted(set(t1.index[test]))
    runs: list[list[pd.Timestamp]] = []
    for d in test_dates:
        if runs and dates.index(d) == dates.index(runs[-1][-1]) + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return [(run[0], t1[t1.index.isin(run)].max()) for run in runs]


@EXAMPLES
@given(t1=sample_times(), n_splits=st.integers(2, 6), embargo=st.integers(0, 4))
def test_purged_kfold_matches_the_definition(t1: pd.Series, n_splits: int, embargo: int) -> None:
    n_bars = t1.index.nunique()
    group = group_of_bars(n_bars, n_splits)
    expected = [reference_fold(t1, {b for b in range(n_bars) if group[b] == g},
                               {b for b in range(n_bars) if group[b] != g}, embargo) for g in range(n_splits)]
    check_against_reference(PurgedKFold(n_splits, t1=t1, embargo=embargo), t1, expected)


@EXAMPLES
@given(t1=sample_times(), shape=st.sampled_from([(3, 1), (4, 2), (5, 2), (6, 2), (6, 3)]),
       embargo=st.integers(0, 4))
def test_cpcv_matches_the_definition(t1: pd.Series, shape: tuple[int, int], embargo: int) -> None:
    n_groups, n_test_groups = shape
    n_bars = t1.index.nunique()
    group = group_of_bars(n_bars, n_groups)
    expected = []
    for chosen in itertools.combinations(range(n_groups), n_test_groups):
        test = {b for b in range(n_bars) if group[b] in chosen}
        expected.append(reference_fold(t1, test, set(range(n_bars)) - test, embargo))
    check_against_reference(CombinatorialPurgedCV(n_groups, n_test_groups, t1=t1, embargo=embargo), t1, expected)


@EXAMPLES
@given(t1=sample_times(), n_splits=st.integers(1, 4), test_size=st.integers(1, 4), rolling=st.booleans(),
       train_size=st.integers(1, 8), embargo=st.integers(0, 3))
def test_walk_forward_matches_the_definition(t1: pd.Series, n_splits: int, test_size: int, rolling: bool,
                                             train_size: int, embargo: int) -> None:
    n_bars = t1.index.nunique()
    first = n_bars - n_splits * test_size
    mode = {"mode": "rolling", "train_size": train_size} if rolling else {}
    if first < 1 or (rolling and train_size > first):
        with pytest.raises(ValueError):
            WalkForward(n_splits, t1=t1, test_size=test_size, embargo=embargo, **mode)
        return
    expected = []
    for k in range(n_splits):
        start = first + k * test_size
        window = set(range(start - train_size if rolling else 0, start))
        expected.append(reference_fold(t1, set(range(start, start + test_size)), window, embargo))
    cv = WalkForward(n_splits, t1=t1, test_size=test_size, embargo=embargo, **mode)
    for fold in check_against_reference(cv, t1, expected):
        assert t1.index[fold.train].max() < t1.index[fold.test].min(), "walk-forward trained on the future"


@st.composite
def times_and_test_bars(draw: st.DrawFn) -> tuple[pd.Series, set[int]]:
    """Sample times and any non-empty set of test bars: one block or many, adjacent or not."""
    t1 = draw(sample_times())
    n_bars = t1.index.nunique()
    return t1, draw(st.sets(st.integers(0, n_bars - 1), min_size=1, max_size=n_bars - 1))


def rows_of(t1: pd.Series, bars: set[int]) -> np.ndarray:
    return np.array([r for r, b in enumerate(bars_of(t1)) if b in bars], dtype=int)


@EXAMPLES
@given(case=times_and_test_bars(), embargo=st.integers(0, 4))
def test_purge_matches_the_definition_for_any_test_set(case: tuple[pd.Series, set[int]], embargo: int) -> None:
    t1, test_bars = case
    candidates = set(range(t1.index.nunique())) - test_bars
    fold = purge(t1, rows_of(t1, candidates), rows_of(t1, test_bars), embargo)
    expected = reference_fold(t1, test_bars, candidates, embargo)
    for role in ("train", "test", "purged", "embargoed"):
        assert getattr(fold, role).tolist() == expected[role], role
    check_no_leak(t1, fold.train, fold.test)


@EXAMPLES
@given(case=times_and_test_bars(), embargo=st.integers(1, 5))
def test_embargo_removes_exactly_the_bars_after_each_test_block(case: tuple[pd.Series, set[int]],
                                                                embargo: int) -> None:
    """An embargo costs training exactly the rows 1..embargo dates after each test block, and nothing else."""
    t1, test_bars = case
    train, test = rows_of(t1, set(range(t1.index.nunique())) - test_bars), rows_of(t1, test_bars)
    without, with_embargo = purge(t1, train, test), purge(t1, train, test, embargo)
    window = {b + j for b in test_bars if b + 1 not in test_bars for j in range(1, embargo + 1)}
    in_window = set(rows_of(t1, window)) & set(without.train)
    assert set(with_embargo.train) == set(without.train) - in_window
    assert set(with_embargo.embargoed) == in_window
    assert set(with_embargo.purged) == set(without.purged)
    assert with_embargo.test.tolist() == without.test.tolist() == test.tolist()
