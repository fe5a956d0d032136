"""One line per ticker of backtest_metrics rows, for the main command: strategy beside buy-and-hold, DSR, PBO."""

from __future__ import annotations

import pandas as pd

from financial_assets.backtest.track_record import HISTORY


def summary_lines(metrics: pd.DataFrame) -> list[str]:
    """Per ticker, its newest whole-history row: total return and Sharpe beside buy-and-hold, max drawdowns, the
    deflated Sharpe ratio with the configurations it deflates for, and PBO."""
    if metrics.empty:
        return []
    history = metrics.loc[metrics["period"] == HISTORY].sort_values(["ticker", "date"])
    lines = []
    for row in history.groupby("ticker").tail(1).itertuples():
        # a strategy that never held a position has no Sharpe ratio (its returns have no variance)
        strategy = (f"strategy {row.total_return:+.2%}, Sharpe {row.sharpe:.2f} (deflated Sharpe "
                    f"{row.deflated_sharpe:.2f} over {row.n_trials} configurations), max drawdown "
                    f"{row.max_drawdown:.1%}"
                    if row.exposure > 0 else "strategy never in the market (no probability passed the threshold)")
        lines.append(f"{row.ticker}: out of sample {row.first_date:%Y-%m-%d} .. {row.last_date:%Y-%m-%d} "
                     f"({row.n_bars:.0f} bars): {strategy} vs buy & hold {row.bh_total_return:+.2%}, Sharpe "
                     f"{row.bh_sharpe:.2f}, max drawdown {row.bh_max_drawdown:.1%}; PBO {row.pbo:.2f} over "
                     f"{row.pbo_configurations} configurations")
    return lines
