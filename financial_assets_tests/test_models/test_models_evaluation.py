"""Metrics agree with scikit-learn; block-bootstrap intervals cover at the nominal rate, wider under dependence."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from financial_assets.models import block_bootstrap, default_block_length, evaluate, fold_auc, metric_arrays
from financial_assets.models.evaluation import moving_block_indices, percentile_interval


def _ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    e = rng.standard_normal(n + 50)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = phi * x[t - 1] + e[t]
    return x[50:]


def test_metrics_match_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.45).astype(float)
    p = np.clip(np.round(0.45 + 0.2 * (y - 0.5) + rng.normal(0, 0.2, 400), 1), 0.05, 0.95)  # many ties
    got = {k: v[0] for k, v in metric_arrays(y, p).items()}
    pred = p > 0.5
    assert np.isclose(got["auc"], skm.roc_auc_score(y, p))
    assert np.isclose(got["balanced_accuracy"], skm.balanced_accuracy_score(y, pred))
    assert np.isclose(got["accuracy"], skm.accuracy_score(y, pred))
    assert np.isclose(got["log_loss"], skm.log_loss(y, p))
    assert np.isclose(got["brier"], skm.brier_score_loss(y, p))
    assert np.isclose(got["f1"], skm.f1_score(y, pred))
    assert metric_arrays(y, np.full(400, 0.3))["auc"][0] == 0.5  # a constant score ranks nothing
    assert np.isnan(metric_arrays(np.ones(10), np.linspace(0, 1, 10))["auc"][0])  # one class: undefined


def test_moving_blocks_are_runs_of_consecutive_rows():
    index = moving_block_indices(103, 10, 50, np.random.default_rng(1))
    assert index.shape == (50, 103) and index.min() >= 0 and index.max() < 103
    steps = np.diff(index[:, :100].reshape(50, 10, 10), axis=2)
    assert (steps == 1).all()
    assert default_block_length(1000, 5) == 10 and default_block_length(1000, 20) == 20


def test_block_bootstrap_covers_at_nominal_rate_and_is_wider_than_iid_under_dependence():
    rng = np.random.default_rng(0)
    n, reps = 500, 300
    block = default_block_length(n, 1)
    covered = {1: 0, block: 0}
    width: dict[int, list[float]] = {1: [], block: []}
    for rep in range(reps):
        x = _ar1(n, 0.5, rng)  # true mean 0, strong serial dependence
        for length in covered:
            low, high = percentile_interval(block_bootstrap(lambda i, x=x: {"mean": x[i].mean(axis=1)}, n, length, 400,
                                                            rep)["mean"])
            covered[length] += low <= 0.0 <= high
            width[length].append(high - low)
    assert 0.88 <= covered[block] / reps <= 0.99
    assert covered[1] / reps < 0.85  # the iid bootstrap undercovers dependent data
    assert np.mean(width[block]) > 1.3 * np.mean(width[1])


def test_the_bootstrap_interval_covers_a_known_auc_on_independent_data():
    rng = np.random.default_rng(2)
    covered = 0
    for rep in range(100):
        y = (rng.random(300) < 0.5).astype(float)
        score = y + rng.standard_normal(300)  # true AUC = P(N(1, 2) > 0) = Phi(1/sqrt(2))
        metrics, _ = evaluate(y, 1 / (1 + np.exp(-score)), {}, block=1, n_boot=300, seed=rep)
        covered += metrics["oos_auc_ci_low"] <= 0.76025 <= metrics["oos_auc_ci_high"]
    assert 85 <= covered <= 100


def test_accuracy_against_the_majority_is_paired_and_one_sided():
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.55).astype(float)
    majority = np.full(2000, 0.55)
    same, _ = evaluate(y, majority, {"majority": majority}, block=5, n_boot=300, seed=0)
    assert same["accuracy_vs_majority"] == 0.0 and same["accuracy_vs_majority_pvalue"] == 1.0
    skilled = np.where(rng.random(2000) < 0.7, y, 1 - y) * 0.6 + 0.2  # right 70% of the time
    better, base = evaluate(y, skilled, {"majority": majority}, block=5, n_boot=300, seed=0)
    assert better["accuracy_vs_majority"] > 0.1 and better["accuracy_vs_majority_pvalue"] < 0.01
    assert better["accuracy_vs_majority_ci_low"] > 0
    assert np.isclose(base["baseline_majority_accuracy"], y.mean())
    assert {f"oos_{m}{s}" for m in ("auc", "f1") for s in ("", "_ci_low", "_ci_high")} <= better.keys()


def test_the_headline_auc_is_the_mean_of_the_per_fold_aucs_and_the_pooled_auc_sits_beside_it():
    rng = np.random.default_rng(4)
    fold = np.repeat(np.arange(4), 300)
    y = (rng.random(1200) < 0.5).astype(float)
    score = y + rng.standard_normal(1200)
    # each fold's model ranks well but predicts at its own level (its training base rate): pooling mixes the levels
    p = 1 / (1 + np.exp(-0.3 * score)) * 0.2 + np.array([0.1, 0.7, 0.3, 0.5])[fold]
    metrics, base = evaluate(y, p, {"majority": np.array([0.2, 0.8, 0.4, 0.6])[fold]}, block=1, n_boot=300,
                             seed=0, fold=fold)
    per_fold = [skm.roc_auc_score(y[fold == k], p[fold == k]) for k in range(4)]
    assert np.isclose(metrics["oos_auc"], np.mean(per_fold)) and np.isclose(fold_auc(y, p, fold), np.mean(per_fold))
    assert np.isclose(metrics["oos_auc_pooled"], skm.roc_auc_score(y, p))
    assert metrics["oos_auc"] > 0.7 and metrics["oos_auc_pooled"] < 0.6  # the level shifts hide the skill pooled
    assert metrics["oos_auc_ci_low"] <= metrics["oos_auc"] <= metrics["oos_auc_ci_high"]
    # the baseline's AUC is computed the same way: a constant per fold ranks nothing within folds
    assert base["baseline_majority_auc"] == 0.5 and base["baseline_majority_auc_pooled"] != 0.5
    assert np.isclose(metrics["auc_vs_majority"], metrics["oos_auc"] - 0.5)
    assert metrics["auc_vs_majority_ci_low"] > 0


def test_blocks_are_drawn_within_folds_so_each_draw_keeps_the_fold_sizes():
    fold = np.repeat([0, 1, 2], [50, 120, 30])
    seen = []

    def statistic(index: np.ndarray) -> dict[str, np.ndarray]:
        seen.append(index)
        return {"rows": np.zeros(len(index))}

    block_bootstrap(statistic, len(fold), 7, 40, 0, groups=fold)
    index = np.concatenate(seen)
    assert index.shape == (40, 200)
    assert (fold[index] == fold[None, :]).all()  # every column draws a row of its own fold


def test_the_per_fold_interval_covers_a_known_within_fold_auc_and_covers_chance_on_noise():
    rng = np.random.default_rng(5)
    covered, chance = 0, 0
    fold = np.repeat(np.arange(5), 100)
    for rep in range(100):
        y = (rng.random(500) < 0.5).astype(float)
        score = y + rng.standard_normal(500) + rng.standard_normal(5)[fold]  # a level shift per fold
        metrics, _ = evaluate(y, score, {}, block=1, n_boot=300, seed=rep, fold=fold)
        covered += metrics["oos_auc_ci_low"] <= 0.76025 <= metrics["oos_auc_ci_high"]
        noise, _ = evaluate(y, rng.standard_normal(500), {}, block=1, n_boot=300, seed=rep, fold=fold)
        chance += noise["oos_auc_ci_low"] <= 0.5 <= noise["oos_auc_ci_high"]
    assert 85 <= covered <= 100 and 85 <= chance <= 100
