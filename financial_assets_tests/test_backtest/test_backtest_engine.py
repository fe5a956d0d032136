"""Backtest engine: hand-computed ledgers (fills, costs, stops) and the timing rules they follow."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from financial_assets.backtest import BacktestConfig, buy_and_hold, performance_metrics, run_backtest

FREE = {"commission_bps": 0.0, "half_spread_bps": 0.0, "impact": 0.0}  # no costs unless a test sets them
HALF = 0.5  # the base rate of the hand-computed cases: the edge is p - 0.5


def make_bars(opens: list[float], closes: list[float], highs: list[float] | None = None,
              lows: list[float] | None = None, volume: float = 1e6) -> pd.DataFrame:
    """Daily bars from explicit prices; high/low default to 1 beyond the open/close range."""
    highs = highs or [max(o, c) + 1.0 for o, c in zip(opens, closes, strict=True)]
    lows = lows or [min(o, c) - 1.0 for o, c in zip(opens, closes, strict=True)]
    return pd.DataFrame({"date": pd.bdate_range("2024-01-01", periods=len(opens)), "open": opens, "high": highs,
                         "low": lows, "close": closes, "volume": volume})


def probs(bars: pd.DataFrame, values: list[float]) -> pd.Series:
    """Probabilities on the bars' dates."""
    return pd.Series(values, index=pd.DatetimeIndex(bars["date"]))


ROUND_TRIP = make_bars(opens=[99, 101, 103, 102, 105], closes=[100, 102, 101, 104, 103])
ROUND_TRIP_P = [0.7, 0.8, 0.4, math.nan, math.nan]  # long at close 0, still long, flat at close 2


def test_round_trip_next_open_with_commission_by_hand():
    cfg = BacktestConfig(fraction=0.5, **{**FREE, "commission_bps": 10.0})
    r = run_backtest(ROUND_TRIP, probs(ROUND_TRIP, ROUND_TRIP_P), HALF, cfg)
    # close 0: 0.5 * 100,000 / 100 = 500 shares; buy at open 1 (101), sell at open 3 (102); 0.1% per side
    assert r["target_position"].tolist() == [500, 500, 0, 0, 0]
    assert r["position"].tolist() == [0, 500, 500, 0, 0]
    assert r["fill_price"].iloc[[1, 3]].tolist() == [101, 102]
    assert r["fill_price"].iloc[[0, 2, 4]].isna().all()
    assert r["traded_shares"].tolist() == [0, 500, 0, -500, 0]
    np.testing.assert_allclose(r["traded_value"], [0, 50_500, 0, 51_000, 0])
    np.testing.assert_allclose(r["commission"], [0, 50.5, 0, 51.0, 0])
    np.testing.assert_allclose(r["slippage"], 0.0)
    cash = 100_000 - 50_500 - 50.5
    equity = [100_000, cash + 500 * 102, cash + 500 * 101, cash + 51_000 - 51, cash + 51_000 - 51]
    np.testing.assert_allclose(r["equity"], equity, rtol=1e-12)
    np.testing.assert_allclose(r["pnl"], [0, 500, -500, 500, 0], atol=1e-9)  # gross, at reference prices
    np.testing.assert_allclose(r["returns"], np.array(equity) / np.array([100_000, *equity[:-1]]) - 1)
    np.testing.assert_allclose(r["drawdown"].iloc[2], equity[2] / equity[1] - 1)


def test_round_trip_next_close_by_hand():
    cfg = BacktestConfig(fill="next_close", fraction=0.5, **{**FREE, "commission_bps": 10.0})
    r = run_backtest(ROUND_TRIP, probs(ROUND_TRIP, ROUND_TRIP_P), HALF, cfg)
    # sized at close 0 (500 shares), bought at close 1 (102), sold at close 3 (104)
    assert r["position"].tolist() == [0, 500, 500, 0, 0]
    assert r["fill_price"].iloc[[1, 3]].tolist() == [102, 104]
    cash = 100_000 - 51_000 - 51.0
    equity = [100_000, cash + 51_000, cash + 500 * 101, cash + 52_000 - 52, cash + 52_000 - 52]
    np.testing.assert_allclose(r["equity"], equity, rtol=1e-12)


