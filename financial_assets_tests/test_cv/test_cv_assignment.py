"""Fold assignment and summary: a hand-worked purged K-fold, the role of every row, and a Parquet round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from financial_assets.cv import ROLES, PurgedKFold, WalkForward, fold_assignment, fold_summary

# 12 daily bars, labels ending one day later, 3 folds of 4 bars, embargo 2 bars.
T0 = pd.date_range("2024-03-01", periods=12, freq="D")
T1 = pd.Series(T0 + pd.Timedelta(days=1), index=T0)
# Fold 0 tests rows 0-3 (labels to day 4): row 4 overlaps, rows 4-5 are in the embargo, so 4 is purged, 5 embargoed.
# Fold 1 tests rows 4-7 (days 4..8): row 3 ends on day 4 and row 8 starts on day 8 (purged); row 9 embargoed.
# Fold 2 tests rows 8-11: row 7 ends on day 8 (purged); nothing follows.
EXPECTED = {
    0: {"train": [6, 7, 8, 9, 10, 11], "test": [0, 1, 2, 3], "purged": [4], "embargoed": [5]},
    1: {"train": [0, 1, 2, 10, 11], "test": [4, 5, 6, 7], "purged": [3, 8], "embargoed": [9]},
    2: {"train": [0, 1, 2, 3, 4, 5, 6], "test": [8, 9, 10, 11], "purged": [7], "embargoed": []},
}


def test_assignment_lists_every_row_of_every_fold_with_its_role() -> None:
    table = fold_assignment(PurgedKFold(3, t1=T1, embargo=2))
    assert list(table.columns) == ["fold", "row", "t0", "t1", "role"]
    assert list(table["role"].cat.categories) == list(ROLES) == ["train", "test", "purged", "embargoed"]
    for fold, roles in EXPECTED.items():
        rows = table[table["fold"] == fold]
        assert rows["row"].tolist() == list(range(12))
        for role, expected in roles.items():
            assert rows.loc[rows["role"] == role, "row"].tolist() == expected, (fold, role)
    assert (table["t0"].to_numpy() == T0[table["row"]].to_numpy()).all()
    assert (table["t1"].to_numpy() == T1.to_numpy()[table["row"]]).all()


def test_summary_counts_roles_and_dates_of_each_test_block() -> None:
    splitter = PurgedKFold(3, t1=T1, embargo=2)
    summary = fold_summary(splitter)
    assert summary.index.tolist() == [0, 1, 2]
    assert summary[["n_train", "n_test", "n_purged", "n_embargoed"]].to_numpy().tolist() == [
        [6, 4, 1, 1], [5, 4, 2, 1], [7, 4, 1, 0]]
    assert summary["test_start"].tolist() == [T0[0], T0[4], T0[8]]
    assert summary["test_end"].tolist() == [T0[3], T0[7], T0[11]]
    assert summary.equals(fold_summary(fold_assignment(splitter)))


def test_rows_a_walk_forward_split_does_not_use_are_absent() -> None:
    """Rolling 3-bar windows before 2-bar tests at rows 8-9 and 10-11: earlier rows and the future are left out."""
    table = fold_assignment(WalkForward(2, t1=T1, mode="rolling", train_size=3, test_size=2))
    assert table.groupby("fold")["row"].apply(list).tolist() == [[5, 6, 7, 8, 9], [7, 8, 9, 10, 11]]
    assert table.loc[table["role"] == "purged", "row"].tolist() == [7, 9]


def test_assignment_round_trips_through_parquet(tmp_path: Path) -> None:
    table = fold_assignment(PurgedKFold(3, t1=T1, embargo=2))
    path = tmp_path / "folds.parquet"
    table.to_parquet(path, index=False)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, table)
    assert back["fold"].dtype == np.int64 and back["row"].dtype == np.int64
