"""The training set as of D: labels ending after D never enter, features exclude every label, the data is described."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.errors import BarDataError
from financial_assets.labels.compute import LABEL_COLUMNS
from financial_assets.models import TrainingConfig, build_dataset, is_label_column, label_source
from financial_assets_tests.models_data import random_walk_table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return random_walk_table(n_tickers=2, n_bars=400, seed=3)


def test_every_label_column_is_recognised_and_no_feature_is():
    assert all(is_label_column(c) for c in LABEL_COLUMNS)
    assert not any(is_label_column(c) for c in ("log_ret_1", "ret_5", "lag_ret_1", "rsi_14", "beta_bench_60", "t10x"))
    assert label_source("dir_5") == ("dir_5", "t1_5")
    assert label_source("tb_label") == ("tb_label", "tb_t1")
    with pytest.raises(ValueError):
        label_source("fwd_ret_5")


def test_only_labels_known_by_the_as_of_date_are_used(table):
    as_of = pd.Timestamp("2010-09-15")
    data = build_dataset(table, TrainingConfig(ticker="RW1", label="dir_5"), as_of)
    assert (data.t1 <= as_of.to_datetime64()).all() and (data.t0 <= as_of.to_datetime64()).all()
    mine = table[(table["ticker"] == "RW1") & (table["date"] <= as_of)]
    expected = mine[mine["t1_5"] <= as_of].dropna(subset=["dir_5"])
    assert len(data.rows) == len(expected)
    assert (data.panel.dates <= as_of.to_datetime64()).all()  # no later feature row is even in the panel
    assert len(data.panel.dates) == len(mine)
    np.testing.assert_array_equal(data.y, expected["dir_5"].to_numpy())
    assert not any(is_label_column(n) for n in data.panel.names) and "ticker" not in data.panel.names
    assert data.horizon == 5 and data.description.last_label_end <= as_of


def test_triple_barrier_labels_become_binary_and_end_at_tb_t1(table):
    data = build_dataset(table, TrainingConfig(ticker="RW0", label="tb_label"), table["date"].max())
    source = table[table["ticker"] == "RW0"].dropna(subset=["tb_label"]).sort_values("date")
    np.testing.assert_array_equal(data.y, (source["tb_label"] > 0).astype(float).to_numpy())
    np.testing.assert_array_equal(data.t1, source["tb_t1"].to_numpy())
    assert set(np.unique(data.y)) == {0.0, 1.0} and 1 < data.horizon <= 10


def test_pooled_rows_are_in_date_then_ticker_order(table):
    data = build_dataset(table, TrainingConfig(pooled=True), "2011-01-01")
    assert data.description.tickers == ("RW0", "RW1")
    order = pd.DataFrame({"date": data.t0, "ticker": data.panel.tickers[data.rows]})
    assert order.equals(order.sort_values(["date", "ticker"], ignore_index=True))
    with pytest.raises(ValueError, match="set config.ticker or config.pooled"):
        build_dataset(table, TrainingConfig(), "2011-01-01")


def test_the_description_hash_is_stable_and_sees_every_change(table):
    config = TrainingConfig(ticker="RW0")
    first = build_dataset(table, config, "2011-01-01").description
    again = build_dataset(table.sample(frac=1.0, random_state=1), config, "2011-01-01").description
    assert first == again  # row order of the input does not matter
    changed = table.copy()
    changed.loc[(changed["ticker"] == "RW0") & (changed["date"] == "2010-06-01"), "rsi_14"] += 1e-9
    assert build_dataset(changed, config, "2011-01-01").description.data_hash != first.data_hash
    assert build_dataset(table, config, "2011-01-03").description.data_hash != first.data_hash
    meta = first.as_metadata()
    assert meta["tickers"] == "RW0" and meta["rows"] == first.rows and meta["first_date"] == "2010-01-04"


def test_duplicate_rows_and_text_features_are_refused(table):
    with pytest.raises(ValueError, match="duplicate"):
        build_dataset(pd.concat([table, table.iloc[:1]]), TrainingConfig(ticker="RW0"), "2011-01-01")
    with pytest.raises(ValueError, match="numeric"):
        build_dataset(table.assign(note="x"), TrainingConfig(ticker="RW0"), "2011-01-01")


def test_a_ticker_without_rows_is_a_bar_data_error_naming_it(table):
    """cv_folds and trained_model skip a held-back ticker with a warning (a BarDataError) instead of failing the run."""
    with pytest.raises(BarDataError, match=r"^\[ticker_rows\] ticker='HELD': "):
        build_dataset(table, TrainingConfig(ticker="HELD", label="dir_5"), pd.Timestamp("2010-09-15"))
