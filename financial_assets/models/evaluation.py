"""Out-of-fold metrics with block-bootstrap confidence intervals, baselines beside them.

The headline metric, `auc`, is the mean of the per-fold AUCs of the outer test folds: ranking skill
within each fold. The AUC of all folds' predictions pooled (`auc_pooled`) is reported beside it, but
it mixes each fold model's level (its training base rate) into the ranking: a model that ranks well
within every fold scores 0.5 pooled when its folds predict at different levels. On noise both are
0.5. Every other metric (balanced accuracy, accuracy, log loss, Brier score, F1) is computed on the
pooled records, where the level is part of the skill.

Out-of-fold records are serially dependent: forward labels of horizon h overlap h-1 bars, and
features persist. An iid bootstrap would resample single rows as if independent and give intervals
too narrow; the moving-block bootstrap resamples runs of `block` consecutive rows (records sorted by
date), keeping the dependence inside a block. Blocks are drawn within each fold (a fold keeps its
size in every draw), so one draw gives each fold's AUC and their mean, and the pooled metrics on the
same rows. Default block length, in bars: max(h, ceil(n ** (1/3))), the label overlap or the usual
n^(1/3) rate for the block length of a smooth statistic, whichever is longer (pooled panels multiply
it by the rows per date). Intervals are bootstrap percentiles; every metric and baseline is computed
on the same resampled rows, so differences are paired (`auc_vs_<baseline>`).
Probabilities are thresholded at 0.5 for the class metrics and clipped to [1e-6, 1 - 1e-6] for log loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

METRICS: tuple[str, ...] = ("auc", "balanced_accuracy", "accuracy", "log_loss", "brier", "f1")
#: what `evaluate` reports: the per-fold mean AUC, the pooled AUC beside it, then the pooled metrics
SCORES: tuple[str, ...] = ("auc", "auc_pooled", *METRICS[1:])
_EPS = 1e-6
_CHUNK = 100  # bootstrap samples scored at once: bounds memory at ~100 x n floats per array


def default_block_length(n_dates: int, horizon: int) -> int:
    """Block length in bars: the label horizon or ceil(n ** (1/3)), whichever is longer."""
    return max(int(horizon), math.ceil(max(n_dates, 1) ** (1 / 3)))


def auc_arrays(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """AUC of each row of 2-D `y` (0/1) and `p` (scores), ties counted half; NaN where a row has one class only."""
    y = np.atleast_2d(y).astype(bool)
    p = np.atleast_2d(p).astype(np.float64)
    pos = y.sum(axis=1)
    neg = y.shape[1] - pos
    ranks = rankdata(p, axis=1)  # average ranks for ties: a constant score has AUC 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((pos > 0) & (neg > 0), ((ranks * y).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg), np.nan)


def metric_arrays(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of METRICS for each row of 2-D `y` (0/1) and `p` (P(up)); NaN where undefined (one class)."""
    y = np.atleast_2d(y).astype(bool)
    p = np.atleast_2d(p).astype(np.float64)
    n = y.shape[1]
    pred = p > 0.5
    tp = (pred & y).sum(axis=1)
    fp = (pred & ~y).sum(axis=1)
    fn = (~pred & y).sum(axis=1)
    tn = n - tp - fp - fn
    pos, neg = tp + fn, tn + fp
    with np.errstate(divide="ignore", invalid="ignore"):
        balanced = np.where((pos > 0) & (neg > 0), 0.5 * (tp / pos + tn / neg), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    q = np.clip(p, _EPS, 1 - _EPS)
    return {"auc": auc_arrays(y, p), "balanced_accuracy": balanced, "accuracy": (tp + tn) / n,
            "log_loss": -np.where(y, np.log(q), np.log1p(-q)).mean(axis=1), "brier": ((p - y) ** 2).mean(axis=1),
            "f1": f1}


def within_fold_auc(y: np.ndarray, p: np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
    """Per row of 2-D `y` and `p`: the mean of the AUCs over each fold's `columns`, skipping folds of one class."""
    within = np.stack([auc_arrays(np.atleast_2d(y)[:, c], np.atleast_2d(p)[:, c]) for c in columns])
    known = np.isfinite(within)
    count = known.sum(axis=0)
    return np.where(count > 0, np.where(known, within, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan)


def fold_auc(y: np.ndarray, p: np.ndarray, fold: np.ndarray) -> float:
    """The mean of the per-fold AUCs of 1-D records labelled by `fold`: ranking skill within folds."""
    fold = np.asarray(fold)
    return float(within_fold_auc(y, p, [np.flatnonzero(fold == k) for k in np.unique(fold)])[0])


def moving_block_indices(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) row indices: ceil(n / block) blocks of consecutive rows, uniform starts, cut to n."""
    block = int(min(max(block, 1), n))
    starts = rng.integers(0, n - block + 1, size=(n_boot, math.ceil(n / block)))
    return (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n]


def block_bootstrap(statistic: Callable[[np.ndarray], Mapping[str, np.ndarray]], n: int, block: int, n_boot: int,
                    seed: int, groups: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Bootstrap distributions: `statistic` maps a (B, n) index matrix to named (B,) arrays. block=1 is iid.

    With `groups` (one label per row), blocks are drawn within each group's rows, in their order, and
    each group keeps its size and its columns: columns of group g are `np.flatnonzero(groups == g)`.
    """
    rng = np.random.default_rng(seed)
    members = [np.arange(n)] if groups is None else [np.flatnonzero(groups == g) for g in np.unique(groups)]
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_boot, _CHUNK):
        size = min(_CHUNK, n_boot - start)
        index = np.empty((size, n), dtype=np.int64)
        for rows in members:
            index[:, rows] = rows[moving_block_indices(len(rows), block, size, rng)]
        for name, values in statistic(index).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` percentile interval, ignoring NaN samples (NaN when there are none)."""
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def evaluate(y: np.ndarray, p: np.ndarray, baselines: Mapping[str, np.ndarray], block: int, n_boot: int, seed: int,
             prefix: str = "oos_", fold: np.ndarray | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(metrics, baseline metrics) of out-of-fold records sorted by date, `fold` naming each record's outer fold
    (None: one fold).

    metrics: `{prefix}{score}` with `_ci_low`/`_ci_high` for every score of SCORES; `auc_vs_{name}`
    (model minus baseline per-fold AUC, paired) with its interval for each baseline; and, when a
    `majority` baseline is given, `accuracy_vs_majority` (model minus majority accuracy) with its
    interval and a one-sided paired block-bootstrap p-value (`accuracy_vs_majority_pvalue`, H0: the
    model is no more accurate).
    baseline metrics: `baseline_{name}_{score}` point values, the AUCs computed as the model's.
    """
    y = np.asarray(y, dtype=np.float64)
    fold = np.zeros(len(y), dtype=np.int64) if fold is None else np.asarray(fold)
    columns = [np.flatnonzero(fold == k) for k in np.unique(fold)]
    scored = {name: np.asarray(values, dtype=np.float64) for name, values in {"model": p, **baselines}.items()}

    def statistic(index: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, probabilities in scored.items():
            yy, pp = y[index], probabilities[index]
            for metric, values in metric_arrays(yy, pp).items():
                out[f"{name}:{'auc_pooled' if metric == 'auc' else metric}"] = values
            out[f"{name}:auc"] = within_fold_auc(yy, pp, columns)
        return out

    point = {k: float(v[0]) for k, v in statistic(np.arange(len(y))[None, :]).items()}
    samples = block_bootstrap(statistic, len(y), block, n_boot, seed, groups=fold)
    metrics: dict[str, float] = {}
    for score in SCORES:
        low, high = percentile_interval(samples[f"model:{score}"])
        metrics |= {f"{prefix}{score}": point[f"model:{score}"], f"{prefix}{score}_ci_low": low,
                    f"{prefix}{score}_ci_high": high}
    for name in baselines:
        low, high = percentile_interval(samples["model:auc"] - samples[f"{name}:auc"])
        metrics |= {f"auc_vs_{name}": point["model:auc"] - point[f"{name}:auc"], f"auc_vs_{name}_ci_low": low,
                    f"auc_vs_{name}_ci_high": high}
    if "majority" in baselines:
        observed = point["model:accuracy"] - point["majority:accuracy"]
        diff = samples["model:accuracy"] - samples["majority:accuracy"]
        low, high = percentile_interval(diff)
        p_value = (1 + np.sum(diff - observed >= observed)) / (len(diff) + 1)  # the bootstrap centred on H0
        metrics |= {"accuracy_vs_majority": observed, "accuracy_vs_majority_ci_low": low,
                    "accuracy_vs_majority_ci_high": high, "accuracy_vs_majority_pvalue": float(p_value)}
    base = {f"baseline_{name}_{score}": point[f"{name}:{score}"] for name in baselines for score in SCORES}
    return metrics, base
