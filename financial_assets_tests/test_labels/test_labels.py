"""Labels: hand-computed cases, nulls past the end, a loop reference, and dependence only on bars up to t1."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from financial_assets.core.errors import BarDataError
from financial_assets.core.lookahead import perturb_after
from financial_assets.labels.compute import (
    HORIZONS,
    LABEL_COLUMNS,
    TripleBarrierConfig,
    compute_labels,
    fixed_horizon_labels,
    label_columns,
    triple_barrier_labels,
)
from financial_assets_tests.synthetic_bars import random_bars

PRICES = ["open", "high", "low", "close"]
TB = ["tb_label", "tb_ret", "tb_t1", "tb_timeout", "tb_ambiguous"]

# ---------------------------------------------------------------------------------------------
# Hand-computed triple barrier: bars 0-2 close 100, 101, 100, so row 2 is the only row with a
# volatility (vol_window=2) AND a vertical barrier (horizon=3, six bars). Its two log returns are
# +a and -a with a = ln(1.01): mean 0, sample variance (a^2 + a^2) / (2 - 1), so vol = a * sqrt(2).
CONFIG = TripleBarrierConfig(k_up=1.0, k_down=1.0, horizon=3, vol_window=2)
VOL = math.sqrt(2) * math.log(1.01)  # 0.0140718...
UPPER = 100 * math.exp(VOL)  # 101.4171...
LOWER = 100 * math.exp(-VOL)  # 98.6026...
QUIET = (100, 100.5, 99.5, 100.2)  # touches neither barrier


def test_the_hand_computed_barriers():
    # sqrt(2) * 0.00995033 = 0.0140718; 100 * e^0.0140718 = 101.4171; 100 * e^-0.0140718 = 98.6027
    assert 0.0140718 < VOL < 0.0140719 and 101.4171 < UPPER < 101.4172 and 98.6026 < LOWER < 98.6027


def _bars(later: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Bars 0-2 set the anchor (close 100 at row 2); `later` gives (open, high, low, close) of rows 3, 4, ..."""
    rows = [(100, 100.5, 99.5, 100), (101, 101.5, 100.5, 101), (100, 100.5, 99.5, 100), *later]
    frame = pd.DataFrame(rows, columns=PRICES, dtype=float)
    frame.insert(0, "date", pd.bdate_range("2024-01-02", periods=len(frame)))
    return frame


def _anchor(later: list[tuple[float, float, float, float]]) -> tuple[pd.Series, pd.Series]:
    """Row 2's triple-barrier labels for three later bars, after checking every other row is null."""
    assert len(later) == 3
    bars = _bars(later)
    out = triple_barrier_labels(bars, CONFIG)
    others = out.drop(index=2)  # rows 0-1: no volatility yet; rows 3-5: vertical barrier past the end
    assert others[TB].isna().all().all()
    return out.iloc[2], bars["date"]


def test_upper_barrier_first():
    row, dates = _anchor([QUIET, (100.5, 102, 100, 101.5), QUIET])
    assert (row.tb_label, row.tb_timeout, row.tb_ambiguous) == (1.0, 0.0, 0.0)
    assert row.tb_ret == pytest.approx(VOL, rel=1e-12) and row.tb_t1 == dates[4]


def test_lower_barrier_first():
    row, dates = _anchor([(100, 100.5, 98.0, 99), QUIET, QUIET])
    assert (row.tb_label, row.tb_timeout, row.tb_ambiguous) == (-1.0, 0.0, 0.0)
    assert row.tb_ret == pytest.approx(-VOL, rel=1e-12) and row.tb_t1 == dates[3]


@pytest.mark.parametrize(
    "later, label",
    [
        ([(100.5, 102, 100, 101), (100, 100.5, 98, 99), QUIET], 1.0),  # up at row 3, down at row 4
        ([(100, 100.5, 98, 99), (100.5, 102, 100, 101), QUIET], -1.0),  # down at row 3, up at row 4
    ],
)
def test_the_earlier_touch_wins(later, label):
    row, dates = _anchor(later)
    assert (row.tb_label, row.tb_ambiguous, row.tb_t1) == (label, 0.0, dates[3])
    assert row.tb_ret == pytest.approx(label * VOL, rel=1e-12)


