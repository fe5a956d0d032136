"""Probability calibration fitted on out-of-fold predictions only, never on the rows it calibrates.

Out-of-fold rule ("forward calibration"): the calibrated probability of a test fold k is the raw
probability mapped by a calibrator fitted on the out-of-fold records of other folds whose label
ended before fold k's first test date (t1 < min t0 of fold k). Those labels were known before any
row of fold k, so the map could have been built at that time: nothing of fold k or later reaches it.
With walk-forward folds these are the earlier folds; the first fold (and any fold with fewer than
`min_rows` such records, or one class only) has no calibrated probability (NaN), rather than one
fitted on its own rows. The calibrator shipped with the final model is fitted on every out-of-fold
record, all of which are known at the as-of date.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6


class Calibrator:
    """Isotonic regression or Platt scaling (a logistic fit on the raw log-odds) of P(up)."""

    def __init__(self, method: str = "isotonic"):
        if method not in ("isotonic", "platt"):
            raise ValueError(f"method must be 'isotonic' or 'platt', got {method!r}")
        self.method = method

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        q = np.clip(p, _EPS, 1 - _EPS)
        return (np.log(q) - np.log1p(-q))[:, None]

    def fit(self, p: np.ndarray, y: np.ndarray) -> Calibrator:
        """Learn the map from raw probabilities `p` to outcome frequencies of `y` (0/1)."""
        if self.method == "isotonic":
            self.model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        else:
            self.model = LogisticRegression(C=1e6, max_iter=1000).fit(self._logit(p), y)
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        """Calibrated P(up)."""
        if self.method == "isotonic":
            return self.model.predict(p)
        return self.model.predict_proba(self._logit(p))[:, 1]


def fit_calibrator(p: np.ndarray, y: np.ndarray, method: str, min_rows: int) -> Calibrator | None:
    """A fitted calibrator, or None with fewer than `min_rows` records or a single class."""
    if len(y) < min_rows or len(np.unique(y)) < 2:
        return None
    return Calibrator(method).fit(p, y)


def calibrate_out_of_fold(p: np.ndarray, y: np.ndarray, t0: np.ndarray, t1: np.ndarray, fold: np.ndarray,
                          method: str, min_rows: int) -> np.ndarray:
    """Calibrated probabilities of out-of-fold records by the forward rule above (NaN where none is possible)."""
    out = np.full(len(p), np.nan)
    for k in np.unique(fold):
        mine = fold == k
        source = (fold != k) & (t1 < t0[mine].min())
        calibrator = fit_calibrator(p[source], y[source], method, min_rows)
        if calibrator is not None:
            out[mine] = calibrator.transform(p[mine])
    return out
