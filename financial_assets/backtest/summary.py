"""One line per ticker of backtest_metrics rows, for the main command: strategy beside buy-and-hold, its exposure, DSR
(or why it is no evidence) and PBO."""

from __future__ import annotations

import pandas as pd

from financial_assets.backtest.track_record import HISTORY


def _strategy(row) -> str:
    """The strategy's part of a line: its result and exposure, and the deflated Sharpe ratio when it is evidence."""
    if row.exposure == 0:  # no position, no Sharpe ratio (its returns have no variance)
        return "strategy never in the market (no edge over the base rate passed the threshold)"
    evidence = (f"deflated Sharpe {row.deflated_sharpe:.2f} over {row.n_trials} configurations" if row.sharpe_reliable
                else "PSR and deflated Sharpe unreliable: too few bars in the market or trades")
    return (f"strategy {row.total_return:+.2%}, Sharpe {row.sharpe:.2f}, in the market {row.exposure:.1%} of bars "
            f"({row.trades:.0f} trades), max drawdown {row.max_drawdown:.1%} ({evidence})")


def summary_lines(metrics: pd.DataFrame) -> list[str]:
    """Per ticker, its newest whole-history row: total return, Sharpe and exposure beside buy-and-hold, max drawdowns,
    the deflated Sharpe ratio with the configurations it deflates for (or that it is unreliable), and PBO; a ticker no
    champion predicted held no position."""
    if metrics.empty:
        return []
    history = metrics.loc[metrics["period"] == HISTORY].sort_values(["ticker", "date"])
    lines = []
    for row in history.groupby("ticker").tail(1).itertuples():
        span = f"{row.first_date:%Y-%m-%d} .. {row.last_date:%Y-%m-%d} ({row.n_bars:.0f} bars)"
        benchmark = (f"buy & hold {row.bh_total_return:+.2%}, Sharpe {row.bh_sharpe:.2f}, max drawdown "
                     f"{row.bh_max_drawdown:.1%}")
        if pd.isna(row.model_version):
            lines.append(f"{row.ticker}: {span}: no champion, so no position held (in the market 0.0% of bars) vs "
                         f"{benchmark}")
            continue
        lines.append(f"{row.ticker}: out of sample {span}: {_strategy(row)} vs {benchmark}; PBO {row.pbo:.2f} over "
                     f"{row.pbo_configurations} configurations")
    return lines
