"""Probability calibration fitted on a predictor's own out-of-sample outputs, never on the rows it calibrates later.

A calibrator maps the raw P(up) of one fold model to outcome frequencies. It is fitted on that same
model's predictions for its own outer test block, so the map knows the model's level and spread
(a refitted or another fold's model predicts at another level, with another spread, and a map fitted
on one collapses the other into a few steps). Platt scaling (a logistic fit on the raw log-odds, two
parameters) is the default: on a few hundred rows isotonic regression turns a weak model into a
handful of steps. The Platt slope is kept >= 0: a fold whose own outputs rank the wrong way on its
block gets the flat map (its block's up-rate), never an inverted model.

`base_rate` is the up-rate the calibrated probability is compared with: the mean calibrated
probability on the calibrator's own rows (for Platt, their label's up-rate).
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6


class Calibrator:
    """Platt scaling with a non-negative slope, or isotonic regression, of P(up)."""

    def __init__(self, method: str = "platt"):
        if method not in ("isotonic", "platt"):
            raise ValueError(f"method must be 'isotonic' or 'platt', got {method!r}")
        self.method = method
        self.base_rate = 0.5

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
        return np.log(q) - np.log1p(-q)

    def fit(self, p: np.ndarray, y: np.ndarray) -> Calibrator:
        """Learn the map from raw probabilities `p` to outcome frequencies of `y` (0/1)."""
        y = np.asarray(y, dtype=np.float64)
        if self.method == "isotonic":
            self.model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        else:
            fitted = LogisticRegression(C=1e6, max_iter=1000).fit(self._logit(p)[:, None], y)
            self.slope, self.intercept = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
            if self.slope <= 0.0:  # no ranking skill on its own rows: the flat map, the block's up-rate
                self.slope, self.intercept = 0.0, float(self._logit(np.array([y.mean()]))[0])
        self.base_rate = float(self.transform(p).mean())
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        """Calibrated P(up)."""
        if self.method == "isotonic":
            return self.model.predict(p)
        return 1.0 / (1.0 + np.exp(-(self.slope * self._logit(p) + self.intercept)))


def fit_calibrator(p: np.ndarray, y: np.ndarray, method: str, min_rows: int) -> Calibrator | None:
    """A fitted calibrator, or None with fewer than `min_rows` records or a single class."""
    if len(y) < min_rows or len(np.unique(y)) < 2:
        return None
    return Calibrator(method).fit(p, y)