def test_spread_and_volume_impact_by_hand():
    bars = make_bars(opens=[99, 101, 103], closes=[100, 102, 101], volume=10_000)
    cfg = BacktestConfig(fraction=0.5, commission_bps=20.0, half_spread_bps=10.0, impact=0.5)
    r = run_backtest(bars, probs(bars, [0.9, 0.9, 0.9]), HALF, cfg)
    # 500 shares = 5% of the bar's volume: slippage 10 bps + 0.5 * 0.05 = 2.6% of the open, paid on top
    fill = 101 * 1.026
    assert r["fill_price"].iloc[1] == pytest.approx(fill, rel=1e-12)
    assert r["slippage"].iloc[1] == pytest.approx(500 * 101 * 0.026, rel=1e-12)
    assert r["commission"].iloc[1] == pytest.approx(0.002 * 500 * fill, rel=1e-12)
    assert r["costs"].iloc[1] == pytest.approx(500 * 101 * 0.026 + 0.002 * 500 * fill, rel=1e-12)
    assert r["equity"].iloc[1] == pytest.approx(100_000 - 500 * fill * 1.002 + 500 * 102, rel=1e-12)
    assert r["pnl"].iloc[1] == pytest.approx(500 * (102 - 101), rel=1e-9)


def test_sell_slippage_lowers_the_fill_price():
    bars = make_bars(opens=[99, 101, 103], closes=[100, 102, 101])
    cfg = BacktestConfig(mode="long_short", fraction=0.5, **{**FREE, "half_spread_bps": 50.0})
    r = run_backtest(bars, probs(bars, [0.1, 0.1, 0.1]), HALF, cfg)
    assert r["position"].iloc[1] == -500
    assert r["fill_price"].iloc[1] == pytest.approx(101 * 0.995, rel=1e-12)
    assert r["equity"].iloc[1] == pytest.approx(100_000 + 500 * 101 * 0.995 - 500 * 102, rel=1e-12)


def test_long_short_reversal_by_hand():
    bars = make_bars(opens=[99, 101, 103, 102], closes=[100, 102, 101, 104])
    cfg = BacktestConfig(mode="long_short", threshold=0.05, fraction=0.5, **FREE)
    r = run_backtest(bars, probs(bars, [0.7, 0.2, 0.5, 0.5]), HALF, cfg)
    v1 = 100_000 + 500 * (102 - 101)
    short = -0.5 * v1 / 102  # sized at close 1, reversed at open 2 (103)
    assert r["signal"].tolist() == [1, -1, 0, 0]
    assert r["position"].iloc[2] == pytest.approx(short, rel=1e-12)
    assert r["traded_shares"].iloc[2] == pytest.approx(short - 500, rel=1e-12)
    assert r["position"].iloc[3] == 0  # 0.5 lies between the thresholds: flat at open 3
    v3 = v1 + 500 * (103 - 102) + short * (102 - 103)
    assert r["equity"].iloc[3] == pytest.approx(v3, rel=1e-12)


def test_long_flat_never_shorts():
    bars = make_bars(opens=[99, 101, 103], closes=[100, 102, 101])
    r = run_backtest(bars, probs(bars, [0.01, 0.02, 0.03]), HALF, BacktestConfig(**FREE))
    assert (r["signal"] == 0).all() and (r["position"] == 0).all()


def test_fixed_fraction_compounds_on_equity_and_not_without_compounding():
    bars = make_bars(opens=[99, 100, 110, 110], closes=[100, 110, 110, 121])  # each fill at the deciding close
    p = probs(bars, [0.9, 0.1, 0.9, 0.9])
    compounding = run_backtest(bars, p, HALF, BacktestConfig(fraction=1.0, **FREE))
    fixed = run_backtest(bars, p, HALF, BacktestConfig(fraction=1.0, compound=False, **FREE))
    # first trip: 1,000 shares bought at 100, sold at 110 -> equity 110,000; re-entry sized at close 2 (110)
    assert compounding["position"].iloc[3] == pytest.approx(110_000 / 110, rel=1e-12)
    assert fixed["position"].iloc[3] == pytest.approx(100_000 / 110, rel=1e-12)


def test_vol_target_weight_uses_past_returns_only():
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40)))
    bars = make_bars(opens=close.tolist(), closes=close.tolist())
    cfg = BacktestConfig(sizing="vol_target", target_vol=0.1, vol_window=10, max_leverage=3.0, **FREE)
    r = run_backtest(bars, probs(bars, [0.9] * 40), HALF, cfg)
    returns = close[1:] / close[:-1] - 1
    t = 25
    vol = np.std(returns[t - 10:t], ddof=1) * math.sqrt(252)  # returns r_16 .. r_25, the last ending at t
    assert r["target_weight"].iloc[t] == pytest.approx(min(0.1 / vol, 3.0), rel=1e-12)
    assert (r["target_weight"].iloc[:10] == 0).all()  # no estimate before 10 returns exist


def test_vol_target_caps_leverage():
    close = [100.0 + 0.001 * i for i in range(30)]  # almost no volatility
    bars = make_bars(opens=close, closes=close)
    cfg = BacktestConfig(sizing="vol_target", target_vol=0.2, vol_window=5, max_leverage=2.0, **FREE)
    r = run_backtest(bars, probs(bars, [0.9] * 30), HALF, cfg)
    assert r["target_weight"].iloc[10:].eq(2.0).all()