@pytest.mark.parametrize("last_close, label", [(100.5, 1.0), (99.5, -1.0), (100.0, -1.0)])
def test_timeout_takes_the_sign_of_the_return_at_the_vertical_barrier(last_close, label):
    # a return of exactly 0 at the vertical barrier (100 -> 100) is documented as -1
    row, dates = _anchor([QUIET, QUIET, (100, 100.6, 99.4, last_close)])
    assert (row.tb_label, row.tb_timeout, row.tb_ambiguous) == (label, 1.0, 0.0)
    assert row.tb_ret == pytest.approx(math.log(last_close / 100), abs=1e-15) and row.tb_t1 == dates[5]


def test_both_barriers_in_one_bar_count_the_lower_first():
    row, dates = _anchor([(100, 102, 98, 100), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous, row.tb_timeout) == (-1.0, 1.0, 0.0)
    assert row.tb_ret == pytest.approx(-VOL, rel=1e-12) and row.tb_t1 == dates[3]


def test_gap_through_the_upper_barrier_exits_at_the_open():
    row, dates = _anchor([(103, 104, 102.5, 103.5), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous, row.tb_t1) == (1.0, 0.0, dates[3])
    assert row.tb_ret == pytest.approx(math.log(1.03), rel=1e-12)


def test_gap_through_the_lower_barrier_exits_at_the_open():
    row, _ = _anchor([(98, 99, 97, 98.5), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous) == (-1.0, 0.0)
    assert row.tb_ret == pytest.approx(math.log(0.98), rel=1e-12)


def test_a_gap_up_beats_the_lower_first_rule_in_a_bar_touching_both():
    row, _ = _anchor([(103, 103.5, 98, 99), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous) == (1.0, 1.0)
    assert row.tb_ret == pytest.approx(math.log(1.03), rel=1e-12)


def test_a_gap_down_in_a_bar_touching_both_exits_at_the_open():
    row, _ = _anchor([(98, 102, 97.5, 101), QUIET, QUIET])
    assert (row.tb_label, row.tb_ambiguous) == (-1.0, 1.0)
    assert row.tb_ret == pytest.approx(math.log(0.98), rel=1e-12)


def test_a_barrier_touched_before_the_end_is_still_null_without_the_vertical_barrier():
    # row 2 touches the upper barrier at row 3, but bar 2 + horizon = 5 does not exist yet
    out = triple_barrier_labels(_bars([(100.5, 102, 100, 101.5), QUIET]), CONFIG)
    assert out[TB].isna().all().all()


def test_fixed_horizon_by_hand():
    closes = [100.0, 101.0, 100.0, 102.0, 102.0, 99.0]
    dates = pd.bdate_range("2024-01-02", periods=6)
    out = fixed_horizon_labels(pd.DataFrame({"date": dates, "close": closes}), horizons=(1, 2))
    nan, nat, ln = math.nan, pd.NaT, math.log
    expected = {
        "fwd_ret_1": [ln(101 / 100), ln(100 / 101), ln(102 / 100), 0.0, ln(99 / 102), nan],
        "dir_1": [1.0, 0.0, 1.0, 0.0, 0.0, nan],  # 102 -> 102 is not up
        "fwd_ret_2": [0.0, ln(102 / 101), ln(102 / 100), ln(99 / 102), nan, nan],
        "dir_2": [0.0, 1.0, 1.0, 0.0, nan, nan],  # 100 -> 100 is not up
    }
    for column, values in expected.items():
        np.testing.assert_allclose(out[column].to_numpy(), values, rtol=1e-14, atol=0)  # NaNs must match too
    assert out["t1_1"].tolist() == [*dates[1:], nat]
    assert out["t1_2"].tolist() == [*dates[2:], nat, nat]
    assert list(out.columns) == ["date", "fwd_ret_1", "dir_1", "t1_1", "fwd_ret_2", "dir_2", "t1_2"]


def test_t1_by_hand():
    bars = _bars([QUIET, (100.5, 102, 100, 101.5), QUIET])  # row 2 exits at row 4
    d = bars["date"]
    out = compute_labels(bars, horizons=(1, 2), config=CONFIG)
    # rows 0-1 and 3-4: the largest t1_h; row 2: max(t1_1=d3, t1_2=d4, tb_t1=d4); row 5: nothing
    assert out["t1"].tolist() == [d[2], d[3], d[4], d[5], d[5], pd.NaT]
    assert list(out.columns) == ["date", *label_columns((1, 2))]


# ---------------------------------------------------------------------------------------------
def test_default_columns():
    out = compute_labels(random_bars(60, seed=1))
    assert tuple(out.columns) == ("date", *LABEL_COLUMNS) and HORIZONS == (1, 5, 20)
    assert all(str(out[c].dtype) == "datetime64[ns]" for c in ("date", "t1", "tb_t1", "t1_1", "t1_5", "t1_20"))
    assert all(out[c].dtype == np.float64 for c in LABEL_COLUMNS if not c.startswith("t1") and c != "tb_t1")


def test_labels_past_the_last_bar_are_null_never_zero():
    n = 100
    out = compute_labels(random_bars(n, seed=2))
    for h in HORIZONS:
        block = out[[f"fwd_ret_{h}", f"dir_{h}", f"t1_{h}"]]
        assert block.iloc[n - h :].isna().all().all(), h  # exactly the last h rows...
        assert block.iloc[: n - h].notna().all().all(), h  # ...and no others
    tb = out[TB]
    warm, horizon = TripleBarrierConfig().vol_window, TripleBarrierConfig().horizon
    assert tb.iloc[:warm].isna().all().all() and tb.iloc[n - horizon :].isna().all().all()
    assert tb.iloc[warm : n - horizon].notna().all().all()
    assert out["tb_label"].iloc[warm : n - horizon].isin([1.0, -1.0]).all()


def test_t1_is_the_latest_end_and_never_before_the_bar():
    out = compute_labels(random_bars(300, seed=4))
    ends = out[["t1_1", "t1_5", "t1_20", "tb_t1"]].max(axis=1, skipna=True)
    pd.testing.assert_series_equal(out["t1"], ends, check_names=False)
    labelled = out["t1"].notna()
    assert (out.loc[labelled, "t1"] >= out.loc[labelled, "date"]).all()
    assert labelled.sum() == len(out) - 1  # only the last bar has no label at all


def test_direction_on_a_driftless_random_walk_is_a_coin_flip():
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000)))
    bars = pd.DataFrame({"date": pd.bdate_range("1990-01-01", periods=len(close)), "close": close})
    up = fixed_horizon_labels(bars, (1,))["dir_1"].dropna()
    # binomial standard error of a share near 0.5 over len(up) independent steps; 4 SE
    assert abs(up.mean() - 0.5) < 4 * math.sqrt(0.25 / len(up))


def test_bad_input_is_refused():
    bars = random_bars(30, seed=3)
    with pytest.raises(BarDataError, match="labels_sorted"):
        compute_labels(bars.iloc[::-1])
    with pytest.raises(BarDataError, match="labels_prices"):
        compute_labels(bars.assign(low=bars["low"].where(bars.index != 7)))
    with pytest.raises(ValueError):
        compute_labels(bars, horizons=(1, 1))
    with pytest.raises(ValueError):
        TripleBarrierConfig(vol_window=1)


def test_short_and_empty_series_are_null_where_they_run_out():
    for n in (0, 1):
        out = compute_labels(random_bars(n, seed=5))
        assert len(out) == n and out[list(LABEL_COLUMNS)].isna().all().all()
    out = compute_labels(random_bars(5, seed=5))  # only the 1-bar horizon fits, no volatility yet
    assert out[["fwd_ret_1", "dir_1", "t1_1", "t1"]].iloc[:4].notna().all().all()
    assert out.drop(columns=["date", "fwd_ret_1", "dir_1", "t1_1", "t1"]).isna().all().all()


# ---------------------------------------------------------------------------------------------
# Properties over many random series and configurations.


def _wild_bars(n: int, seed: int) -> pd.DataFrame:
    """Bars with big intraday ranges, overnight gaps and prices on a 0.1 grid (so zero returns happen)."""
    rng = np.random.default_rng(seed)
    if n == 0:
        return random_bars(0, seed)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.02, n))), 1)
    open_ = np.round(np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.02, n)), 1)
    high = np.maximum(open_, close) * np.exp(rng.exponential(0.015, n))
    low = np.minimum(open_, close) * np.exp(-rng.exponential(0.015, n))
    return pd.DataFrame({"date": pd.bdate_range("2015-01-01", periods=n), "open": open_, "high": high,
                         "low": low, "close": close})


