"""Row-wise models: xgboost (default), logistic regression, and the majority-class and previous-sign baselines.

xgboost is imported when a model is fitted, so importing this package stays cheap for Dagster's code loading.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from financial_assets.models.base import make_preprocessor, one_class
from financial_assets.models.config import TrainingConfig
from financial_assets.models.dataset import Panel
from financial_assets.models.splits import purged_holdout


class MajorityModel:
    """Predicts the training fold's up-rate for every row: the majority class, and the climatology log loss."""

    def __init__(self, params: Mapping[str, Any], config: TrainingConfig):
        self.rate = 0.5

    def fit(self, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> MajorityModel:
        """Remember the training rows' up-rate."""
        self.rate = float(y.mean()) if len(y) else 0.5
        return self

    def predict_proba(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """The training up-rate for every row."""
        return np.full(len(rows), self.rate)


class PreviousSignModel:
    """Up when the last bar went up (log_ret_1 > 0): 1.0 or 0.0, 0.5 where log_ret_1 is missing. Learns nothing."""

    def __init__(self, params: Mapping[str, Any], config: TrainingConfig):
        pass

    def fit(self, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> PreviousSignModel:
        """Nothing to learn."""
        return self

    def predict_proba(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """1.0 after an up bar, 0.0 after a down bar, 0.5 where log_ret_1 is missing."""
        last = panel.column("log_ret_1")[rows]
        return np.where(np.isnan(last), 0.5, (last > 0).astype(float))


class LogisticModel:
    """L1-penalised logistic regression on imputed, scaled features.

    The penalty is `alpha` * sqrt(n log p) / n per unit of mean log loss (sklearn's C = 1 / (alpha sqrt(n log p))
    for n rows and p features), the rate at which the largest spurious coefficient of p noise features
    shrinks: one `alpha` suits a short first fold and a long last one. L1 keeps the few features that
    carry an edge and zeroes the rest; on a planted AR(1) edge it ranks closer to the Bayes score than
    L2 at every size tried (see `financial_assets.models.honesty`).
    """

    defaults: Mapping[str, Any] = {"alpha": 0.5}

    def __init__(self, params: Mapping[str, Any], config: TrainingConfig):
        self.params = {**self.defaults, **params}
        self.seed = config.seed
        self.constant: float | None = None

    @staticmethod
    def suggest(trial: Any) -> dict[str, Any]:
        """Optuna search space."""
        return {"alpha": trial.suggest_float("alpha", 0.2, 1.0, log=True)}

    def fit(self, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> LogisticModel:
        """Fit the imputer, scaler and penalised regression; one class only gives its rate."""
        self.constant = one_class(y)
        if self.constant is None:
            n, p = len(rows), max(len(panel.names), 2)
            strength = float(self.params["alpha"]) * np.sqrt(n * np.log(p))
            self.pipeline = Pipeline([*make_preprocessor().steps,
                                      ("model", LogisticRegression(C=1.0 / strength, l1_ratio=1.0, solver="saga",
                                                                 max_iter=2000, tol=1e-4, random_state=self.seed))])
            self.pipeline.fit(panel.features[rows], y)
        return self

    def predict_proba(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """P(up) of `rows`, or the one training class's rate."""
        if self.constant is not None:
            return np.full(len(rows), self.constant)
        return self.pipeline.predict_proba(panel.features[rows])[:, 1]


class XGBoostModel:
    """Gradient-boosted trees; their number early-stopped on a purged slice at the end of the training fold.

    Daily edges are weak and nearly linear, and each split is the best of many noisy candidates: deep
    trees fit noise. The defaults boost stumps (depth 1: an additive model) on leaves of at least ~40
    rows (hessian >= 10; larger ones leave a short first fold unable to split) of 70% of the rows each,
    with a small step, and stop when the slice's log loss has not improved for 100 rounds (30 stopped
    weak edges after a handful of trees). The search space keeps depth 1 to 3 for edges that interact.
    """

    defaults: Mapping[str, Any] = {"n_estimators": 1000, "learning_rate": 0.05, "max_depth": 1,
                                   "min_child_weight": 10.0, "subsample": 0.7, "colsample_bynode": 1.0,
                                   "reg_lambda": 1.0, "max_bin": 64, "early_stopping_rounds": 100}

    def __init__(self, params: Mapping[str, Any], config: TrainingConfig):
        self.params = {**self.defaults, **params}
        self.seed, self.threads, self.fraction = config.seed, config.threads, config.validation_fraction
        self.constant: float | None = None
        self.names: tuple[str, ...] = ()

    @staticmethod
    def suggest(trial: Any) -> dict[str, Any]:
        """Optuna search space."""
        return {"max_depth": trial.suggest_int("max_depth", 1, 3),
                "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.1, log=True),
                "min_child_weight": trial.suggest_float("min_child_weight", 5.0, 100.0, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 0.9),
                "colsample_bynode": trial.suggest_float("colsample_bynode", 0.3, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 10.0, log=True)}

    def fit(self, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray) -> XGBoostModel:
        """Fit the trees, their number early-stopped on a purged slice; one class only gives its rate."""
        from xgboost import XGBClassifier

        self.names = panel.names
        self.constant = one_class(y)
        if self.constant is not None:
            return self
        self.preprocessor = make_preprocessor().fit(panel.features[rows])
        z = self.preprocessor.transform(panel.features[rows])
        fit, validation = purged_holdout(panel.dates[rows], t1, self.fraction)
        stop = len(validation) > 0 and len(np.unique(y[validation])) == 2
        params = dict(self.params)
        rounds = int(params.pop("early_stopping_rounds"))
        common = {"eval_metric": "logloss", "tree_method": "hist", "random_state": self.seed, "n_jobs": self.threads}
        if stop:  # find the number of trees on the slice, then refit on every training row with that many
            probe = XGBClassifier(**params, early_stopping_rounds=rounds, **common)
            probe.fit(z[fit], y[fit], eval_set=[(z[validation], y[validation])], verbose=False)
            params["n_estimators"] = int(probe.best_iteration) + 1
        self.model = XGBClassifier(**params, **common).fit(z, y, verbose=False)
        return self

    def predict_proba(self, panel: Panel, rows: np.ndarray) -> np.ndarray:
        """P(up) of `rows`, or the one training class's rate."""
        if self.constant is not None:
            return np.full(len(rows), self.constant)
        return self.model.predict_proba(self.preprocessor.transform(panel.features[rows]))[:, 1]

    def contributions(self, panel: Panel, rows: np.ndarray) -> pd.DataFrame:
        """Per-prediction SHAP contributions in log-odds (pred_contribs), one column per feature plus `bias`."""
        from xgboost import DMatrix

        columns = [*self.names, "bias"]
        if self.constant is not None:
            return pd.DataFrame(np.zeros((len(rows), len(columns))), columns=columns)
        matrix = DMatrix(self.preprocessor.transform(panel.features[rows]))
        values = self.model.get_booster().predict(matrix, pred_contribs=True)
        return pd.DataFrame(values, columns=columns)

    def gain(self) -> pd.Series:
        """Total gain of each feature's splits (features never split on score 0)."""
        scores = {} if self.constant is not None else self.model.get_booster().get_score(importance_type="total_gain")
        return pd.Series([float(scores.get(f"f{i}", 0.0)) for i in range(len(self.names))], index=list(self.names),
                         name="gain")
