"""Optuna search nested inside one training fold: inner purged walk-forward splits of those rows only.

The caller passes a training fold's rows and nothing else, so the tuner cannot see the outer test
fold. The objective is the mean of the inner test folds' AUCs, the headline metric's within-fold
ranking skill (an inner log loss would also score each inner fold's level, its base-rate shift, which
dwarfs a weak edge). The first trial is the model's defaults; the sampler is TPE seeded by the caller.
The trial count is returned because a backtest's deflated Sharpe ratio must know how many
configurations were tried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from financial_assets.models.config import TrainingConfig
from financial_assets.models.dataset import Panel
from financial_assets.models.evaluation import auc_arrays
from financial_assets.models.registry import is_tunable, make_model, model_class
from financial_assets.models.splits import SplitterFactory


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def tune(config: TrainingConfig, panel: Panel, rows: np.ndarray, y: np.ndarray, t1: np.ndarray,
         inner: SplitterFactory, seed: int) -> tuple[dict[str, Any], int]:
    """(best hyperparameters, trials run) for config.model_type on these training rows; ({}, 0) when not tuned."""
    if config.trials <= 0 or not is_tunable(config.model_type):
        return {}, 0
    cls = model_class(config.model_type)
    import optuna

    splits = [(train, test) for train, test in
              inner(pd.Series(t1, index=pd.DatetimeIndex(panel.dates[rows]))).split(np.zeros((len(rows), 1)))
              if len(train) and len(test)]
    if not splits:
        return {}, 0

    def objective(trial: optuna.Trial) -> float:
        params = cls.suggest(trial)
        scores = [auc_arrays(y[test], make_model(config, params).fit(panel, rows[train], y[train], t1[train])
                             .predict_proba(panel, rows[test]))[0] for train, test in splits]
        known = [s for s in scores if np.isfinite(s)]
        return float(np.mean(known)) if known else 0.5

    with _quiet_optuna():
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        study.enqueue_trial({**cls.defaults, **config.params})  # keys outside the search space are ignored
        study.optimize(objective, n_trials=config.trials)
    return dict(study.best_params), len(study.trials)