def _series(kind: str, n: int, seed: int) -> pd.DataFrame:
    return random_bars(n, seed) if kind == "calm" else _wild_bars(n, seed)


configs = st.builds(
    TripleBarrierConfig,
    k_up=st.floats(0.2, 3.0),
    k_down=st.floats(0.2, 3.0),
    horizon=st.integers(1, 15),
    vol_window=st.integers(2, 25),
)
horizon_sets = st.lists(st.integers(1, 25), min_size=1, max_size=3, unique=True)
kinds = st.sampled_from(["calm", "wild"])


def _reference(bars: pd.DataFrame, horizons, cfg: TripleBarrierConfig) -> pd.DataFrame:
    """The labels by a plain loop over rows, written from the spec, independent of the module."""
    o, hi, lo, c = ([float(x) for x in bars[p]] for p in PRICES)
    dates, n, big_h, w = list(bars["date"]), len(c), cfg.horizon, cfg.vol_window
    rows = []
    for t in range(n):
        row: dict = {}
        for h in horizons:
            r = math.log(c[t + h] / c[t]) if t + h < n else math.nan
            row |= {f"fwd_ret_{h}": r, f"dir_{h}": math.nan if t + h >= n else float(r > 0),
                    f"t1_{h}": dates[t + h] if t + h < n else pd.NaT}
        row |= dict(tb_label=math.nan, tb_ret=math.nan, tb_t1=pd.NaT, tb_timeout=math.nan, tb_ambiguous=math.nan)
        if t >= w and t + big_h < n:
            vol = statistics.stdev(math.log(c[i] / c[i - 1]) for i in range(t - w + 1, t + 1))
            up, dn = c[t] * math.exp(cfg.k_up * vol), c[t] * math.exp(-cfg.k_down * vol)
            r = math.log(c[t + big_h] / c[t])
            row |= dict(tb_label=1.0 if r > 0 else -1.0, tb_ret=r, tb_t1=dates[t + big_h], tb_timeout=1.0,
                        tb_ambiguous=0.0)
            for j in range(t + 1, t + big_h + 1):
                hit_up, hit_dn = hi[j] >= up, lo[j] <= dn
                if not (hit_up or hit_dn):
                    continue
                if hit_up and hit_dn:
                    first_up = o[j] >= up and not o[j] <= dn  # a gap decides, else the lower one
                else:
                    first_up = hit_up
                if first_up:
                    ret = math.log(o[j] / c[t]) if o[j] >= up else cfg.k_up * vol
                else:
                    ret = math.log(o[j] / c[t]) if o[j] <= dn else -cfg.k_down * vol
                row |= dict(tb_label=1.0 if first_up else -1.0, tb_ret=ret, tb_t1=dates[j], tb_timeout=0.0,
                            tb_ambiguous=float(hit_up and hit_dn))
                break
        ends = [e for e in [row[f"t1_{h}"] for h in horizons] + [row["tb_t1"]] if not pd.isna(e)]
        row["t1"] = max(ends) if ends else pd.NaT
        rows.append(row)
    return pd.DataFrame(rows, columns=list(label_columns(horizons)))