def test_kelly_weight_is_capped_fraction_of_two_p_minus_one():
    bars = make_bars(opens=[100] * 5, closes=[100] * 5)
    cfg = BacktestConfig(mode="long_short", sizing="kelly", kelly_fraction=0.5, max_leverage=0.3, **FREE)
    r = run_backtest(bars, probs(bars, [0.7, 0.2, 0.55, 0.95, math.nan]), HALF, cfg)
    expected = [0.5 * 0.4, -min(0.5 * 0.6, 0.3), 0.5 * 0.1, min(0.5 * 0.9, 0.3), 0.0]
    np.testing.assert_allclose(r["target_weight"], expected, rtol=1e-12)


def test_kelly_never_bets_against_its_own_edge():
    bars = make_bars(opens=[100] * 3, closes=[100] * 3)
    cfg = BacktestConfig(threshold=0.0, sizing="kelly", **FREE)  # p = 0.45 is "long" but Kelly says 2p - 1 < 0
    r = run_backtest(bars, probs(bars, [0.45, 0.45, 0.45]), 0.4, cfg)
    assert (r["signal"] == 1).all() and (r["target_weight"] == 0).all()


def test_buy_and_hold_by_hand():
    bars = make_bars(opens=[99, 101, 103, 102], closes=[100, 102, 101, 104])
    cfg = BacktestConfig(commission_bps=10.0, half_spread_bps=5.0, impact=0.0)
    r = buy_and_hold(bars, cfg)
    # 1,000 shares wanted at close 0 (100) cost 101 * 1.0005 * 1.001 each at open 1: shrunk to what the cash pays
    fill = 101 * 1.0005
    shares = 100_000 / 1.001 / fill
    np.testing.assert_allclose(r["position"], [0, shares, shares, shares], rtol=1e-12)
    assert r["cash"].tolist() == [100_000, 0, 0, 0]
    assert r["equity"].iloc[-1] == pytest.approx(shares * 104, rel=1e-12)


# ---- the entry rule: the edge over the base rate ----------------------------------------------------


@pytest.mark.parametrize("mode", ["long_flat", "long_short"])
@pytest.mark.parametrize("base", [0.35, 0.5, 0.5627, 0.7])
def test_a_model_at_chance_holds_nothing(random_walk, mode, base):
    bars, _ = random_walk
    n = len(bars)
    rng = np.random.default_rng(int(base * 1e4))
    config = BacktestConfig(mode=mode)
    # the rule: |p - base rate| <= threshold (0.02 by default) is no edge, hence no position
    constant = run_backtest(bars, probs(bars, [base] * n), base, config)
    assert (constant["position"] == 0).all() and performance_metrics(constant)["exposure"] == 0
    within = np.clip(base + rng.uniform(-config.threshold, config.threshold, n), 0, 1)
    noise = run_backtest(bars, probs(bars, within.tolist()), base, config)
    assert (noise["position"] == 0).all() and (noise["costs"] == 0).all()
    # chance-level scatter of sd threshold / 3 (what a calibrated chance model shows on a few thousand rows) passes
    # the threshold on 0.3% of bars for one side: near zero exposure
    scatter = np.clip(base + rng.normal(0, config.threshold / 3, n), 0, 1)
    assert performance_metrics(run_backtest(bars, probs(bars, scatter.tolist()), base, config))["exposure"] < 0.03


def test_a_probability_equal_to_its_base_rate_up_to_rounding_holds_nothing_even_at_threshold_zero(random_walk):
    bars, _ = random_walk
    p = np.full(len(bars), 0.1 + 0.2)  # 0.30000000000000004
    r = run_backtest(bars, probs(bars, p.tolist()), 0.3, BacktestConfig(mode="long_short", threshold=0.0))
    assert (r["position"] == 0).all()


def test_a_model_with_an_edge_trades_both_sides_of_a_base_rate_above_one_half(random_walk):
    bars, _ = random_walk
    rng = np.random.default_rng(4)
    base = 0.6
    p = base + rng.uniform(-0.08, 0.08, len(bars))  # above 0.5 on every bar: a level rule at 0.5 would always be long
    assert (p > 0.5).all()
    flat = run_backtest(bars, probs(bars, p.tolist()), base, BacktestConfig())
    assert set(flat["signal"]) == {0.0, 1.0}
    assert (flat.loc[p - base > 0.02, "signal"] == 1).all() and (flat.loc[p - base <= 0.02, "signal"] == 0).all()
    assert 0.2 < performance_metrics(flat)["exposure"] < 0.8
    both = run_backtest(bars, probs(bars, p.tolist()), base, BacktestConfig(mode="long_short"))
    assert set(both["signal"]) == {-1.0, 0.0, 1.0} and (both.loc[p - base < -0.02, "signal"] == -1).all()
    assert (both["position"] < 0).any() and (both["position"] > 0).any()


