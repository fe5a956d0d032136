"""Fold assignment: every split's rows by role as a tidy table to store, and a per-split summary for metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd

from financial_assets.cv.base import PurgedSplitter
from financial_assets.cv.purge import Fold

ROLES: tuple[str, ...] = Fold._fields  # ("train", "test", "purged", "embargoed")


def fold_assignment(splitter: PurgedSplitter) -> pd.DataFrame:
    """One row per (fold, sample) a split uses: fold, row position, t0, t1 and role, sorted by fold and row.

    `role` is a categorical of ROLES. Rows a split does not use at all (the future of a
    walk-forward test block, bars outside a rolling window) are absent from that fold. `row` is
    the position in X, so joining on it brings back the ticker of a pooled panel.
    """
    folds, rows, roles = [], [], []
    for number, fold in enumerate(splitter.folds()):
        role = np.full(len(splitter.times), -1, dtype=np.int8)
        for code, positions in enumerate(fold):
            role[positions] = code
        used = np.flatnonzero(role >= 0)
        folds.append(np.full(used.size, number, dtype=np.int64))
        rows.append(used)
        roles.append(role[used])
    row = np.concatenate(rows)
    return pd.DataFrame({
        "fold": np.concatenate(folds),
        "row": row.astype(np.int64),
        "t0": splitter.times.t0[row],
        "t1": splitter.times.t1[row],
        "role": pd.Categorical.from_codes(np.concatenate(roles), dtype=pd.CategoricalDtype(list(ROLES))),
    })


def fold_summary(folds: PurgedSplitter | pd.DataFrame) -> pd.DataFrame:
    """Per fold: n_train, n_test, n_purged, n_embargoed rows and the first and last test t0 (small, for metadata).

    Takes a splitter or the table `fold_assignment` made of it.
    """
    table = fold_assignment(folds) if isinstance(folds, PurgedSplitter) else folds
    counts = table.groupby(["fold", "role"], observed=False).size().unstack("role")
    counts = counts.reindex(columns=list(ROLES), fill_value=0).add_prefix("n_")
    test = table.loc[table["role"] == "test"].groupby("fold")["t0"]
    summary = counts.assign(test_start=test.min(), test_end=test.max())
    summary.columns.name = None
    return summary.astype({f"n_{role}": np.int64 for role in ROLES})
