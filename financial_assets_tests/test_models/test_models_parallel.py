"""Training in worker processes: the same results as a loop, in task order; data too short is a message, not a crash."""

from __future__ import annotations

import pandas as pd
import pytest

from financial_assets.models import TrainingConfig, TrainingResult
from financial_assets.models.folds import FOLD_COLUMNS, as_of_folds
from financial_assets.models.parallel import MIN_PARALLEL_TASKS, TrainingTask, train_in_order, worker_count
from financial_assets_tests.models_data import random_walk_table

CONFIG = TrainingConfig(model_type="logistic", tuning_trials=0, n_boot=100, permutation_repeats=0)


def _task(n_bars: int, seed: int) -> TrainingTask:
    frame = random_walk_table(n_tickers=1, n_bars=n_bars, seed=seed)
    as_of = frame["date"].iloc[-1]
    folds = as_of_folds(frame, CONFIG, as_of).table if n_bars >= 300 else pd.DataFrame(columns=FOLD_COLUMNS)
    return TrainingTask(frame, CONFIG, as_of, folds)


def test_workers_give_the_loops_results_in_task_order_and_short_data_as_a_message():
    tasks = [_task(60, 1), _task(400, 2), _task(60, 3), _task(400, 4)]
    assert len(tasks) >= MIN_PARALLEL_TASKS  # so the pool is used
    in_pool = [result for _, result in train_in_order(tasks, workers=2)]
    in_loop = [result for _, result in train_in_order(tasks, workers=1)]
    assert [type(r) for r in in_pool] == [str, TrainingResult, str, TrainingResult]
    assert all("at least 100 are needed" in r for r in in_pool if isinstance(r, str))
    for pooled, looped in zip(in_pool[1::2], in_loop[1::2], strict=True):
        assert pooled.metrics == looped.metrics and pooled.data.data_hash == looped.data.data_hash


@pytest.mark.parametrize("setting, expected", [("3", 3), ("1", 1)])
def test_the_worker_setting(setting, expected):
    assert worker_count(setting) == expected
    assert worker_count("") >= 1
    with pytest.raises(ValueError, match="FA_TRAINING_WORKERS"):
        worker_count("0")