def test_the_bayes_probabilities_of_a_planted_edge_trade_both_sides_and_pay():
    # AR(1) close-to-close returns with drift (phi 0.1, sd 1%): P(next return > 0) = Phi((mu + phi (r - mu)) / sd) is
    # the Bayes probability, its mean the base rate (about 0.52)
    from scipy import stats

    sharpe, exposure = [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        r, mu, noise = np.zeros(1250), 0.0004, rng.normal(0, 0.01, 1250)
        for t in range(1, 1250):
            r[t] = mu + 0.1 * (r[t - 1] - mu) + noise[t]
        close = 100 * np.exp(np.cumsum(r))
        bars = make_bars(np.concatenate(([100.0], close[:-1])).tolist(), close.tolist(),
                         (np.maximum(np.concatenate(([100.0], close[:-1])), close) * 1.002).tolist(),
                         (np.minimum(np.concatenate(([100.0], close[:-1])), close) * 0.998).tolist())
        p = stats.norm.cdf((mu + 0.1 * (r - mu)) / 0.01)
        ledger = run_backtest(bars, probs(bars, p.tolist()), float(p.mean()), BacktestConfig(mode="long_short"))
        m = performance_metrics(ledger)
        sharpe.append(m["sharpe"])
        exposure.append(m["exposure"])
        assert {-1.0, 0.0, 1.0} <= set(ledger["signal"])
    assert all(0.05 < e < 0.95 for e in exposure)
    assert np.mean(sharpe) > 0.4 and sum(s > 0 for s in sharpe) >= 5  # after costs


def test_the_base_rate_may_change_from_bar_to_bar_as_models_are_retrained():
    bars = make_bars(opens=[100] * 4, closes=[100] * 4)
    base = pd.Series([0.45, 0.45, 0.6, 0.6], index=pd.DatetimeIndex(bars["date"]))
    r = run_backtest(bars, probs(bars, [0.5, 0.6, 0.6, 0.65]), base, BacktestConfig(mode="long_short", **FREE))
    assert r["signal"].tolist() == [1, 1, 0, 1]  # the same 0.6 is an edge over 0.45 and none over 0.6
    assert r["base_rate"].tolist() == base.tolist()


def test_a_probability_without_a_base_rate_is_refused():
    bars = make_bars(opens=[100] * 3, closes=[100] * 3)
    base = pd.Series([0.5, math.nan, 0.5], index=pd.DatetimeIndex(bars["date"]))
    with pytest.raises(ValueError, match="2024-01-02 has no base rate"):
        run_backtest(bars, probs(bars, [0.6, 0.6, 0.6]), base)
    run_backtest(bars, probs(bars, [0.6, math.nan, 0.6]), base)  # no probability there: nothing to compare
    with pytest.raises(ValueError, match="base rate"):
        run_backtest(bars, probs(bars, [0.6, 0.6, 0.6]), 1.5)


# ---- cash: no buy beyond it ----------------------------------------------------------------------------


def test_a_buy_beyond_the_cash_is_shrunk_to_what_it_pays_for_by_hand():
    # sized at close 0 (100): 1,000 shares; the open gaps up to 102, 10 bps spread and 5 bps commission on top
    bars = make_bars(opens=[99, 102, 103], closes=[100, 101, 104])
    cfg = BacktestConfig(commission_bps=5.0, half_spread_bps=10.0, impact=0.0)
    r = run_backtest(bars, probs(bars, [0.9, 0.9, 0.9]), HALF, cfg)
    fill = 102 * 1.001
    shares = 100_000 / 1.0005 / fill  # vectorbt's buy_nb: cash / (1 + fees) / slipped price
    assert r["target_position"].iloc[0] == 1000
    assert r["position"].iloc[1] == pytest.approx(shares, rel=1e-12)
    assert r["cash"].iloc[1] == 0
    assert r["commission"].iloc[1] == pytest.approx(0.0005 * shares * fill, rel=1e-9)
    assert r["costs"].iloc[1] == pytest.approx(shares * 102 * 0.001 + 0.0005 * shares * fill, rel=1e-9)
    assert r["equity"].iloc[2] == pytest.approx(shares * 104, rel=1e-12)
    # the same order with borrowing allowed fills in full and leaves cash below zero
    lent = run_backtest(bars, probs(bars, [0.9, 0.9, 0.9]), HALF, replace(cfg, borrow=True))
    assert lent["position"].iloc[1] == 1000
    assert lent["cash"].iloc[1] == pytest.approx(100_000 - 1000 * fill * 1.0005, rel=1e-12)
    assert lent["cash"].iloc[1] < 0


def test_the_shrunk_buy_solves_the_impact_term_too():
    bars = make_bars(opens=[99, 101, 103], closes=[100, 102, 101], volume=10_000)
    cfg = BacktestConfig(commission_bps=20.0, half_spread_bps=10.0, impact=0.5)
    r = run_backtest(bars, probs(bars, [0.9, 0.9, 0.9]), HALF, cfg)
    q, fill = r["position"].iloc[1], r["fill_price"].iloc[1]
    assert q < 1000 and r["cash"].iloc[1] == 0
    assert fill == pytest.approx(101 * (1 + 0.001 + 0.5 * q / 10_000), rel=1e-12)  # the impact of the shrunk size
    assert q * fill * 1.002 == pytest.approx(100_000, rel=1e-12)  # shares and commission spend all the cash


def test_with_no_cash_left_a_larger_weight_does_not_fill():
    bars = make_bars(opens=[100, 100, 100, 100, 100], closes=[100, 100, 100, 100, 100])
    cfg = BacktestConfig(sizing="kelly", kelly_fraction=1.0, **FREE)
    r = run_backtest(bars, probs(bars, [1.0, 1.0, 0.8, 1.0, 1.0]), HALF, cfg)
    # weight 1 (all cash spent), then 0.6 (a sell), then 1 again: the buy back spends what the sell raised
    np.testing.assert_allclose(r["position"], [0, 1000, 1000, 600, 1000], rtol=1e-12)
    np.testing.assert_allclose(r["cash"], [100_000, 0, 0, 40_000, 0], rtol=1e-12, atol=1e-9)
    bars.loc[4, "open"] = 101  # with the last open above the deciding close, 1,000 shares cost more than 40,000
    r = run_backtest(bars, probs(bars, [1.0, 1.0, 0.8, 1.0, 1.0]), HALF, cfg)
    assert r["position"].iloc[4] == pytest.approx(600 + 40_000 / 101, rel=1e-12) and r["cash"].iloc[4] == 0


def test_a_reversal_from_short_to_long_is_paid_from_the_short_proceeds():
    bars = make_bars(opens=[100, 100, 110, 110], closes=[100, 100, 110, 110])
    cfg = BacktestConfig(mode="long_short", **FREE)
    r = run_backtest(bars, probs(bars, [0.1, 0.9, 0.9, 0.9]), HALF, cfg)
    # short 1,000 at 100 (cash 200,000); at close 1 the target is +1,000 (equity 100,000 / 100); at open 2 (110)
    # covering costs 110,000 and the 90,000 left buy 818.18 shares, not 1,000
    assert r["position"].iloc[1] == -1000 and r["cash"].iloc[1] == 200_000
    assert r["position"].iloc[2] == pytest.approx(90_000 / 110, rel=1e-12) and r["cash"].iloc[2] == 0


def test_at_the_defaults_borrowing_would_leave_cash_negative_and_the_cash_rule_never_does():
    from financial_assets_tests.synthetic_bars import random_bars

    borrowed, constrained = [], []
    for seed in range(20):
        bars = random_bars(1250, seed)
        noise = np.random.default_rng(seed).normal(0, 0.04, len(bars))
        p = pd.Series(np.clip(0.53 + noise, 0, 1), index=pd.DatetimeIndex(bars["date"]))
        lent = run_backtest(bars, p, 0.53, BacktestConfig(borrow=True))
        borrowed.append(((lent["cash"] < 0).mean(), (lent["cash"] / lent["equity"]).min()))
        constrained.append(run_backtest(bars, p, 0.53)["cash"].min())
    share, low = np.array(borrowed).T
    assert 0.16 <= share.min() and share.max() <= 0.23 and low.min() < -0.06  # the README's numbers
    assert min(constrained) >= 0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), fill=st.sampled_from(["next_open", "next_close"]),
       mode=st.sampled_from(["long_flat", "long_short"]), sizing=st.sampled_from(["fixed", "vol_target", "kelly"]),
       vol=st.floats(0.002, 0.06), costs=st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(0, 2)),
       stop=st.sampled_from([None, 0.01, 0.05]))
