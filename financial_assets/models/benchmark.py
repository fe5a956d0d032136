"""Training-time measurements for BENCH lines: seconds per ticker-fold and per full cross-validation.

Targets: xgboost under 2 s per ticker-fold on ~3,000 rows x 50 features; an LSTM's full CV of one
ticker under 120 s on CPU. The data is a seeded random walk with noise features: the work is the
same as on real data, and the scores must be chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from financial_assets.models.config import TrainingConfig
from financial_assets.models.train import train_and_evaluate


def synthetic_table(rows: int = 3000, features: int = 50, seed: int = 0) -> pd.DataFrame:
    """One ticker: log_ret_1 of a random walk, `features - 1` noise columns, and its dir_5 label with t1_5."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2000-01-03", periods=rows)
    returns = rng.normal(0.0, 0.01, rows)
    frame = pd.DataFrame({"ticker": "BENCH", "date": dates, "log_ret_1": returns})
    noise = pd.DataFrame(rng.standard_normal((rows, features - 1)), columns=[f"noise_{i}" for i in range(features - 1)])
    frame = pd.concat([frame, noise], axis=1)
    ahead = pd.Series(np.cumsum(returns)).shift(-5) - np.cumsum(returns)
    frame["dir_5"] = np.where(ahead.isna(), np.nan, (ahead > 0).astype(float))
    frame["t1_5"] = pd.Series(dates).shift(-5)
    return frame


def measure_training(model_type: str = "xgboost", rows: int = 3000, features: int = 50, seed: int = 0,
                     **overrides: Any) -> dict[str, float]:
    """Seconds of one ticker's training: `fit_seconds_per_fold` (one fold's model fit), `cv_seconds` (the
    whole `train_and_evaluate`, tuning, baselines and refit included), plus the OOS AUC as a sanity check."""
    frame = synthetic_table(rows, features, seed)
    config = TrainingConfig(**({"model_type": model_type, "label": "dir_5", "seed": seed} | overrides))
    result = train_and_evaluate(frame, config, frame["date"].max())
    return {"fit_seconds_per_fold": result.timings["fit_seconds_per_fold"],
            "cv_seconds": result.timings["total_seconds"], "oos_auc": result.metrics["oos_auc"]}
