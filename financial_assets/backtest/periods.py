"""A period of a backtest ledger: its rows, drawdown measured from the period's start, and its Sharpe's significance.

A period's P&L is that of its sessions: the first row's return is the move from the previous close,
made by the position decided there. The deflated Sharpe ratio needs the variance of the Sharpe ratios
of the unskilled trials; their own Sharpe ratios are not stored (the tuner measured them on inner
folds), so it is the sampling variance of a per-period Sharpe over the period's T returns,
``(1 - skew * SR + (kurtosis - 1) / 4 * SR^2) / (T - 1)``, the scatter unskilled trials on the same
bars would show. Then DSR = Phi(Phi^-1(PSR) - E[max of n_trials standard normals]).
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


def sharpe_significance(returns: np.ndarray, n_trials: int) -> dict[str, float]:
    """PSR (against 0) and DSR (against the best of n_trials unskilled trials) of per-period returns, or NaN."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size < 3 or not r.std(ddof=1) > 0:
        return {"psr": math.nan, "deflated_sharpe": math.nan}
    m = sharpe_moments(r)
    variance = 1.0 - m["skew"] * m["sharpe"] + (m["kurtosis"] - 1.0) / 4.0 * m["sharpe"] ** 2
    if variance <= 0:
        return {"psr": math.nan, "deflated_sharpe": math.nan}
    psr = probabilistic_sharpe_ratio(m["sharpe"], m["n_obs"], m["skew"], m["kurtosis"])
    dsr = (deflated_sharpe_ratio(m["sharpe"], m["n_obs"], n_trials, variance / (m["n_obs"] - 1), m["skew"],
                                 m["kurtosis"]) if n_trials >= 2 else psr)
    return {"psr": psr, "deflated_sharpe": dsr}
