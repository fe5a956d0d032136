"""Training many models at once: one process per core, each fitting with one thread, results in task order.

The models of different tickers (and as-of dates) are independent computations, and every fit runs
with `TrainingConfig.threads` (1) threads, so a pool of processes uses the cores that one fit cannot.
Results come back in the order of the tasks, so whatever is done with them afterwards (MLflow
logging, the promotion chain of each ticker) sees the same sequence as a loop would.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.models.config import TrainingConfig
from financial_assets.models.folds import stored_splits
from financial_assets.models.train import TrainingResult, train_and_evaluate

#: fewer tasks than this train in the calling process: starting workers costs seconds
MIN_PARALLEL_TASKS = 4


@dataclass(frozen=True)
class TrainingTask:
    """One model to train: the unit's rows, its configuration, the as-of date and its stored folds."""

    frame: pd.DataFrame
    config: TrainingConfig
    as_of: pd.Timestamp
    folds: pd.DataFrame


def train_task(task: TrainingTask) -> TrainingResult | str:
    """The trained model, or why its data cannot give one: a rule it broke (BarDataError) or too few rows for the
    folds (ValueError, e.g. purging leaves an inner fold empty). A message pickles; a BarDataError may not."""
    try:
        return train_and_evaluate(task.frame, task.config, task.as_of, outer=stored_splits(task.folds))
    except (BarDataError, ValueError) as error:
        return str(error)


def worker_count(setting: str) -> int:
    """FA_TRAINING_WORKERS: a positive number, or empty for the machine's cores."""
    if not setting.strip():
        return os.cpu_count() or 1
    if not setting.strip().isdigit() or int(setting) < 1:
        raise ValueError(f"FA_TRAINING_WORKERS must be a positive number or empty, got {setting!r}")
    return int(setting)


def train_in_order(tasks: Sequence[TrainingTask],
                   workers: int) -> Iterator[tuple[TrainingTask, TrainingResult | str]]:
    """Each task with its `train_task` outcome, in task order; in `workers` spawned processes when there are enough
    tasks. Consume it to the end (or close it): the pool shuts down when the iteration finishes."""
    if workers <= 1 or len(tasks) < MIN_PARALLEL_TASKS:
        yield from ((task, train_task(task)) for task in tasks)
        return
    # spawn, not fork: the caller has torch, xgboost and Dagster's threads loaded
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(train_task, task) for task in tasks]
        for task, future in zip(tasks, futures, strict=True):
            yield task, future.result()
    finally:
        pool.shutdown(cancel_futures=True)
