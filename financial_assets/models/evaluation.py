"""Out-of-fold metrics with moving-block bootstrap confidence intervals, baselines beside them.

Out-of-fold records are serially dependent: forward labels of horizon h overlap h-1 bars, and
features persist. An iid bootstrap would resample single rows as if independent and give intervals
too narrow; the moving-block bootstrap resamples runs of `block` consecutive rows (records sorted by
date), keeping the dependence inside a block. Default block length, in bars: max(h, ceil(n ** (1/3))),
the label overlap or the usual n^(1/3) rate for the block length of a smooth statistic, whichever is
longer (pooled panels multiply it by the rows per date). Intervals are bootstrap percentiles; every
metric and baseline is computed on the same resampled rows, so differences are paired.
Probabilities are thresholded at 0.5 for the class metrics and clipped to [1e-6, 1 - 1e-6] for log loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from scipy.stats import rankdata

METRICS: tuple[str, ...] = ("auc", "balanced_accuracy", "accuracy", "log_loss", "brier", "f1")
_EPS = 1e-6
_CHUNK = 100  # bootstrap samples scored at once: bounds memory at ~100 x n floats per array


def default_block_length(n_dates: int, horizon: int) -> int:
    """Block length in bars: the label horizon or ceil(n ** (1/3)), whichever is longer."""
    return max(int(horizon), math.ceil(max(n_dates, 1) ** (1 / 3)))


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
        ranks = rankdata(p, axis=1)  # average ranks for ties: a constant score has AUC 0.5
        auc = np.where((pos > 0) & (neg > 0), ((ranks * y).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg), np.nan)
    q = np.clip(p, _EPS, 1 - _EPS)
    return {"auc": auc, "balanced_accuracy": balanced, "accuracy": (tp + tn) / n,
            "log_loss": -np.where(y, np.log(q), np.log1p(-q)).mean(axis=1), "brier": ((p - y) ** 2).mean(axis=1),
            "f1": f1}


def moving_block_indices(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) row indices: ceil(n / block) blocks of consecutive rows, uniform starts, cut to n."""
    block = int(min(max(block, 1), n))
    starts = rng.integers(0, n - block + 1, size=(n_boot, math.ceil(n / block)))
    return (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n]


def block_bootstrap(statistic: Callable[[np.ndarray], Mapping[str, np.ndarray]], n: int, block: int, n_boot: int,
                    seed: int) -> dict[str, np.ndarray]:
    """Bootstrap distributions: `statistic` maps a (B, n) index matrix to named (B,) arrays. block=1 is iid."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_boot, _CHUNK):
        for name, values in statistic(moving_block_indices(n, block, min(_CHUNK, n_boot - start), rng)).items():
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
             prefix: str = "oos_") -> tuple[dict[str, float], dict[str, float]]:
    """(metrics, baseline metrics) of out-of-fold records sorted by date.

    metrics: `{prefix}{metric}` with `_ci_low`/`_ci_high`, and, when a `majority` baseline is given,
    `accuracy_vs_majority` (model minus majority accuracy) with its interval and a one-sided paired
    block-bootstrap p-value (`accuracy_vs_majority_pvalue`, H0: the model is no more accurate).
    baseline metrics: `baseline_{name}_{metric}` point values.
    """
    y = np.asarray(y, dtype=np.float64)
    scored = {name: np.asarray(values, dtype=np.float64) for name, values in {"model": p, **baselines}.items()}

    def statistic(index: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, probabilities in scored.items():
            for metric, values in metric_arrays(y[index], probabilities[index]).items():
                out[f"{name}:{metric}"] = values
        return out

    point = {k: float(v[0]) for k, v in statistic(np.arange(len(y))[None, :]).items()}
    samples = block_bootstrap(statistic, len(y), block, n_boot, seed)
    metrics: dict[str, float] = {}
    for metric in METRICS:
        low, high = percentile_interval(samples[f"model:{metric}"])
        metrics |= {f"{prefix}{metric}": point[f"model:{metric}"], f"{prefix}{metric}_ci_low": low,
                    f"{prefix}{metric}_ci_high": high}
    if "majority" in baselines:
        observed = point["model:accuracy"] - point["majority:accuracy"]
        diff = samples["model:accuracy"] - samples["majority:accuracy"]
        low, high = percentile_interval(diff)
        p_value = (1 + np.sum(diff - observed >= observed)) / (len(diff) + 1)  # the bootstrap centred on H0
        metrics |= {"accuracy_vs_majority": observed, "accuracy_vs_majority_ci_low": low,
                    "accuracy_vs_majority_ci_high": high, "accuracy_vs_majority_pvalue": float(p_value)}
    base = {f"baseline_{name}_{metric}": point[f"{name}:{metric}"] for name in baselines for metric in METRICS}
    return metrics, base
