"""Overfitting statistics: probabilistic and deflated Sharpe ratios, and PBO by CSCV.

Sharpe ratios here are per period (not annualised), kurtosis is the plain fourth standardised
moment (3 for a normal distribution), as in Bailey & López de Prado (2012, 2014). The deflated
Sharpe ratio is the probabilistic Sharpe ratio against SR0, the Sharpe ratio the best of
`n_trials` unskilled configurations would reach by luck. PBO follows Bailey, Borwein, López de
Prado & Zhu (2014), "The probability of backtest overfitting", with Sharpe ratio as the measure.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np
from scipy import stats


def probabilistic_sharpe_ratio(sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0,
                               benchmark: float = 0.0) -> float:
    """P(true Sharpe > benchmark) given an observed per-period Sharpe over n_obs returns with these moments."""
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if n_obs < 2 or variance <= 0:
        raise ValueError(f"need n_obs >= 2 and a positive variance term, got n_obs={n_obs}, {variance=}")
    return float(stats.norm.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance)))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """SR0: the expected maximum of n_trials unskilled Sharpe ratios whose variance across trials is given."""
    if n_trials < 2 or sharpe_variance < 0:
        raise ValueError(f"need n_trials >= 2 and sharpe_variance >= 0, got {n_trials}, {sharpe_variance}")
    quantiles = stats.norm.ppf([1.0 - 1.0 / n_trials, 1.0 - 1.0 / (n_trials * math.e)])
    return float(math.sqrt(sharpe_variance) * ((1.0 - np.euler_gamma) * quantiles[0] + np.euler_gamma * quantiles[1]))


def deflated_sharpe_ratio(sharpe: float, n_obs: int, n_trials: int, sharpe_variance: float, skew: float = 0.0,
                          kurtosis: float = 3.0) -> float:
    """PSR against SR0 of n_trials configurations: the chance the best Sharpe found is not luck."""
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark)


def sharpe_moments(returns: np.ndarray) -> dict[str, float]:
    """Per-period Sharpe (ddof=1), n_obs, skew and kurtosis (non-excess) of a return series: PSR's inputs."""
    r = np.asarray(returns, dtype=np.float64)
    return {"sharpe": float(r.mean() / r.std(ddof=1)), "n_obs": int(r.size), "skew": float(stats.skew(r)),
            "kurtosis": float(stats.kurtosis(r, fisher=False))}


def cscv_logits(returns: np.ndarray, n_blocks: int = 16) -> np.ndarray:
    """Logit of the out-of-sample relative rank of the in-sample best configuration, per CSCV split.

    `returns` is T x N: per-period returns of N configurations. Its rows are cut into `n_blocks`
    contiguous blocks (sizes differing by at most one); each of the C(S, S/2) ways to pick half the
    blocks is a training set, the rest its test set. For each, the configuration with the best
    training Sharpe is ranked among all N on the test set (average ranks for ties); with rank r,
    w = r / (N + 1) and the logit is ln(w / (1 - w)). Sharpe comes from block sums, all splits at once.
    """
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"returns must be T x N with N >= 2 configurations, got shape {m.shape}")
    if n_blocks < 2 or n_blocks % 2 or m.shape[0] < 2 * n_blocks:
        raise ValueError(f"n_blocks must be even, >= 2 and at most T/2, got {n_blocks} for T={m.shape[0]}")
    if not np.isfinite(m).all():
        raise ValueError("returns must be finite")
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    count = np.array([len(b) for b in blocks], dtype=np.float64)
    total = np.stack([m[b].sum(axis=0) for b in blocks])
    square = np.stack([(m[b] ** 2).sum(axis=0) for b in blocks])
    train = _training_masks(n_blocks)
    is_sharpe, oos_sharpe = (_sharpe_from_sums(mask @ count, mask @ total, mask @ square)
                             for mask in (train, 1.0 - train))
    best = np.argmax(is_sharpe, axis=1)
    rank = stats.rankdata(oos_sharpe, axis=1)[np.arange(len(best)), best]
    w = rank / (m.shape[1] + 1.0)
    return np.log(w / (1.0 - w))


@lru_cache(maxsize=8)
def _training_masks(n_blocks: int) -> np.ndarray:
    """One row per CSCV split: 1 on the blocks of its training half (C(16, 8) = 12,870 rows, built once, read-only)."""
    train = np.zeros((math.comb(n_blocks, n_blocks // 2), n_blocks))
    for row, chosen in enumerate(combinations(range(n_blocks), n_blocks // 2)):
        train[row, list(chosen)] = 1.0
    train.flags.writeable = False
    return train


def probability_of_backtest_overfitting(returns: np.ndarray, n_blocks: int = 16) -> float:
    """PBO: the share of CSCV splits where the in-sample best configuration is at or below the median out of sample."""
    return float(np.mean(cscv_logits(returns, n_blocks) <= 0.0))


def _sharpe_from_sums(count: np.ndarray, total: np.ndarray, square: np.ndarray) -> np.ndarray:
    """Per-period Sharpe (ddof=1) of each split and configuration from counts, sums and sums of squares."""
    n = count[:, None]
    mean = total / n
    variance = np.maximum(square - n * mean**2, 0.0) / (n - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, mean / np.sqrt(variance), 0.0)
