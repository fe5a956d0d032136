"""The outer folds of a training set as of a date, as a table to store, and the same splits read back from it.

`train_and_evaluate` takes `stored_splits(table)` as its outer splitter, so the folds a store holds
are exactly the folds a model was evaluated on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.cv import fold_assignment, fold_summary
from financial_assets.models.config import TrainingConfig
from financial_assets.models.dataset import DataDescription, build_dataset
from financial_assets.models.splits import SplitterFactory, embargo_bars, outer_factory
from financial_assets.models.train import MIN_ROWS

#: the stored table: the sample's ticker, the as-of date, the sample's own date and label end, its fold and role
FOLD_COLUMNS: tuple[str, ...] = ("ticker", "date", "sample_date", "t1", "fold", "row", "role")


@dataclass(frozen=True)
class AsOfFolds:
    """The outer folds of one training set: the table to store, its per-fold summary, the data it describes."""

    table: pd.DataFrame  # FOLD_COLUMNS; `row` is the sample's position in the training set
    summary: pd.DataFrame  # cv.fold_summary: n_train, n_test, n_purged, n_embargoed, test_start, test_end per fold
    data: DataDescription


def as_of_folds(frame: pd.DataFrame, config: TrainingConfig, as_of: pd.Timestamp) -> AsOfFolds:
    """Which sample is train, test, purged or embargoed in each outer fold of `config` on the rows known at `as_of`.

    BarDataError (rule `min_training_rows` or `outer_folds`, naming the ticker and date) when the
    rows are too few to train on or to split.
    """
    data = build_dataset(frame, config, as_of)
    who = "pooled" if config.pooled else (config.ticker or ",".join(data.description.tickers))
    if data.description.rows < MIN_ROWS:
        raise BarDataError("min_training_rows", f"{data.description.rows} labelled rows ({config.label} ending by "
                           f"the as-of date): at least {MIN_ROWS} are needed", ticker=who, date=as_of.date())
    try:
        splitter = outer_factory(config, embargo_bars(config, data.horizon))(data.t1_series())
        assignment = fold_assignment(splitter)
    except ValueError as error:
        raise BarDataError("outer_folds", str(error), ticker=who, date=as_of.date()) from error
    row = assignment["row"].to_numpy()
    table = pd.DataFrame({"ticker": data.panel.tickers[data.rows[row]].astype(str), "date": as_of,
                          "sample_date": assignment["t0"].to_numpy(), "t1": assignment["t1"].to_numpy(),
                          "fold": assignment["fold"].to_numpy(), "row": row, "role": assignment["role"].astype(str)})
    return AsOfFolds(table, fold_summary(assignment), data.description)


class _Replay:
    """The sklearn splitter protocol over fixed (train, test) row positions."""

    def __init__(self, folds: list[tuple[np.ndarray, np.ndarray]]):
        self.folds = folds

    def split(self, X: object, y: object = None, groups: object = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from self.folds


def stored_splits(table: pd.DataFrame) -> SplitterFactory:
    """A splitter factory giving the train and test rows of a stored fold table (one as-of date, every ticker).

    It checks that the table describes the samples it is asked to split (each row's date and label
    end): BarDataError (rule `cv_folds_current`) otherwise, since the training table changed after the
    folds were stored.
    """
    folds = [tuple(g.loc[g["role"] == role, "row"].to_numpy(np.int64) for role in ("train", "test"))
             for _, g in table.groupby("fold", sort=True)]
    samples = table.drop_duplicates("row").sort_values("row")

    def build(t1: pd.Series) -> _Replay:
        same = (len(samples) == len(t1) and (samples["row"].to_numpy() == np.arange(len(t1))).all()
                and (samples["sample_date"].to_numpy() == t1.index.to_numpy()).all()
                and (samples["t1"].to_numpy() == t1.to_numpy()).all())
        if not same:
            raise BarDataError("cv_folds_current", f"the stored folds describe {len(samples)} samples, the training "
                               f"set has {len(t1)} (or other dates): the training table changed since; rebuild "
                               "cv_folds",
                               ticker=",".join(sorted(table["ticker"].unique())), date=table["date"].iloc[0].date())
        return _Replay(folds)

    return build
