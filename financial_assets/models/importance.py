"""Feature importance: xgboost gain, permutation importance on test folds, per-prediction contributions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from financial_assets.models.base import FoldModel
from financial_assets.models.dataset import Panel
from financial_assets.models.evaluation import metric_arrays


@dataclass(frozen=True)
class FeatureImportance:
    """gain: the final xgboost model's total gain per feature (None for other models); permutation: AUC drop
    per feature (rows) and test fold (columns); contributions: out-of-fold xgboost SHAP values (None otherwise)."""

    gain: pd.Series | None
    permutation: pd.DataFrame
    contributions: pd.DataFrame | None

    def ranking(self) -> pd.DataFrame:
        """One row per feature: gain share and mean permutation AUC drop, sorted by the latter (then gain)."""
        out = pd.DataFrame(index=self.permutation.index)
        if len(self.permutation.columns):
            out["permutation_auc_drop"] = self.permutation.mean(axis=1)
        if self.gain is not None:
            total = self.gain.sum()
            out["gain_share"] = self.gain / total if total > 0 else 0.0
        return out.sort_values(list(out.columns), ascending=False) if len(out.columns) else out


def permutation_importance(model: FoldModel, panel: Panel, rows: np.ndarray, y: np.ndarray, repeats: int,
                           seed: int) -> pd.Series:
    """Mean drop in AUC on these (test) rows when one feature is shuffled among them, per feature."""
    rng = np.random.default_rng(seed)
    base = metric_arrays(y, model.predict_proba(panel, rows))["auc"][0]
    features = panel.features.copy()
    drops = np.zeros(len(panel.names))
    for j in range(len(panel.names)):
        original = features[rows, j].copy()
        for _ in range(repeats):
            features[rows, j] = original[rng.permutation(len(rows))]
            drops[j] += base - metric_arrays(y, model.predict_proba(panel.with_features(features), rows))["auc"][0]
        features[rows, j] = original
    return pd.Series(drops / max(repeats, 1), index=list(panel.names), name="auc_drop")
