"""CV input checks: bad sample times and impossible parameters fail early with messages naming the row or value."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from financial_assets.cv import CombinatorialPurgedCV, PurgedKFold, WalkForward, purge

DAYS = pd.date_range("2024-01-01", periods=10, freq="D")


def labels(t0: pd.DatetimeIndex, days: int = 1) -> pd.Series:
    return pd.Series(t0 + pd.Timedelta(days=days), index=t0)


@pytest.mark.parametrize(("t1", "message"), [
    (pd.Series(DAYS[[0, 1, 3, 2, 4]] + pd.Timedelta(days=1), index=DAYS[[0, 1, 3, 2, 4]]),
     r"sorted by t0: row 3 has t0 2024-01-03 00:00:00 after 2024-01-04 00:00:00 at row 2"),
    (pd.Series(DAYS[:5].where(np.arange(5) != 2, DAYS[0]), index=DAYS[:5]),
     r"t1 must not precede t0: row 2 has t0 2024-01-03 00:00:00 and t1 2024-01-01 00:00:00"),
    (pd.Series(pd.DatetimeIndex([DAYS[1], DAYS[2], pd.NaT, DAYS[4]]), index=DAYS[:4]),
     r"t1 is NaT at row 2 \(t0 2024-01-03 00:00:00\)"),
    (pd.Series(DAYS[1:4], index=pd.DatetimeIndex([DAYS[0], pd.NaT, DAYS[2]])), r"t0 \(the index\) is NaT at row 1"),
    (pd.Series([], index=pd.DatetimeIndex([]), dtype="datetime64[ns]"), "t1 is empty"),
])
def test_bad_sample_times_name_the_first_offending_row(t1: pd.Series, message: str) -> None:
    for make in (lambda: PurgedKFold(2, t1=t1), lambda: WalkForward(1, t1=t1),
                 lambda: CombinatorialPurgedCV(2, 1, t1=t1)):
        with pytest.raises(ValueError, match=message):
            make()


def test_sample_times_must_be_a_series_of_datetimes() -> None:
    with pytest.raises(TypeError, match="pandas Series"):
        PurgedKFold(2, t1=list(DAYS))
    with pytest.raises(TypeError, match="datetimes"):
        PurgedKFold(2, t1=pd.Series(np.arange(10), index=DAYS))


def test_x_must_have_one_row_per_sample_time() -> None:
    cv = PurgedKFold(2, t1=labels(DAYS))
    with pytest.raises(ValueError, match="X has 9 rows but t1 has 10"):
        next(cv.split(np.zeros((9, 2))))


def test_timezone_aware_and_coarse_unit_times_are_accepted() -> None:
    t0 = pd.date_range("2024-01-01", periods=10, freq="D", tz="America/New_York").as_unit("s")
    folds = list(PurgedKFold(2, t1=labels(t0, days=1)).folds())
    assert folds[0].purged.tolist() == [5] and folds[1].purged.tolist() == [4]


@pytest.mark.parametrize(("make", "message"), [
    (lambda t1: PurgedKFold(1, t1=t1), "n_splits must be an integer >= 2, got 1"),
    (lambda t1: PurgedKFold(11, t1=t1), "11 groups need at least 11 distinct t0 values, there are 10"),
    (lambda t1: PurgedKFold(2.0, t1=t1), "n_splits must be an integer"),
    (lambda t1: PurgedKFold(2, t1=t1, embargo=-1), "embargo must be an integer >= 0"),
    (lambda t1: CombinatorialPurgedCV(4, 4, t1=t1), "n_test_groups=4 must be smaller than n_groups=4"),
    (lambda t1: WalkForward(5, t1=t1, test_size=2), "leave no history"),
    (lambda t1: WalkForward(10, t1=t1), "too few for 10 test blocks"),
    (lambda t1: WalkForward(2, t1=t1, mode="rolling"), "needs train_size"),
    (lambda t1: WalkForward(2, t1=t1, train_size=3), "rolling' only"),
    (lambda t1: WalkForward(2, t1=t1, mode="rolling", train_size=5, test_size=3), "do not fit before"),
    (lambda t1: WalkForward(2, t1=t1, mode="sliding"), "'expanding' or 'rolling'"),
])
def test_impossible_parameters_are_refused(make: Callable[[pd.Series], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(labels(DAYS))


def test_a_split_left_without_training_rows_is_an_error() -> None:
    """Labels ending 9 days on purge every other row against any test fold."""
    cv = PurgedKFold(2, t1=labels(DAYS, days=9))
    with pytest.raises(ValueError, match="split 0: purging and the embargo leave no training rows"):
        list(cv.split(np.zeros((10, 1))))


def test_purge_refuses_inconsistent_row_sets() -> None:
    t1 = labels(DAYS)
    with pytest.raises(ValueError, match="row 3 is in both"):
        purge(t1, np.arange(0, 5), np.arange(3, 6))
    with pytest.raises(ValueError, match="empty"):
        purge(t1, np.arange(5), np.array([], dtype=int))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        purge(t1, np.arange(5), np.array([10]))


def test_default_walk_forward_test_size_is_n_bars_over_n_splits_plus_one() -> None:
    """As in scikit-learn's TimeSeriesSplit: 10 bars, 3 splits -> test blocks of 2 bars, the last 6 bars."""
    tests = [test.tolist() for _, test in WalkForward(3, t1=labels(DAYS, days=0)).split(np.zeros(10))]
    assert tests == [[4, 5], [6, 7], [8, 9]]
