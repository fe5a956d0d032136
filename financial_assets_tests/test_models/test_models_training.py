"""train_and_evaluate end to end: what it returns, outer test folds kept from their own models, predict, benchmarks."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from financial_assets.models import Calibrator, TrainingConfig, predict, train_and_evaluate
from financial_assets.models.benchmark import measure_training
from financial_assets.models.splits import purged_holdout
from financial_assets_tests.models_data import random_walk_table

FAST = {"n_boot": 200, "permutation_repeats": 0}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return random_walk_table(n_tickers=1, n_bars=700, seed=8)


@pytest.fixture(scope="module")
def xgb(table):
    config = TrainingConfig(label="dir_5", tuning_trials=2, n_boot=200, permutation_repeats=1, top_n=5)
    return train_and_evaluate(table, config, table["date"].iloc[-1])


def test_the_result_holds_metrics_with_intervals_and_baselines(xgb):
    for metric in ("auc", "auc_pooled", "balanced_accuracy", "accuracy", "log_loss", "brier", "f1"):
        low, value, high = (xgb.metrics[f"oos_{metric}{s}"] for s in ("_ci_low", "", "_ci_high"))
        assert low <= value <= high
        for baseline in ("majority", "previous_sign", "logistic"):
            assert np.isfinite(xgb.baselines[f"baseline_{baseline}_{metric}"])
    assert 0.0 <= xgb.metrics["accuracy_vs_majority_pvalue"] <= 1.0
    assert xgb.metrics["oos_block_length"] == 9  # max(horizon 5, ceil(n_dates ** (1/3)))
    assert xgb.trials == 2 * len(xgb.folds)  # every outer fold's search (the served model is a fold's)
    assert xgb.config.embargo is None and xgb.data.horizon == 5


def test_out_of_fold_records_and_fold_table_agree(xgb):
    oof = xgb.oof
    assert list(oof.columns) == ["date", "ticker", "fold", "t1", "label", "probability", "calibrated", "base_rate",
                                 "baseline_majority", "baseline_previous_sign", "baseline_logistic"]
    assert oof["date"].is_monotonic_increasing and not oof.duplicated(["date", "ticker"]).any()
    assert (oof["t1"] <= xgb.data.as_of).all()
    assert oof.loc[oof["fold"] == 0, "calibrated"].isna().all() and oof.loc[oof["fold"] > 0, "calibrated"].notna().all()
    assert oof["base_rate"].notna().equals(oof["calibrated"].notna())
    assert xgb.folds["test_rows"].sum() == len(oof) and (xgb.folds["excluded_rows"] >= 1).all()
    for fold in xgb.folds.itertuples():
        assert fold.train_last < fold.test_first  # walk-forward: the past only


def test_contributions_add_up_to_the_out_of_fold_probabilities(xgb):
    contributions = xgb.importance.contributions
    margin = contributions[[*xgb.features, "bias"]].sum(axis=1).to_numpy()
    merged = contributions[["date", "fold"]].assign(p=1 / (1 + np.exp(-margin))).merge(xgb.oof, on=["date", "fold"])
    np.testing.assert_allclose(merged["p"], merged["probability"], rtol=1e-4)
    assert set(xgb.importance.gain.index) == set(xgb.features)
    assert xgb.importance.permutation.shape == (len(xgb.features), len(xgb.folds))


def test_report_and_images(xgb):
    report = xgb.report
    for section in ("## Out-of-fold metrics", "## Feature importance", "## Folds", "majority", "previous_sign",
                    xgb.data.data_hash, "p = "):
        assert section in report
    assert len([line for line in report.splitlines() if line.startswith("| ")]) >= 7 + 5 + len(xgb.folds)
    for name in ("reliability.png", "fold_timeline.png"):
        assert xgb.images[name].startswith(b"\x89PNG\r\n\x1a\n") and len(xgb.images[name]) > 5_000


def test_predict_applies_the_served_model_and_calibrator(xgb, table):
    rows = table.iloc[::-7]  # any order and any subset
    calibrated = predict(xgb, rows)
    raw = predict(xgb, rows, calibrated=False)
    assert calibrated.index.equals(rows.index) and raw.between(0, 1).all()
    np.testing.assert_allclose(calibrated, xgb.calibrator.transform(raw.to_numpy()))
    shipped = pickle.loads(pickle.dumps(xgb.predictor))  # the predictor alone travels to a registry
    np.testing.assert_array_equal(shipped.predict_proba(rows.set_index(np.zeros(len(rows)))), calibrated.to_numpy())
    assert shipped.base_rate == xgb.base_rate == xgb.metrics["base_rate"]


def test_the_served_model_is_the_newest_fold_calibrated_on_its_own_test_block(xgb, table):
    last = xgb.oof[xgb.oof["fold"] == xgb.oof["fold"].max()]
    rows = table[table["date"].isin(last["date"])]
    # the served model made the last fold's out-of-fold predictions: it is that fold's model, not a refit
    np.testing.assert_allclose(predict(xgb, rows, calibrated=False).to_numpy(), last["probability"].to_numpy())
    by_hand = Calibrator("platt").fit(last["probability"].to_numpy(), last["label"].to_numpy())
    np.testing.assert_allclose(xgb.calibrator.transform(last["probability"].to_numpy()),
                               by_hand.transform(last["probability"].to_numpy()))
    assert np.isclose(xgb.base_rate, last["label"].mean(), atol=1e-4)


def test_the_served_column_of_a_fold_reads_no_label_ending_on_or_after_its_first_date(table):
    config = TrainingConfig(model_type="logistic", label="dir_5", tuning_trials=0, **FAST)
    as_of = table["date"].iloc[-1]
    before = train_and_evaluate(table, config, as_of)
    start = before.oof.loc[before.oof["fold"] == 3, "date"].min()
    flipped = table.copy()
    late = pd.to_datetime(flipped["t1_5"]) >= start
    flipped.loc[late, "dir_5"] = 1 - flipped.loc[late, "dir_5"]
    after = train_and_evaluate(flipped, config, as_of)
    early = before.oof["fold"] <= 3
    pd.testing.assert_frame_equal(before.oof.loc[early, ["calibrated", "base_rate"]],
                                  after.oof.loc[early, ["calibrated", "base_rate"]])
    assert not np.allclose(before.oof.loc[~early, "calibrated"], after.oof.loc[~early, "calibrated"])


def test_outer_test_labels_never_reach_their_own_predictions(table):
    """Purged k-fold trains on both sides of a test block, so the tuner and early stopping are tested for real."""
    config = TrainingConfig(cv="purged_kfold", label="dir_1", tuning_trials=2, **FAST)
    as_of = table["date"].iloc[-1]
    before = train_and_evaluate(table, config, as_of)
    block = before.oof[before.oof["fold"] == 2]
    flipped = table.copy()
    hit = flipped["date"].isin(block["date"])
    flipped.loc[hit, "dir_1"] = 1 - flipped.loc[hit, "dir_1"]
    after = train_and_evaluate(flipped, config, as_of)
    mine = after.oof["fold"] == 2
    np.testing.assert_array_equal(after.oof.loc[mine, "probability"], before.oof.loc[mine, "probability"])
    assert not np.allclose(after.oof.loc[~mine, "probability"], before.oof.loc[~mine, "probability"])


def test_combinatorial_purged_cv_predicts_each_row_in_several_paths(table):
    config = TrainingConfig(model_type="majority", cv="cpcv", n_splits=6, cpcv_test_groups=2, **FAST)
    result = train_and_evaluate(table, config, table["date"].iloc[-1])
    assert len(result.folds) == 15
    counts = result.oof.groupby("date").size()
    assert (counts == 5).all()  # each row in C(5, 1) = 5 test sets


def test_sequence_windows_stay_inside_their_ticker():
    import torch

    from financial_assets.models.sequence import windows

    scaled = torch.arange(1.0, 8.0)[:, None]  # ticker A rows 0-3, ticker B rows 4-6
    out = windows(scaled, np.array([0, 0, 0, 0, 4, 4, 4]), np.array([1, 3, 5]), lookback=3)
    assert out[..., 0].tolist() == [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [0.0, 5.0, 6.0]]


def test_sequence_models_predict_and_pool():
    frame = random_walk_table(n_tickers=2, n_bars=300, seed=9)
    config = TrainingConfig(model_type="transformer", pooled=True, lookback=8, n_splits=3,
                            params={"hidden": 8, "epochs": 2}, **FAST)
    result = train_and_evaluate(frame, config, frame["date"].iloc[-1])
    assert set(result.oof["ticker"]) == {"RW0", "RW1"} and result.trials == 0
    probabilities = predict(result, frame)
    assert probabilities.notna().all() and probabilities.between(0, 1).all()
    pd.testing.assert_series_equal(predict(pickle.loads(pickle.dumps(result)), frame), probabilities)


def test_the_early_stopping_slice_is_purged():
    t0 = pd.bdate_range("2020-01-01", periods=200).to_numpy()
    t1 = np.r_[t0[5:], np.repeat(t0[-1], 5)]
    fit, validation = purged_holdout(t0, t1, 0.2)
    assert len(validation) == 40 and t1[fit].max() < t0[validation].min() and len(fit) == 160 - 5


def test_config_is_validated_and_flattens_to_parameters():
    with pytest.raises(ValueError):
        TrainingConfig(model_type="svm")
    with pytest.raises(ValueError):
        TrainingConfig(cv="random")
    params = TrainingConfig(params={"max_depth": 4}).as_params()
    assert params["model_type"] == "xgboost" and params["param_max_depth"] == 4
    assert TrainingConfig().trials == 0 and TrainingConfig(tuning_trials=3).trials == 3


def test_benchmark_helpers_return_seconds():
    measured = measure_training("xgboost", rows=400, features=8, tuning_trials=0, **FAST)
    assert measured["fit_seconds_per_fold"] > 0 and measured["cv_seconds"] >= measured["fit_seconds_per_fold"]
    assert 0.3 < measured["oos_auc"] < 0.7
