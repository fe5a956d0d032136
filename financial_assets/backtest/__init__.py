"""Backtests of out-of-sample probabilities: engine, performance metrics, overfitting statistics, charts.

Plain Python (numpy, pandas, scipy, matplotlib); nothing here knows about Dagster.
"""

from financial_assets.backtest.config import BacktestConfig
from financial_assets.backtest.engine import RESULT_COLUMNS, buy_and_hold, run_backtest
from financial_assets.backtest.metrics import METRIC_NAMES, performance_metrics
from financial_assets.backtest.overfitting import (
    cscv_logits,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_moments,
)
from financial_assets.backtest.report import equity_chart_png, metrics_markdown

__all__ = ["METRIC_NAMES", "RESULT_COLUMNS", "BacktestConfig", "buy_and_hold", "cscv_logits", "deflated_sharpe_ratio",
           "equity_chart_png", "expected_max_sharpe", "metrics_markdown", "performance_metrics",
           "probabilistic_sharpe_ratio", "probability_of_backtest_overfitting", "run_backtest", "sharpe_moments"]
