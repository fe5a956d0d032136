"""CPCV: C(N, k) splits, k/N * C(N, k) backtest paths, and stitching that covers every sample once per path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.cv import CombinatorialPurgedCV

# (N, k) -> (C(N, k), k/N * C(N, k)), worked by hand: e.g. 6 choose 2 = 15 splits, 2/6 * 15 = 5 paths.
SHAPES = {(3, 1): (3, 1), (4, 2): (6, 3), (5, 2): (10, 4), (6, 2): (15, 5), (6, 3): (20, 10), (7, 3): (35, 15),
          (8, 2): (28, 7), (10, 8): (45, 36)}


def pooled_times(n_bars: int, per_bar: int = 2, horizon_days: int = 2) -> pd.Series:
    t0 = pd.DatetimeIndex(np.repeat(pd.bdate_range("2022-01-03", periods=n_bars), per_bar))
    return pd.Series(t0 + pd.Timedelta(days=horizon_days), index=t0)


def row_groups(n_bars: int, per_bar: int, n_groups: int) -> np.ndarray:
    """Group of each row: bars cut into n_groups contiguous runs, the first n_bars % n_groups one bar longer."""
    sizes = [n_bars // n_groups + (g < n_bars % n_groups) for g in range(n_groups)]
    return np.repeat(np.repeat(np.arange(n_groups), sizes), per_bar)


@pytest.mark.parametrize(("n_groups", "n_test_groups"), sorted(SHAPES))
def test_counts_of_splits_and_paths(n_groups: int, n_test_groups: int) -> None:
    cv = CombinatorialPurgedCV(n_groups, n_test_groups, t1=pooled_times(53))
    n_splits, n_paths = SHAPES[(n_groups, n_test_groups)]
    assert cv.get_n_splits() == cv.n_splits == n_splits
    assert cv.n_paths == n_paths
    assert len(list(cv.split(np.zeros((106, 1))))) == n_splits
    table = cv.path_table()
    assert table.shape == (n_paths, n_groups)
    # Every (split, one of its test groups) pair is used by exactly one path, and only those pairs are.
    tests = [sorted(set(row_groups(53, 2, n_groups)[test])) for _, test in cv.split(np.zeros((106, 1)))]
    used = sorted((int(table.iat[p, g]), g) for p in range(n_paths) for g in range(n_groups))
    assert used == sorted((split, g) for split, groups in enumerate(tests) for g in groups)


def test_path_table_of_six_groups_two_tested() -> None:
    """Path p takes group g from the p-th split testing g; splits in lexicographic order (0: {0,1}, 1: {0,2}...)."""
    table = CombinatorialPurgedCV(6, 2, t1=pooled_times(30)).path_table()
    # Splits testing group 0: 0..4; group 1: 0, 5, 6, 7, 8; group 5: 4, 8, 11, 13, 14.
    assert table[0].tolist() == [0, 1, 2, 3, 4]
    assert table[1].tolist() == [0, 5, 6, 7, 8]
    assert table[5].tolist() == [4, 8, 11, 13, 14]
    assert table.loc[0].tolist() == [0, 0, 1, 2, 3, 4]


@pytest.mark.parametrize(("n_groups", "n_test_groups", "n_bars"), [(6, 2, 30), (5, 3, 23), (7, 3, 40), (4, 1, 9)])
def test_each_path_predicts_every_sample_once_out_of_sample(n_groups: int, n_test_groups: int, n_bars: int) -> None:
    per_bar = 3
    cv = CombinatorialPurgedCV(n_groups, n_test_groups, t1=pooled_times(n_bars, per_bar), embargo=1)
    splits = list(cv.split(np.zeros((n_bars * per_bar, 1))))
    # A prediction that names its split and row: split * 10_000 + row.
    paths = cv.path_predictions([split * 10_000 + test for split, (_, test) in enumerate(splits)])
    assert paths.shape == (n_bars * per_bar, cv.n_paths)
    assert not paths.isna().any().any()
    split_of = (paths.to_numpy() // 10_000).astype(int)
    assert (paths.to_numpy() % 10_000 == np.arange(n_bars * per_bar)[:, None]).all()
    group = row_groups(n_bars, per_bar, n_groups)
    table = cv.path_table().to_numpy()
    for path in range(cv.n_paths):
        assert (split_of[:, path] == table[path, group]).all()
        for row, split in enumerate(split_of[:, path]):
            assert row in splits[split][1] and row not in splits[split][0], "a path used an in-sample prediction"


def test_path_predictions_rejects_mismatched_inputs() -> None:
    cv = CombinatorialPurgedCV(4, 2, t1=pooled_times(12))
    with pytest.raises(ValueError, match="expected predictions for 6 splits, got 5"):
        cv.path_predictions([np.zeros(12)] * 5)
    with pytest.raises(ValueError, match="split 0"):
        cv.path_predictions([np.zeros(5)] * 6)


def test_adjacent_test_groups_form_one_block_and_apart_groups_are_purged_separately() -> None:
    """Daily bars, 2-day labels, 4 groups of 5: testing {0, 2} purges rows on both sides of group 2 only."""
    t0 = pd.date_range("2023-01-01", periods=20, freq="D")
    cv = CombinatorialPurgedCV(4, 2, t1=pd.Series(t0 + pd.Timedelta(days=2), index=t0))
    folds = {tuple(sorted({r // 5 for r in fold.test})): fold for fold in cv.folds()}
    # {0, 2}: after group 0 (rows 0-4, labels to day 6) rows 5, 6 overlap; before group 2 (from day 10) rows 8, 9
    # end inside it; after group 2 (labels to day 16) rows 15, 16.
    assert folds[(0, 2)].purged.tolist() == [5, 6, 8, 9, 15, 16]
    assert folds[(0, 2)].train.tolist() == [7, 17, 18, 19]
    # {0, 1}: one block, rows 0-9; only rows 10, 11 after it overlap.
    assert folds[(0, 1)].purged.tolist() == [10, 11]
