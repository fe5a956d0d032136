"""Honest numbers: chance on random walks, the AR(1) bound reached, leaks caught, nothing after D read, folds apart.

The planted edges of several strengths, against their achievable AUC, are in test_models_planted_edges.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.models import MODEL_TYPES, TrainingConfig, build_dataset, predict, train_and_evaluate
from financial_assets.models.dataset import feature_names
from financial_assets.models.honesty import leaks
from financial_assets_tests.models_data import ar1_table, random_walk_table

TINY_TORCH = {"hidden": 8, "epochs": 3, "patience": 2, "batch_size": 256}


def _config(model_type: str, **overrides: object) -> TrainingConfig:
    """Small and fast: few bootstrap samples, tiny torch nets, two tuning trials for xgboost."""
    torch = model_type in ("lstm", "transformer")
    settings = {"model_type": model_type, "label": "dir_1", "n_boot": 200, "permutation_repeats": 0, "lookback": 10,
                "tuning_trials": 2 if model_type == "xgboost" else 0, "params": TINY_TORCH if torch else {}}
    return TrainingConfig(**(settings | overrides))


@pytest.fixture(scope="module")
def random_walks() -> pd.DataFrame:
    return random_walk_table(n_tickers=3, n_bars=800, seed=11)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_model_scores_chance_on_random_walks(random_walks, model_type):
    result = train_and_evaluate(random_walks, _config(model_type, pooled=True), random_walks["date"].max())
    metrics = result.metrics
    assert 0.45 <= metrics["oos_auc"] <= 0.55, metrics["oos_auc"]
    assert not leaks(metrics["oos_auc_ci_low"], "dir_1")
    assert abs(metrics["oos_accuracy"] - result.baselines["baseline_majority_accuracy"]) <= 0.03
    assert metrics["oos_rows"] > 1900


def test_a_leaking_feature_fails_the_random_walk_check(random_walks):
    leaky = random_walks.assign(next_return=random_walks["fwd_ret_1"])  # tomorrow's return, named like a feature
    config = _config("xgboost", pooled=True, permutation_repeats=1, tuning_trials=0)
    result = train_and_evaluate(leaky, config, leaky["date"].max())
    assert result.metrics["oos_auc"] > 0.9  # the [0.45, 0.55] check above would fail loudly
    assert leaks(result.metrics["oos_auc_ci_low"], "dir_1")  # and the leakage alarm fires
    assert result.metrics["accuracy_vs_majority_pvalue"] < 0.01
    assert result.importance.gain.idxmax() == "next_return"
    assert result.importance.permutation.mean(axis=1).idxmax() == "next_return"


def test_xgboost_reaches_the_ar1_direction_bound():
    phi = 0.2
    frame = ar1_table(20_000, phi, seed=1)
    config = TrainingConfig(label="dir_1", tuning_trials=0, n_boot=200, permutation_repeats=0)
    result = train_and_evaluate(frame, config, frame["date"].max())
    assert result.metrics["oos_accuracy"] >= 0.5 + 0.8 * np.arcsin(phi) / np.pi  # 0.5513; the optimum is 0.5641
    assert result.metrics["accuracy_vs_majority_pvalue"] < 0.01


def _perturb_after(frame: pd.DataFrame, as_of: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Every feature and label of rows dated after `as_of` scrambled, and every label ending after it flipped."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    later = out["date"] > as_of
    for column in [*feature_names(frame), "fwd_ret_1", "fwd_ret_5", "fwd_ret_20", "tb_ret"]:
        out.loc[later, column] = rng.standard_normal(int(later.sum())) * 1e3
    for column, end in (("dir_1", "t1_1"), ("dir_5", "t1_5"), ("dir_20", "t1_20"), ("tb_label", "tb_t1")):
        unknown = out[end] > as_of
        out.loc[unknown, column] = -out.loc[unknown, column] if column == "tb_label" else 1 - out.loc[unknown, column]
    return out


@pytest.mark.parametrize("model_type", ["xgboost", "lstm"])
def test_a_model_trained_as_of_d_never_reads_what_came_after(model_type):
    frame = random_walk_table(n_tickers=1, n_bars=700, seed=5)
    as_of = frame["date"].iloc[560]
    perturbed = _perturb_after(frame, as_of, seed=1)
    config = _config(model_type, label="dir_5")
    first, second = (train_and_evaluate(f, config, as_of) for f in (frame, perturbed))
    pd.testing.assert_frame_equal(first.oof, second.oof)
    assert first.data == second.data and first.metrics == second.metrics
    known = frame[frame["date"] <= as_of]
    pd.testing.assert_series_equal(predict(first, known), predict(second, perturbed[perturbed["date"] <= as_of]))
    # the perturbation has teeth: a later as-of date sees it
    later = frame["date"].iloc[650]
    assert build_dataset(frame, config, later).description != build_dataset(perturbed, config, later).description


@pytest.mark.parametrize("model_type", ["logistic", "lstm"])
def test_imputer_and_scaler_are_fitted_per_fold(model_type):
    frame = random_walk_table(n_tickers=1, n_bars=700, seed=6)
    frame["noise"] = np.random.default_rng(0).standard_normal(len(frame))
    weak = {"alpha": 0.05}  # a weak L1 penalty keeps the noise column, so perturbing it has teeth
    config = _config(model_type, tuning_trials=0, params=weak if model_type == "logistic" else TINY_TORCH)
    as_of = frame["date"].max()
    before = train_and_evaluate(frame, config, as_of)
    last_start = pd.Timestamp(before.folds["test_first"].iloc[-1])
    huge = frame.copy()
    late = huge["date"] >= last_start
    huge.loc[late, "noise"] *= 1e6  # only the last test fold is huge...
    huge.loc[late & (huge.index % 3 == 0), "rv_20"] = np.nan  # ...and has holes to impute
    after = train_and_evaluate(huge, config, as_of)
    early = before.oof["fold"] < before.oof["fold"].max()
    pd.testing.assert_frame_equal(before.oof[early], after.oof[early])  # earlier folds never saw it
    assert not np.allclose(before.oof.loc[~early, "probability"], after.oof.loc[~early, "probability"])
