"""Same folds as skfolio and timeseriescv on equivalent settings, from fixtures those libraries recorded.

`fixtures/cv/make_cv_fixtures.py` ran the references in an environment of their own (skfolio
cannot be installed beside the project's plotly); `fixtures/cv/README.md` explains how each
reference's parameters map onto ours and where timeseriescv 0.2 differs.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import financial_assets.cv as cv_package
from financial_assets_tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "cv"
SKFOLIO = json.loads((FIXTURES / "skfolio.json").read_text())["cases"]
TIMESERIESCV = json.loads((FIXTURES / "timeseriescv.json").read_text())["cases"]


def times(case: dict[str, Any]) -> pd.Series:
    return pd.Series(pd.to_datetime(case["t1"]), index=pd.to_datetime(case["t0"]))


def splitter(case: dict[str, Any]) -> cv_package.PurgedSplitter:
    return getattr(cv_package, case["splitter"])(**case["params"], t1=times(case))


def our_splits(case: dict[str, Any]) -> list[dict[str, list[int]]]:
    return [{"train": train.tolist(), "test": test.tolist()}
            for train, test in splitter(case).split(np.zeros((len(case["t0"]), 1)))]


def in_our_order(case: dict[str, Any], splits: list[dict[str, list[int]]]) -> list[dict[str, list[int]]]:
    """timeseriescv's CombPurgedKFoldCV yields the combinations in reverse order; ours are lexicographic."""
    return splits[::-1] if case["reference"] == "timeseriescv.CombPurgedKFoldCV" else splits


@pytest.mark.parametrize("case", SKFOLIO, ids=[c["name"] for c in SKFOLIO])
def test_same_folds_as_skfolio(case: dict[str, Any]) -> None:
    assert our_splits(case) == case["splits"]


@pytest.mark.parametrize("case", [c for c in SKFOLIO if "recombined_paths" in c],
                         ids=[c["name"] for c in SKFOLIO if "recombined_paths" in c])
def test_same_path_table_as_skfolio(case: dict[str, Any]) -> None:
    """skfolio's recombined_paths is group x path -> split; ours is its transpose."""
    table = splitter(case).path_table()
    assert table.to_numpy().tolist() == np.array(case["recombined_paths"]).T.tolist()


def test_same_path_returns_as_skfolio_cross_val_predict() -> None:
    """Stitching skfolio's per-split InverseVolatility returns gives skfolio's own per-path return series."""
    case = next(c for c in SKFOLIO if "path_returns" in c)
    assert our_splits(case) == case["splits"]
    paths = splitter(case).path_predictions(case["predictions"])
    np.testing.assert_allclose(paths.to_numpy().T, np.array(case["path_returns"]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", TIMESERIESCV, ids=[c["name"] for c in TIMESERIESCV])
def test_same_folds_as_timeseriescv(case: dict[str, Any]) -> None:
    """CPCV cases against 0.2 with its upstream embargo fix (PR #8); the others against 0.2 as released too."""
    expected = case.get("splits_pr8", case["splits"])
    if case["splitter"] != "CombinatorialPurgedCV":
        assert expected == case["splits"]  # one test block per split: 0.2's embargo slice cannot go wrong
    assert our_splits(case) == in_our_order(case, expected)


CPCV_02 = [c for c in TIMESERIESCV if c["splitter"] == "CombinatorialPurgedCV"]


@pytest.mark.parametrize("case", CPCV_02, ids=[c["name"] for c in CPCV_02])
def test_released_timeseriescv_differs_only_where_its_embargo_slice_reaches_a_later_block(case: dict) -> None:
    """0.2 takes a block's last label end from test[:block_end] (positions in the test array, not rows).

    Where that slice holds rows of a later test block, 0.2 embargoes the wrong span; in every
    other split it gives our folds exactly.
    """
    released = in_our_order(case, case["splits"])
    mismatches = 0
    for ours, theirs in zip(our_splits(case), released, strict=True):
        assert ours["test"] == theirs["test"]
        if ours["train"] == theirs["train"]:
            continue
        mismatches += 1
        test = np.array(theirs["test"])
        ends = [int(run[-1]) + 1 for run in np.split(test, np.flatnonzero(np.diff(test) > 1) + 1)]
        assert any(test[:end].max() >= end for end in ends), "a difference where 0.2's slice is correct"
    assert mismatches > 0


def overlapping_rows(case: dict[str, Any], split: dict[str, list[int]]) -> int:
    """Training rows whose [t0, t1] meets a test block's [first t0, last t1], counted from the dates alone."""
    t0, t1 = pd.to_datetime(case["t0"]), pd.to_datetime(case["t1"])
    test, train = np.array(split["test"]), np.array(split["train"])
    blocks = np.split(test, np.flatnonzero(np.diff(test) > 1) + 1)
    return sum(int(((t0[train] <= t1[block].max()) & (t1[train] >= t0[block[0]])).sum()) for block in blocks)


def test_released_timeseriescv_keeps_training_labels_that_overlap_the_test_set() -> None:
    """The 0.2 leak, shown without our code; with the upstream fix no training label meets a test block."""
    case = next(c for c in TIMESERIESCV if c["name"] == "cpcv_6_2_mixed_labels")
    assert sum(overlapping_rows(case, split) for split in case["splits"]) > 0
    assert sum(overlapping_rows(case, split) for split in case["splits_pr8"]) == 0