def test_cash_never_goes_below_zero_without_borrowing(seed, fill, mode, sizing, vol, costs, stop):
    rng = np.random.default_rng(seed)
    n = 120
    close = 50 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    opens = np.concatenate(([50.0], close[:-1])) * np.exp(rng.normal(0, vol, n))  # gaps as large as the moves
    highs = np.maximum(opens, close) * np.exp(np.abs(rng.normal(0, vol / 2, n)))
    lows = np.minimum(opens, close) * np.exp(-np.abs(rng.normal(0, vol / 2, n)))
    bars = make_bars(opens.tolist(), close.tolist(), highs.tolist(), lows.tolist(), volume=float(rng.uniform(1e3, 1e6)))
    base = float(rng.uniform(0.4, 0.6))
    p = np.clip(base + rng.normal(0, 0.08, n), 0, 1)
    p[rng.random(n) < 0.1] = np.nan
    cfg = BacktestConfig(fill=fill, mode=mode, sizing=sizing, fraction=1.0, max_leverage=1.0, kelly_fraction=5.0,
                         target_vol=1.0, vol_window=5, commission_bps=costs[0], half_spread_bps=costs[1],
                         impact=costs[2], stop_loss=stop)
    r = run_backtest(bars, probs(bars, p.tolist()), base, cfg)
    assert (r["cash"] >= 0).all(), r.loc[r["cash"] < 0, ["date", "cash", "position", "traded_shares"]]
    np.testing.assert_allclose(r["equity"], r["cash"] + r["position"] * close, rtol=1e-9, atol=1e-6)


