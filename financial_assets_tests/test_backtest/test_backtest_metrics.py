"""Performance metrics: hand-computed values on small ledgers, and strategy beside buy-and-hold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from financial_assets.backtest import METRIC_NAMES, BacktestConfig, buy_and_hold, performance_metrics, run_backtest


def ledger(equity: list[float], position: list[float], costs: list[float] | None = None,
           traded_value: list[float] | None = None, capital: float = 100.0) -> pd.DataFrame:
    """A ledger in run_backtest's shape built from an equity path, with pnl = change + costs."""
    equity_a = np.asarray(equity, dtype=float)
    previous = np.concatenate(([capital], equity_a[:-1]))
    costs_a = np.zeros(len(equity)) if costs is None else np.asarray(costs, dtype=float)
    peak = np.maximum.accumulate(np.maximum(equity_a, capital))
    return pd.DataFrame({"equity": equity_a, "returns": equity_a / previous - 1, "pnl": equity_a - previous + costs_a,
                         "costs": costs_a, "position": position, "drawdown": equity_a / peak - 1,
                         "traded_value": traded_value or [0.0] * len(equity)})


def test_returns_risk_and_ratios_by_hand():
    # returns 1%, -2%, 3%, 0%
    equity = [101.0, 101.0 * 0.98, 101.0 * 0.98 * 1.03, 101.0 * 0.98 * 1.03]
    m = performance_metrics(ledger(equity, [1, 1, 1, 1]), bars_per_year=252)
    mean, std = 0.005, math.sqrt((0.005**2 + 0.025**2 + 0.025**2 + 0.005**2) / 3)
    assert m["total_return"] == pytest.approx(1.01 * 0.98 * 1.03 - 1, rel=1e-12)
    assert m["annualized_return"] == pytest.approx((1.01 * 0.98 * 1.03) ** (252 / 4) - 1, rel=1e-12)
    assert m["annualized_volatility"] == pytest.approx(std * math.sqrt(252), rel=1e-12)
    assert m["sharpe"] == pytest.approx(mean / std * math.sqrt(252), rel=1e-12)
    assert m["sortino"] == pytest.approx(mean / math.sqrt(0.02**2 / 4) * math.sqrt(252), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(-0.02, rel=1e-12)
    assert m["calmar"] == pytest.approx(m["annualized_return"] / 0.02, rel=1e-12)
    assert m["max_drawdown_duration"] == 1  # only bar 1 sits below the peak of bar 0; bar 2 is a new high
    assert m["hit_rate"] == pytest.approx(2 / 4)  # 4 bars in the market, 2 with a gain
    gains, losses = 1.0 + 101 * 0.98 * 0.03, 101 * 0.02
    assert m["profit_factor"] == pytest.approx(gains / losses, rel=1e-12)
    assert m["exposure"] == 1.0


def test_drawdown_duration_counts_the_longest_spell_under_water():
    equity = [100, 105, 104, 103, 106, 105, 107, 100, 101]  # under water: 2 bars, 1 bar, 2 bars (to the end)
    m = performance_metrics(ledger(equity, [1] * 9))
    assert m["max_drawdown_duration"] == 2
    assert m["max_drawdown"] == pytest.approx(100 / 107 - 1, rel=1e-12)


def test_turnover_cost_drag_and_exposure_by_hand():
    equity = [100.0, 99.9, 99.9, 99.8, 99.8]
    position = [0, 2, 2, 0, 0]  # bought in bar 1, sold in bar 3
    costs = [0, 0.1, 0, 0.1, 0]
    traded = [0, 50.0, 0, 50.0, 0]
    m = performance_metrics(ledger(equity, position, costs, traded), bars_per_year=4)
    # per year (4 bars here), as multiples of the equity at each bar's start
    assert m["turnover"] == pytest.approx((50 / 100 + 50 / 99.9) * 4 / 5, rel=1e-12)
    assert m["cost_drag"] == pytest.approx((0.1 / 100 + 0.1 / 99.9) * 4 / 5, rel=1e-12)
    assert m["total_costs"] == pytest.approx(0.2)
    assert m["exposure"] == pytest.approx(3 / 5)  # bars 1, 2 and 3 (held at close 2, sold during 3)
    assert m["trades"] == 1
    assert m["n_bars"] == 5


def test_trades_count_entries_and_reversals():
    position = [0, 1, 1, -2, -2, 0, 0, 3, 2, 0]  # long, reversed short, flat, long (rebalanced), flat
    m = performance_metrics(ledger([100.0] * 10, position))
    assert m["trades"] == 3
    assert m["exposure"] == pytest.approx(8 / 10)


def test_never_losing_gives_infinite_profit_factor_and_no_drawdown():
    m = performance_metrics(ledger([101, 102, 103], [1, 1, 1]))
    assert m["profit_factor"] == math.inf
    assert m["max_drawdown"] == 0 and m["calmar"] == math.inf and m["max_drawdown_duration"] == 0


def test_flat_ledger_has_no_ratios():
    m = performance_metrics(ledger([100.0] * 5, [0] * 5))
    assert m["total_return"] == 0 and m["exposure"] == 0 and m["trades"] == 0
    assert math.isnan(m["sharpe"]) and math.isnan(m["hit_rate"]) and math.isnan(m["profit_factor"])


def test_annualisation_follows_bars_per_year():
    rng = np.random.default_rng(0)
    equity = list(100 * np.cumprod(1 + rng.normal(0, 0.01, 50)))
    daily = performance_metrics(ledger(equity, [1] * 50), bars_per_year=252)
    weekly = performance_metrics(ledger(equity, [1] * 50), bars_per_year=52)
    assert weekly["annualized_volatility"] == pytest.approx(daily["annualized_volatility"] * math.sqrt(52 / 252))
    assert weekly["sharpe"] == pytest.approx(daily["sharpe"] * math.sqrt(52 / 252))


def test_strategy_and_buy_and_hold_share_every_metric():
    bars = pd.DataFrame({"date": pd.bdate_range("2024-01-01", periods=6), "open": [99, 101, 103, 102, 105, 104],
                         "high": [101, 103, 104, 105, 106, 106], "low": [98, 100, 100, 101, 102, 102],
                         "close": [100, 102, 101, 104, 103, 105], "volume": 1e6})
    cfg = BacktestConfig(commission_bps=0, half_spread_bps=0, impact=0)
    p = pd.Series([0.9, 0.9, 0.9, 0.9, 0.9, 0.9], index=pd.DatetimeIndex(bars["date"]))
    strategy = performance_metrics(run_backtest(bars, p, 0.5, cfg))
    benchmark = performance_metrics(buy_and_hold(bars, cfg))
    assert set(strategy) == set(benchmark) == set(METRIC_NAMES)
    assert all(type(value) is float for value in [*strategy.values(), *benchmark.values()])  # metadata-ready
    # always long with all equity is buy-and-hold: the cash buys 100,000 / 101 shares at open 1, held to close 5 (105)
    assert strategy == benchmark
    assert benchmark["total_return"] == pytest.approx(105 / 101 - 1, rel=1e-12)
