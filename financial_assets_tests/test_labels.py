"""Labels: hand-computed cases, nulls past the end, and dependence only on bars up to t1."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from financial_assets.labels import TripleBarrierConfig, compute_labels, fixed_horizon_labels, triple_barrier_labels
from financial_assets_tests.synthetic_bars import random_bars

CONFIG = TripleBarrierConfig(k_up=1.0, k_down=1.0, horizon=3, vol_window=2)
# closes 100, 101, 100 give two log returns +-ln(1.01); their sample std is the anchor's volatility
VOL = float(np.std([math.log(1.01), math.log(100 / 101)], ddof=1))
UPPER, LOWER = 100 * math.exp(VOL), 100 * math.exp(-VOL)


def _bars(later: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Bars 0-2 set the anchor (close 100 at row 2); `later` gives (open, high, low, close) of rows 3-5."""
    rows = [(100, 100.5, 99.5, 100), (101, 101.5, 100.5, 101), (100, 100.5, 99.5, 100), *later]
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], dtype=float)
    frame.insert(0, "date", pd.bdate_range("2024-01-02", periods=len(frame)))
    return frame


QUIET = (100, 100.5, 99.5, 100.2)


def _anchor(later):
    bars = _bars(later)
    return triple_barrier_labels(bars, CONFIG).iloc[2], bars["date"]


def test_upper_barrier_first():
    row, dates = _anchor([QUIET, (100.5, 102, 100, 101.5), QUIET])
    assert (row.tb_label, row.tb_timeout, row.tb_ambiguous) == (1.0, 0.0, 0.0)
    assert row.tb_ret == pytest.approx(VOL) and row.tb_t1 == dates[4]


def test_lower_barrier_first():
    row, dates = _anchor([(100, 100.5, 98.0, 99), QUIET, QUIET])
    assert (row.tb_label, row.tb_timeout) == (-1.0, 0.0)
    assert row.tb_ret == pytest.approx(-VOL) and row.tb_t1 == dates[3]


@pytest.mark.parametrize("last_close, label", [(100.5, 1.0), (99.5, -1.0)])
def test_timeout_takes_the_sign_of_the_return_at_the_vertical_barrier(last_close, label):
    row, dates = _anchor([QUIET, QUIET, (100, 100.6, 99.4, last_close)])
    assert (row.tb_label, row.tb_timeout, row.tb_ambiguous) == (label, 1.0, 0.0)
    assert row.tb_ret == pytest.approx(math.log(last_close / 100)) and row.tb_t1 == dates[5]


def test_both_barriers_in_one_bar_count_the_lower_first():
    row, dates = _anchor([(100, 102, 98, 100), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous) == (-1.0, 1.0)
    assert row.tb_ret == pytest.approx(-VOL) and row.tb_t1 == dates[3]


def test_gap_through_the_upper_barrier_exits_at_the_open():
    row, _ = _anchor([(103, 104, 102.5, 103.5), QUIET, QUIET])
    assert row.tb_label == 1.0
    assert row.tb_ret == pytest.approx(math.log(1.03))


def test_gap_down_that_also_touches_the_upper_barrier_is_lower_first_at_the_open():
    row, _ = _anchor([(98, 102, 97.5, 101), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous) == (-1.0, 1.0)
    assert row.tb_ret == pytest.approx(math.log(0.98))


def test_fixed_horizon_by_hand():
    closes = [100, 101, 100, 102, 99, 103]
    bars = pd.DataFrame({"date": pd.bdate_range("2024-01-02", periods=6), "close": closes})
    out = fixed_horizon_labels(bars, horizons=(1, 2))
    assert out["fwd_ret_1"].iloc[0] == pytest.approx(math.log(1.01))
    assert out["fwd_ret_2"].iloc[3] == pytest.approx(math.log(103 / 102))
    assert out["dir_1"].tolist()[:5] == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert out["t1_2"].iloc[1] == bars["date"].iloc[3]
    assert out["fwd_ret_1"].iloc[5:].isna().all() and out["fwd_ret_2"].iloc[4:].isna().all()
    assert out["dir_2"].iloc[4:].isna().all() and out["t1_2"].iloc[4:].isna().all()


def test_labels_past_the_last_bar_are_null_never_zero():
    out = compute_labels(random_bars(100, seed=2))
    assert out[["fwd_ret_20", "dir_20"]].iloc[-20:].isna().all().all()
    assert out[["tb_label", "tb_ret", "tb_timeout"]].iloc[-10:].isna().all().all()
    assert out["t1_20"].iloc[-20:].isna().all() and out["tb_t1"].iloc[-10:].isna().all()
    assert out["tb_label"].iloc[20:-10].isin([1.0, -1.0]).all()


def test_t1_is_the_latest_end_and_never_before_the_bar():
    out = compute_labels(random_bars(300, seed=4))
    ends = out[["t1_1", "t1_5", "t1_20", "tb_t1"]].max(axis=1)
    assert (out["t1"].dropna() == ends.dropna()).all()
    assert (out["t1"].dropna() > out.loc[out["t1"].notna(), "date"]).all()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(60, 300), seed=st.integers(0, 10_000), row_share=st.floats(0.1, 0.6))
def test_a_label_depends_only_on_bars_up_to_its_t1(n, seed, row_share):
    from financial_assets.lookahead import perturb_after

    bars = random_bars(n, seed)
    base = compute_labels(bars)
    row = int(row_share * n)
    t1 = base["t1"].iloc[row]
    if pd.isna(t1):
        return
    moved = compute_labels(perturb_after(bars, t1, seed))
    pd.testing.assert_series_equal(base.iloc[row], moved.iloc[row])
    # nor on bars older than the volatility window before it
    early = bars.copy()
    cut = row - TripleBarrierConfig().vol_window - 1
    if cut > 0:
        early.loc[: cut - 1, ["open", "high", "low", "close"]] *= 1.7
        pd.testing.assert_series_equal(base.iloc[row], compute_labels(early).iloc[row])


def test_direction_on_a_driftless_random_walk_is_a_coin_flip():
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000)))
    bars = pd.DataFrame({"date": pd.bdate_range("1990-01-01", periods=len(close)), "close": close})
    share = fixed_horizon_labels(bars, (1,))["dir_1"].mean()
    assert abs(share - 0.5) < 4 * math.sqrt(0.25 / len(close))