# ---- stops -------------------------------------------------------------------------------------


def stop_case(opens, closes, highs, lows, p, fill="next_open", mode="long_flat", **stops) -> pd.DataFrame:
    """A one-share-per-dollar setup (fraction 1 of 100,000 at close 0 = 100) with stops and no costs."""
    bars = make_bars(opens, closes, highs, lows)
    return run_backtest(bars, probs(bars, p), HALF, BacktestConfig(fill=fill, mode=mode, **FREE, **stops))


def test_stop_loss_inside_the_bar_fills_at_the_level():
    r = stop_case([99, 100, 99, 98], [100, 101, 97, 98], [101, 102, 100, 99], [98, 99, 94, 97],
                  [0.9, 0.9, 0.9, 0.9], stop_loss=0.05)
    # 1,000 shares from open 1 (100); stop at 95, touched by bar 2's low 94
    assert r["exit_reason"].tolist() == ["", "", "stop_loss", ""]
    assert r["exit_price"].iloc[2] == 95
    assert r["position"].tolist() == [0, 1000, 0, 0]
    assert r["equity"].iloc[2] == pytest.approx(95_000)


def test_gap_through_the_stop_fills_at_the_open():
    r = stop_case([99, 100, 93, 92], [100, 101, 92, 92], [101, 102, 94, 93], [98, 99, 91, 91],
                  [0.9, 0.9, 0.9, 0.9], stop_loss=0.05)
    assert r["exit_reason"].iloc[2] == "stop_loss"
    assert r["exit_price"].iloc[2] == 93  # below the 95 level: the open is the price one could get
    assert r["equity"].iloc[2] == pytest.approx(93_000)


def test_both_levels_in_one_bar_count_the_stop_first():
    r = stop_case([99, 100, 100, 100], [100, 101, 100, 100], [101, 102, 106, 101], [98, 99, 94, 99],
                  [0.9, 0.9, 0.9, 0.9], stop_loss=0.05, take_profit=0.05)
    assert r["exit_reason"].iloc[2] == "stop_loss"
    assert r["exit_price"].iloc[2] == 95


def test_gap_beyond_take_profit_fills_at_the_open():
    r = stop_case([99, 100, 107, 100], [100, 101, 100, 100], [101, 102, 108, 101], [98, 99, 94, 99],
                  [0.9, 0.9, 0.9, 0.9], stop_loss=0.05, take_profit=0.05)
    assert r["exit_reason"].iloc[2] == "take_profit"
    assert r["exit_price"].iloc[2] == 107  # the open was already past 105 (and the later low past the stop)


def test_take_profit_inside_the_bar_fills_at_the_level():
    r = stop_case([99, 100, 101, 100], [100, 101, 104, 100], [101, 102, 106, 101], [98, 99, 100, 99],
                  [0.9, 0.9, 0.9, 0.9], take_profit=0.05)
    assert r["exit_reason"].iloc[2] == "take_profit"
    assert r["exit_price"].iloc[2] == 105


def test_entry_bar_itself_is_exposed_to_the_stop_with_next_open_fills():
    r = stop_case([99, 100, 96, 96], [100, 96, 96, 96], [101, 101, 97, 97], [98, 94, 95, 95],
                  [0.9, 0.9, 0.9, 0.9], stop_loss=0.05)
    assert r["exit_reason"].iloc[1] == "stop_loss"  # bought at open 1, low 94 later in the same bar
    assert r["position"].iloc[1] == 0


def test_next_close_stops_start_on_the_bar_after_the_fill():
    r = stop_case([99, 100, 99, 98], [100, 100, 97, 98], [101, 101, 100, 99], [98, 90, 94, 97],
                  [0.9, 0.9, 0.9, 0.9], fill="next_close", stop_loss=0.05)
    # bought at close 1 (100): bar 1's low of 90 came before the fill; bar 2's low 94 hits 95
    assert r["exit_reason"].tolist() == ["", "", "stop_loss", ""]
    assert r["position"].iloc[1] == 1000
    assert r["equity"].iloc[2] == pytest.approx(95_000)