@settings(max_examples=60, deadline=None)
@given(kind=kinds, n=st.integers(0, 120), seed=st.integers(0, 10_000), horizons=horizon_sets, cfg=configs)
def test_matches_a_loop_over_rows(kind, n, seed, horizons, cfg):
    bars = _series(kind, n, seed)
    got = compute_labels(bars, horizons, cfg)
    want = _reference(bars, horizons, cfg)
    for column in want.columns:
        if column.startswith("t1") or column == "tb_t1":
            assert got[column].tolist() == pd.to_datetime(want[column]).tolist(), column
        else:
            np.testing.assert_allclose(got[column], want[column].astype(float), rtol=1e-9, atol=1e-12,
                                       err_msg=column)
    done = got["tb_label"].notna()
    # whatever the exit, +1 means the trade made money
    assert ((got.loc[done, "tb_label"] > 0) == (got.loc[done, "tb_ret"] > 0)).all()


def _changed_rows(a: pd.DataFrame, b: pd.DataFrame, rows: np.ndarray) -> list[int]:
    """Rows (positions) where `a` and `b` differ in any bit (NaN equals NaN, NaT equals NaT)."""
    bad = []
    for i in np.flatnonzero(rows):
        x, y = a.iloc[i], b.iloc[i]
        if not all((pd.isna(u) and pd.isna(v)) or u == v for u, v in zip(x, y, strict=True)):
            bad.append(int(i))
    return bad


def _rows_moved_by_later_bars(compute, bars: pd.DataFrame, cut_at: int, seed: int) -> list[int]:
    """Rows with t1 <= date[cut_at] whose labels move when every bar after that date changes."""
    base = compute(bars)
    cut = bars["date"].iloc[cut_at]
    moved = compute(perturb_after(bars, cut, seed))
    return _changed_rows(base, moved, (base["t1"] <= cut).to_numpy())


