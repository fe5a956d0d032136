"""Backtest report: the equity/drawdown PNG renders off-screen and the markdown table sits beside buy-and-hold."""

from __future__ import annotations

import io
import math

import matplotlib.image
import pandas as pd

from financial_assets.backtest import (
    METRIC_NAMES,
    BacktestConfig,
    buy_and_hold,
    equity_chart_png,
    metrics_markdown,
    performance_metrics,
    run_backtest,
)
from financial_assets_tests.paths import FIXTURES

INPUTS = pd.read_csv(FIXTURES / "backtest" / "inputs.csv", parse_dates=["date"])
BARS = INPUTS.drop(columns=["probability", "base_rate"])
P, BASE = (INPUTS.set_index("date")[c] for c in ("probability", "base_rate"))


def test_equity_chart_is_a_png_of_the_requested_size():
    result = run_backtest(BARS, P, BASE, BacktestConfig(mode="long_short"))
    png = equity_chart_png(result, buy_and_hold(BARS), title="SYN")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (550, 900)
    assert image[..., :3].std() > 0.05  # something was drawn
    assert len(equity_chart_png(result)) > 10_000  # the benchmark is optional


def test_chart_leaves_no_pyplot_figure_open():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    equity_chart_png(buy_and_hold(BARS))
    assert plt.get_fignums() == before


def test_metrics_markdown_puts_strategy_beside_buy_and_hold():
    strategy = {name: 0.0 for name in METRIC_NAMES} | {"total_return": 0.1234, "sharpe": 1.23456,
                                                         "max_drawdown_duration": 17.0, "profit_factor": math.inf,
                                                         "hit_rate": math.nan, "trades": 12.0}
    benchmark = {name: 1.0 for name in METRIC_NAMES} | {"total_return": -0.05}
    lines = metrics_markdown(strategy, benchmark).strip().splitlines()
    assert lines[0] == "| metric | strategy | buy & hold |"
    assert len(lines) == 2 + len(METRIC_NAMES)
    assert "| total_return | 12.34% | -5.00% |" in lines
    assert "| sharpe | 1.235 | 1.000 |" in lines
    assert "| max_drawdown_duration | 17 | 1 |" in lines
    assert "| trades | 12 | 1 |" in lines
    assert "| profit_factor | inf | 1.000 |" in lines
    assert "| hit_rate | n/a | 100.00% |" in lines


def test_metrics_markdown_of_real_ledgers():
    result = run_backtest(BARS, P, BASE)
    table = metrics_markdown(performance_metrics(result), performance_metrics(buy_and_hold(BARS)))
    assert table.count("\n") == 2 + len(METRIC_NAMES) and "nan" not in table