def test_short_stop_loss_is_above_the_entry():
    r = stop_case([99, 100, 101, 100], [100, 101, 103, 100], [101, 102, 106, 101], [98, 99, 100, 99],
                  [0.1, 0.1, 0.1, 0.1], mode="long_short", stop_loss=0.05)
    # short 1,000 at open 1 (100); stop at 105, touched by bar 2's high 106
    assert r["exit_reason"].iloc[2] == "stop_loss"
    assert r["exit_price"].iloc[2] == 105
    assert r["equity"].iloc[2] == pytest.approx(95_000)


def test_stopped_direction_stays_flat_until_the_signal_changes():
    opens = [99, 100, 99, 96, 96, 96, 96]
    closes = [100, 101, 97, 96, 96, 96, 96]
    lows = [98, 99, 94, 95, 95, 95, 95]
    highs = [101, 102, 100, 97, 97, 97, 97]
    r = stop_case(opens, closes, highs, lows, [0.9, 0.9, 0.9, 0.9, 0.2, 0.9, 0.9], stop_loss=0.05)
    # stopped in bar 2; still long at closes 2-3 -> no re-entry; flat at close 4; long again at close 5
    assert r["position"].tolist() == [0, 1000, 0, 0, 0, 0, pytest.approx(95_000 / 96)]
    assert r["traded_shares"].iloc[3:6].eq(0).all()


def test_gap_stop_cancels_a_pending_order_in_the_stopped_direction():
    # vol-target weights change every bar, so a rebalance is pending when the open gaps through the stop
    rng = np.random.default_rng(5)
    close = list(100 * np.exp(np.cumsum(rng.normal(0, 0.005, 30))))
    opens = close[:]
    opens[25] = close[24] * 0.9  # a 10% gap down at open 25
    highs = [max(o, c) * 1.001 for o, c in zip(opens, close, strict=True)]
    lows = [min(o, c) * 0.999 for o, c in zip(opens, close, strict=True)]
    cfg = BacktestConfig(sizing="vol_target", vol_window=5, max_leverage=5.0, stop_loss=0.05, **FREE)
    bars = make_bars(opens, close, highs, lows)
    r = run_backtest(bars, probs(bars, [0.9] * 30), HALF, cfg)
    assert r["exit_reason"].iloc[25] == "stop_loss"
    assert r["exit_price"].iloc[25] == opens[25]
    assert r["position"].iloc[25:].eq(0).all()  # the signal stays long: no re-entry


# ---- invariants ----------------------------------------------------------------------------------

CONFIGS = [
    BacktestConfig(),
    BacktestConfig(mode="long_short", threshold=0.05, fill="next_close"),
    BacktestConfig(mode="long_short", sizing="vol_target", target_vol=0.2, max_leverage=2.0),
    BacktestConfig(mode="long_short", sizing="kelly", kelly_fraction=1.0, compound=False),
    BacktestConfig(mode="long_short", stop_loss=0.01, take_profit=0.02),
    BacktestConfig(fill="next_close", sizing="vol_target", stop_loss=0.02, take_profit=0.01),
]


@pytest.fixture(scope="module")
def random_walk() -> tuple[pd.DataFrame, pd.Series]:
    """300 seeded random-walk bars with noisy probabilities, some missing."""
    rng = np.random.default_rng(11)
    n = 300
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    opens = np.concatenate(([50.0], close[:-1])) * np.exp(rng.normal(0, 0.005, n))
    highs = np.maximum(opens, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    lows = np.minimum(opens, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    bars = make_bars(opens.tolist(), close.tolist(), highs.tolist(), lows.tolist(), volume=2e5)
    p = np.clip(rng.normal(0.5, 0.1, n), 0, 1)
    p[rng.random(n) < 0.15] = np.nan
    return bars, probs(bars, p.tolist())


@pytest.mark.parametrize("cfg", CONFIGS)
def test_ledger_identities(random_walk, cfg):
    bars, p = random_walk
    r = run_backtest(bars, p, HALF, cfg)
    previous = np.concatenate(([cfg.initial_capital], r["equity"].to_numpy()[:-1]))
    np.testing.assert_allclose(r["equity"], previous + r["pnl"] - r["costs"], rtol=1e-12)
    np.testing.assert_allclose(r["traded_shares"], np.diff(r["position"], prepend=0.0), atol=1e-9)
    np.testing.assert_allclose(r["costs"], r["commission"] + r["slippage"])
    assert (r["commission"] >= 0).all() and (r["slippage"] >= 0).all()
    assert (r["drawdown"] <= 0).all()
    no_fill = r["fill_price"].isna() & r["exit_price"].isna()
    assert ((r["traded_value"] == 0) == no_fill).all() and (r["traded_value"] >= 0).all()


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c.stop_loss is None])
def test_costs_never_add_to_equity(random_walk, cfg):
    bars, p = random_walk
    with_costs = run_backtest(bars, p, HALF, cfg)
    free = run_backtest(bars, p, HALF, BacktestConfig(**{**cfg.__dict__, **FREE}))
    assert with_costs["costs"].sum() > 0
    assert (with_costs["equity"] <= free["equity"] * (1 + 1e-12)).all()


