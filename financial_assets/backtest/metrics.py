"""Performance metrics of a backtest ledger (strategy or buy-and-hold), annualised with bars_per_year.

Returns are the ledger's per-bar simple returns of equity; the risk-free rate is 0. Sharpe and
volatility use the sample std (ddof=1); Sortino's downside deviation is sqrt(mean(min(r, 0)^2))
over all bars (target 0). A bar is "in the market" when a position was held at its previous close
or at its close; hit rate and profit factor are per bar on net P&L (pnl - costs), so rebalanced
and stopped positions need no trade bookkeeping. Turnover and cost drag are per year, as multiples
of the equity at the bar's start. `trades` counts entries: bars whose close holds a position that the
previous close did not hold, or held on the other side.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

METRIC_NAMES = ("total_return", "annualized_return", "annualized_volatility", "sharpe", "sortino", "calmar",
                "max_drawdown", "max_drawdown_duration", "turnover", "hit_rate", "profit_factor", "exposure",
                "trades", "cost_drag", "total_costs", "n_bars")


def performance_metrics(result: pd.DataFrame, bars_per_year: int = 252) -> dict[str, float]:
    """The metrics of METRIC_NAMES for one `run_backtest` or `buy_and_hold` ledger."""
    equity = result["equity"].to_numpy(dtype=np.float64)
    returns = result["returns"].to_numpy(dtype=np.float64)
    net = (result["pnl"] - result["costs"]).to_numpy(dtype=np.float64)
    position = result["position"].to_numpy(dtype=np.float64)
    n = len(equity)
    start = equity - net  # equity at each bar's start
    before = np.concatenate(([0.0], position[:-1]))
    in_market = (position != 0) | (before != 0)
    total = equity[-1] / start[0] - 1.0
    annual = (1.0 + total) ** (bars_per_year / n) - 1.0 if total > -1.0 else -1.0
    std = returns.std(ddof=1) if n > 1 else math.nan
    downside = math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    drawdown = result["drawdown"].to_numpy(dtype=np.float64)
    max_dd = drawdown.min()
    gains, losses = net[net > 0].sum(), -net[net < 0].sum()
    metrics = {
        "total_return": total,
        "annualized_return": annual,
        "annualized_volatility": std * math.sqrt(bars_per_year),
        "sharpe": _ratio(returns.mean() * math.sqrt(bars_per_year), std),
        "sortino": _ratio(returns.mean() * math.sqrt(bars_per_year), downside),
        "calmar": _ratio(annual, -max_dd),
        "max_drawdown": max_dd,
        "max_drawdown_duration": _longest_run(drawdown < 0),
        "turnover": np.sum(result["traded_value"].to_numpy() / start) * bars_per_year / n,
        "hit_rate": np.mean(net[in_market] > 0) if in_market.any() else math.nan,
        "profit_factor": _ratio(gains, losses) if gains or losses else math.nan,
        "exposure": in_market.mean(),
        "trades": np.count_nonzero((position != 0) & (np.sign(position) != np.sign(before))),
        "cost_drag": np.sum(result["costs"].to_numpy() / start) * bars_per_year / n,
        "total_costs": result["costs"].sum(),
        "n_bars": n,
    }
    return {name: float(value) for name, value in metrics.items()}


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, inf for a positive numerator over 0, NaN when undefined."""
    if denominator > 0:
        return float(numerator / denominator)
    return math.inf if denominator == 0 and numerator > 0 else math.nan


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of consecutive True values."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max()) if starts.size else 0