def _perturb_before(bars: pd.DataFrame, first_kept: int, seed: int) -> pd.DataFrame:
    """A copy of `bars` whose rows before position `first_kept` get new, still consistent prices."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    k = first_kept
    if k <= 0:
        return out
    scale = np.exp(rng.normal(0.0, 0.05, k))
    for p in PRICES:
        out.loc[: k - 1, p] = out[p].to_numpy()[:k] * scale
    top, bottom = out.loc[: k - 1, PRICES].max(axis=1), out.loc[: k - 1, PRICES].min(axis=1)
    out.loc[: k - 1, "high"] = top.to_numpy() * (1 + rng.uniform(0, 0.02, k))
    out.loc[: k - 1, "low"] = bottom.to_numpy() * (1 - rng.uniform(0, 0.02, k))
    return out


def _rows_moved_by_older_bars(compute, bars: pd.DataFrame, first_kept: int, vol_window: int, seed: int) -> list[int]:
    """Rows D with D - vol_window >= first_kept whose labels move when every bar before first_kept changes."""
    base = compute(bars)
    moved = compute(_perturb_before(bars, first_kept, seed))
    return _changed_rows(base, moved, np.arange(len(bars)) - vol_window >= first_kept)


@settings(max_examples=60, deadline=None)
@given(kind=kinds, n=st.integers(30, 200), seed=st.integers(0, 10_000), share=st.floats(0.0, 1.0),
       horizons=horizon_sets, cfg=configs)
def test_a_label_depends_only_on_bars_up_to_its_t1(kind, n, seed, share, horizons, cfg):
    bars = _series(kind, n, seed)
    compute = lambda b: compute_labels(b, horizons, cfg)  # noqa: E731
    cut_at = int(share * (n - 1))
    assert _rows_moved_by_later_bars(compute, bars, cut_at, seed) == []


@settings(max_examples=60, deadline=None)
@given(kind=kinds, n=st.integers(30, 200), seed=st.integers(0, 10_000), share=st.floats(0.0, 1.0),
       horizons=horizon_sets, cfg=configs)
def test_a_label_ignores_bars_before_its_volatility_window(kind, n, seed, share, horizons, cfg):
    bars = _series(kind, n, seed)
    compute = lambda b: compute_labels(b, horizons, cfg)  # noqa: E731
    first_kept = int(share * (n - 1))
    assert _rows_moved_by_older_bars(compute, bars, first_kept, cfg.vol_window, seed) == []


@settings(max_examples=40, deadline=None)
@given(kind=kinds, n=st.integers(30, 200), seed=st.integers(0, 10_000), share=st.floats(0.0, 1.0),
       horizons=horizon_sets, cfg=configs)
def test_a_stored_label_never_changes_as_bars_arrive(kind, n, seed, share, horizons, cfg):
    bars = _series(kind, n, seed)
    k = int(share * n)
    full = compute_labels(bars, horizons, cfg)
    short = compute_labels(bars.iloc[:k], horizons, cfg)
    assume(len(short) > 0)
    for column in short.columns:
        if column == "t1":  # t1 grows as more labels of the row become defined; compare where none did
            parts = [f"t1_{h}" for h in horizons] + ["tb_t1"]
            rows = (short[parts].isna().to_numpy() == full[parts].iloc[:k].isna().to_numpy()).all(axis=1)
        else:
            rows = short[column].notna().to_numpy()
        assert _changed_rows(short[[column]], full[[column]].iloc[:k], rows) == [], column


def test_the_dependence_checks_catch_leaks():
    """The two property checks above must fail on labels that claim less than they use."""
    bars = random_bars(150, seed=9)
    # claims its information ends at the bar itself
    leaky_end = lambda b: compute_labels(b).assign(t1=lambda f: f["date"])  # noqa: E731
    assert _rows_moved_by_later_bars(leaky_end, bars, 80, seed=1)
    assert not _rows_moved_by_later_bars(compute_labels, bars, 80, seed=1)
    # uses one more return than the window it claims
    wider = lambda b: compute_labels(b, config=TripleBarrierConfig(vol_window=21))  # noqa: E731
    assert _rows_moved_by_older_bars(wider, bars, 40, vol_window=20, seed=1)
    assert not _rows_moved_by_older_bars(compute_labels, bars, 40, vol_window=20, seed=1)
