"""Each splitter works as `cv=` in scikit-learn: cross_val_score and a grid search run on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, check_cv, cross_val_score

from financial_assets.cv import CombinatorialPurgedCV, PurgedKFold, WalkForward

N_BARS, TICKERS = 120, 2
T0 = pd.DatetimeIndex(np.repeat(pd.bdate_range("2020-01-02", periods=N_BARS), TICKERS))
T1 = pd.Series(T0 + pd.offsets.BDay(5), index=T0)
SPLITTERS = {
    "walk_forward_expanding": lambda: WalkForward(4, t1=T1, embargo=5),
    "walk_forward_rolling": lambda: WalkForward(4, t1=T1, mode="rolling", train_size=40, test_size=15),
    "purged_kfold": lambda: PurgedKFold(5, t1=T1, embargo=5),
    "cpcv": lambda: CombinatorialPurgedCV(6, 2, t1=T1, embargo=5),
}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N_BARS * TICKERS, 3))
    return X, (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)


@pytest.mark.parametrize("name", sorted(SPLITTERS))
def test_cross_val_score_runs_every_split(name: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    cv = SPLITTERS[name]()
    assert check_cv(cv) is cv
    X, y = data
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring="roc_auc", error_score="raise")
    assert scores.shape == (cv.get_n_splits(),)
    assert np.isfinite(scores).all()
    assert scores.mean() > 0.6  # X[:, 0] carries the signal, so every split learns something


@pytest.mark.parametrize("name", sorted(SPLITTERS))
def test_grid_search_accepts_the_splitter(name: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=SPLITTERS[name](), error_score="raise")
    assert search.fit(X, y).best_params_["C"] in (0.1, 1.0)
