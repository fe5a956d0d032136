"""What an honest daily model can score: planted AR(1) edges, their achievable AUC, and the leakage ceilings.

A planted edge is a series of daily log returns r_t = phi r_{t-1} + vol e_t (stationary Gaussian
AR(1), zero mean) with OHLCV bars around its closes (`ar1_bars`). Its achievable AUC for a label is
the AUC of the Bayes-optimal ranking score: for every forward direction label dir_h that is the last
return r_t itself (E[r_{t+1} + ... + r_{t+h} | past] = r_t phi (1 - phi^h) / (1 - phi), increasing in
r_t), and it is used for the triple-barrier label too. It is not the Bayes accuracy
0.5 + arcsin(phi) / pi. For dir_h it has a closed form (`ar1_bayes_auc`): r_t and the h-bar sum S are
jointly normal with correlation rho_h = sum_{k=1..h} phi^k / sqrt(h + 2 sum_{k=1..h-1} (h - k) phi^k),
and AUC = P(U1 > U0 | S1 > 0 >= S0) is a trivariate normal orthant: 1/2 + 2 arcsin(rho_h / sqrt 2) / pi.
It falls fast with the horizon (tb_label simulated: `achievable_auc`, 200,000 bars, seed 0):

    phi    dir_1   dir_5   dir_20  tb_label
    0.05   0.523   0.510   0.505   0.514
    0.10   0.545   0.521   0.510   0.530
    0.20   0.590   0.543   0.521   0.561
    0.30   0.636   0.568   0.532   0.592

Leakage ceiling of a label (`auc_ceiling`): the achievable AUC of a planted edge with phi =
`CEILING_PHI` = 0.3, three times the strongest first-order autocorrelation of liquid daily equity
returns: the last row of the table. A model whose AUC interval lies wholly above it beats the
Bayes-optimal model of an edge stronger than any market shows: it has almost surely seen the future
(`leaks`). A point AUC above a fixed number is no alarm: small samples exceed it by chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from financial_assets.labels.compute import compute_labels
from financial_assets.models.dataset import label_source
from financial_assets.models.evaluation import auc_arrays

CEILING_PHI = 0.3
#: achievable_auc("tb_label", CEILING_PHI, 200_000, seed=0): no closed form; a test simulates it again
TB_LABEL_CEILING = 0.5924


def ar1_bars(n: int, phi: float, seed: int, ticker: str = "AR", vol: float = 0.01,
             start: str = "2000-01-03") -> pd.DataFrame:
    """`n` weekday OHLCV bars whose close-to-close log returns are a stationary zero-mean Gaussian AR(1):
    r_t = phi r_{t-1} + vol e_t. Open gaps, intrabar ranges and volume are noise around the closes, so the
    only edge is the planted one."""
    if not -1.0 < phi < 1.0:
        raise ValueError(f"phi must lie in (-1, 1), got {phi}")
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((4, n))
    # lfilter runs r_t = phi r_{t-1} + x_t; starting from the stationary distribution needs no burn-in
    first = vol * e[0, :1] / np.sqrt(1 - phi**2)
    r = lfilter([1.0], [1.0, -phi], np.r_[first, vol * e[0, 1:]])
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]] * np.exp(0.3 * vol * e[1])
    high = np.maximum(open_, close) * np.exp(0.5 * vol * np.abs(e[2]))
    low = np.minimum(open_, close) * np.exp(-0.5 * vol * np.abs(e[3]))
    return pd.DataFrame({"ticker": ticker, "date": pd.bdate_range(start, periods=n), "open": open_, "high": high,
                         "low": low, "close": close, "volume": rng.uniform(1e5, 1e6, n).round()})


_SERIES_BARS = 20_000  # bars per simulated series (calendar dates run out near 150,000 weekdays)


def achievable_auc(label: str, phi: float, n: int, seed: int = 0) -> float:
    """The AUC of the Bayes ranking (the last return) for `label` over `n` bars of planted AR(1) edges (independent
    series of at most 20,000 bars, seeds `seed`, `seed` + 1, ...), labelled by the project's label code."""
    value, _ = label_source(label)
    horizon = int(value.removeprefix("dir_")) if value.startswith("dir_") else 1
    scores, outcomes = [], []
    for k, start in enumerate(range(0, n, _SERIES_BARS)):
        bars = ar1_bars(min(_SERIES_BARS, n - start), phi, seed + k)
        scores.append(np.log(bars["close"]).diff().to_numpy())
        outcomes.append(compute_labels(bars, horizons=(horizon,))[value].to_numpy())
    score, y = np.concatenate(scores), np.concatenate(outcomes)
    known = ~np.isnan(y) & ~np.isnan(score)
    return float(auc_arrays((y[known] > 0).astype(float), score[known])[0])


def ar1_bayes_auc(phi: float, horizon: int) -> float:
    """The exact AUC of the last return for dir_<horizon> on a Gaussian AR(1) with autocorrelation `phi`."""
    k = np.arange(1, horizon + 1)
    lags = np.arange(1, horizon)
    rho = (phi**k).sum() / np.sqrt(horizon + 2 * ((horizon - lags) * phi**lags).sum())
    return float(0.5 + 2 * np.arcsin(rho / np.sqrt(2)) / np.pi)


def auc_ceiling(label: str) -> float:
    """The leakage ceiling of `label` (dir_<h> or tb_label): its achievable AUC at phi = CEILING_PHI."""
    value, _ = label_source(label)
    return TB_LABEL_CEILING if value == "tb_label" else ar1_bayes_auc(CEILING_PHI, int(value.removeprefix("dir_")))


def leaks(auc_ci_low: float, label: str) -> bool:
    """Whether an out-of-fold AUC interval whose lower bound is `auc_ci_low` lies wholly above `label`'s ceiling."""
    return bool(np.isfinite(auc_ci_low) and auc_ci_low > auc_ceiling(label))
