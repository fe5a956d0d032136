"""A period of a backtest ledger: its rows, drawdown measured from the period's start, and its Sharpe's significance.

A period's P&L is that of its sessions: the first row's return is the move from the previous close,
made by the position decided there. The deflated Sharpe ratio (Bailey & López de Prado 2014) is the
PSR against SR0, the expected best of `n_trials` unskilled Sharpe ratios, with V[SR] the variance
(ddof=1) across the trials of their per-period Sharpe ratios: here the configurations whose returns
were measured (`configurations.return_matrix`: the models trained at the champions' as-of dates x
the threshold grid, on their out-of-fold predictions); a configuration that never traded counts as
Sharpe 0. Fewer than two measured configurations give no spread and no DSR.

Reliability. PSR and DSR assume many independent returns; a strategy in the market on a handful of
bars, or on one or two trades, gives a Sharpe ratio made of a few outcomes and a PSR near 0 or 1 that
means nothing (7 bars in the market of 1,258 gave PSR 0.98). They are marked unreliable when the
exposure is below `min_exposure` or the trades below `min_trades` (FA_BT_MIN_EXPOSURE, FA_BT_MIN_TRADES).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from financial_assets.backtest.overfitting import deflated_sharpe_ratio, probabilistic_sharpe_ratio, sharpe_moments


def window(result: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows of a ledger dated start..end, drawdown re-measured from the equity at the window's start."""
    dates = pd.to_datetime(result["date"])
    rows = result.loc[(dates >= start) & (dates <= end)].reset_index(drop=True)
    if rows.empty:
        return rows
    equity = rows["equity"].to_numpy(dtype=np.float64)
    opening = equity[0] - rows["pnl"].iloc[0] + rows["costs"].iloc[0]
    peak = np.maximum.accumulate(np.maximum(equity, opening))
    return rows.assign(drawdown=equity / peak - 1.0)


def trial_sharpe_variance(trial_sharpes: np.ndarray) -> float:
    """V[SR]: the variance (ddof=1) of the trials' per-period Sharpe ratios, NaN with fewer than two."""
    sharpes = np.asarray(trial_sharpes, dtype=np.float64)
    return float(sharpes.var(ddof=1)) if sharpes.size >= 2 else math.nan


def sharpe_significance(returns: np.ndarray, n_trials: int, trial_sharpes: np.ndarray) -> dict[str, float]:
    """PSR (against 0) and DSR (against the best of n_trials trials with the spread of `trial_sharpes`), or NaN."""
    variance = trial_sharpe_variance(trial_sharpes)
    out = {"psr": math.nan, "deflated_sharpe": math.nan, "trial_sharpe_variance": variance}
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 3 or not r.std(ddof=1) > 0:
        return out
    m = sharpe_moments(r)
    if 1.0 - m["skew"] * m["sharpe"] + (m["kurtosis"] - 1.0) / 4.0 * m["sharpe"] ** 2 <= 0:
        return out
    out["psr"] = probabilistic_sharpe_ratio(m["sharpe"], m["n_obs"], m["skew"], m["kurtosis"])
    if n_trials < 2:
        out["deflated_sharpe"] = out["psr"]
    elif math.isfinite(variance):
        out["deflated_sharpe"] = deflated_sharpe_ratio(m["sharpe"], m["n_obs"], n_trials, variance, m["skew"],
                                                       m["kurtosis"])
    return out


def sharpe_reliable(exposure: float, trades: float, min_exposure: float, min_trades: int) -> bool:
    """Whether PSR and DSR may be read as evidence: enough bars in the market and enough trades."""
    return bool(exposure >= min_exposure and trades >= min_trades)
