"""The interface every model shares, and the preprocessing each one fits inside its training fold."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from financial_assets.models.dataset import Panel


class FoldModel(Protocol):
    """Fit on training rows of a panel, then give P(up) for any rows of a panel with the same features.

    `rows` are panel positions; `y` and `t1` (label end times) are aligned with `rows`, which are in
    (date, ticker) order. A model may read feature rows other than `rows` (a sequence window looks
    back over earlier rows of the same ticker) but no labels other than `y`.
    """

    def fit(self, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> FoldModel:
        """Fit on the training `rows` of `panel` with their labels `y` and label end times `t1`."""

    def predict_proba(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """P(up) for each of `rows` of `panel`."""


def make_preprocessor() -> Pipeline:
    """Median imputation then standard scaling; fitted on a training fold's rows only."""
    return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                     ("scale", StandardScaler())])


def one_class(y: np.ndarray) -> float | None:
    """The training base rate when `y` holds one class only (no classifier can be fitted), else None."""
    return float(y.mean()) if len(np.unique(y)) < 2 else None