@pytest.mark.parametrize("cfg", CONFIGS)
def test_no_prediction_means_no_trade_and_constant_equity(random_walk, cfg):
    bars, _ = random_walk
    r = run_backtest(bars, probs(bars, [math.nan] * len(bars)), HALF, cfg)
    assert (r["equity"] == cfg.initial_capital).all()
    assert (r["position"] == 0).all() and (r["costs"] == 0).all() and (r["pnl"] == 0).all()
    missing = run_backtest(bars, pd.Series(dtype=float), HALF, cfg)  # no probability at all: same thing
    pd.testing.assert_frame_equal(missing, r)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_nan_probability_never_opens_a_position(random_walk, cfg):
    bars, p = random_walk
    r = run_backtest(bars, p, HALF, cfg)
    nan = r["probability"].isna().to_numpy()
    assert (r["signal"][nan] == 0).all() and (r["target_weight"][nan] == 0).all()
    assert (r["target_position"][nan] == 0).all()
    after_nan = np.concatenate(([False], nan[:-1]))  # the fill of a NaN decision: flat after it
    assert (r["position"][after_nan] == 0).all()


@pytest.mark.parametrize("cfg", CONFIGS)
def test_a_probability_at_t_moves_nothing_before_t_plus_one(random_walk, cfg):
    bars, p = random_walk
    base = run_backtest(bars, p, HALF, cfg)
    rng = np.random.default_rng(1)
    for cut in (40, 150, 260):
        changed = p.copy()
        changed.iloc[cut:] = rng.uniform(0, 1, len(p) - cut)
        r = run_backtest(bars, changed, HALF, cfg)
        pd.testing.assert_frame_equal(r.iloc[:cut], base.iloc[:cut])
        held = ["position", "fill_price", "traded_shares", "commission", "slippage", "pnl", "equity", "exit_reason"]
        pd.testing.assert_series_equal(r[held].iloc[cut], base[held].iloc[cut])  # only the decision at cut moved
        assert not r["equity"].iloc[cut + 1:].equals(base["equity"].iloc[cut + 1:])  # the perturbation mattered


@pytest.mark.parametrize("cfg", CONFIGS)
def test_later_bars_move_nothing_up_to_the_cut(random_walk, cfg):
    from financial_assets.core.lookahead import perturb_after

    bars, p = random_walk
    base = run_backtest(bars, p, HALF, cfg)
    cut = bars["date"].iloc[180]
    r = run_backtest(perturb_after(bars, cut, seed=2), p, HALF, cfg)
    upto = (bars["date"] <= cut).to_numpy()
    pd.testing.assert_frame_equal(r[upto], base[upto])


# ---- input checks ----------------------------------------------------------------------------------


def test_rejects_probabilities_off_the_bar_dates():
    bars = make_bars([99, 101], [100, 102])
    stray = pd.Series([0.6], index=pd.DatetimeIndex(["2024-02-01"]))
    with pytest.raises(ValueError, match="2024-02-01 has no bar"):
        run_backtest(bars, stray, HALF)


@pytest.mark.parametrize("values", [[1.2, 0.5], [-0.1, 0.5]])
def test_rejects_probabilities_outside_zero_one(values):
    bars = make_bars([99, 101], [100, 102])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        run_backtest(bars, probs(bars, values), HALF)


def test_rejects_unsorted_bars_and_zero_volume_with_impact():
    bars = make_bars([99, 101], [100, 102])
    with pytest.raises(ValueError, match="increasing"):
        run_backtest(bars.iloc[::-1], probs(bars, [0.5, 0.5]), HALF)
    bars.loc[1, "volume"] = 0.0
    with pytest.raises(ValueError, match="volume"):
        run_backtest(bars, probs(bars, [0.5, 0.5]), HALF, BacktestConfig(impact=0.1))
    run_backtest(bars, probs(bars, [0.5, 0.5]), HALF, BacktestConfig(impact=0.0))


@pytest.mark.parametrize("bad", [{"threshold": -0.01}, {"threshold": 1.0}, {"fraction": 0.0}, {"commission_bps": -1.0},
                                 {"stop_loss": 1.0}, {"vol_window": 1}, {"fill": "same_close"},
                                 {"sizing": "martingale"}, {"take_profit": 0.0}])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        BacktestConfig(**bad)
