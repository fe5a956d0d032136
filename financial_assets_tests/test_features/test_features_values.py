"""Feature values: TA-Lib parity, every formula against an independent computation, warm-up NaNs, panels."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import talib

from financial_assets.features import FEATURE_REGISTRY, compute_features, compute_features_panel
from financial_assets.features import compute as compute_module
from financial_assets.features.compute import computable
from financial_assets_tests.synthetic_bars import random_bars

ALL = list(FEATURE_REGISTRY)
PYTHON_FEATURES = computable(ALL)
#: features whose registry source is one TA-Lib call on the bars, e.g. "talib.RSI(close, 14)"
DIRECT_TALIB = [n for n in PYTHON_FEATURES
                if re.fullmatch(r"talib\.[A-Z]+\([^()]*\)(\[\d\])?", FEATURE_REGISTRY[n].source)]
#: formula features computed from window sums over the chunk: no running total, so no dependence on series start
WINDOW_FORMULAS = ["log_ret_1", "ret_5", "ret_10", "ret_20", "lag_ret_1", "lag_ret_5", "rv_5", "rv_10", "rv_20",
                   "vol_ratio_5_20", "parkinson_20", "garman_klass_20", "volume_ratio_5_20", "vwap_dist_20", "cmf_20"]


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    frame = random_bars(600, seed=3)
    # one bar with no range (high = low): CMF must count it as 0, not NaN
    frame.loc[300, ["open", "high", "low"]] = frame.loc[300, "close"]
    return frame


@pytest.fixture(scope="module")
def features(bars) -> pd.DataFrame:
    return compute_features(bars, ALL)


def _talib_reference(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every direct TA-Lib feature, from the public talib API on the raw arrays."""
    h, lo, c, v = (bars[k].to_numpy() for k in ("high", "low", "close", "volume"))
    macd = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    stoch = talib.STOCH(h, lo, c, fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0)
    bb = talib.BBANDS(c, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    return {
        "rsi_9": talib.RSI(c, 9), "rsi_14": talib.RSI(c, 14), "rsi_21": talib.RSI(c, 21),
        "macd": macd[0], "macd_signal": macd[1], "macd_hist": macd[2], "stoch_k": stoch[0], "stoch_d": stoch[1],
        "willr_14": talib.WILLR(h, lo, c, 14), "roc_10": talib.ROC(c, 10), "mom_10": talib.MOM(c, 10),
        "adx_14": talib.ADX(h, lo, c, 14), "cci_14": talib.CCI(h, lo, c, 14), "atr_14": talib.ATR(h, lo, c, 14),
        "natr_14": talib.NATR(h, lo, c, 14), "bb_upper_20": bb[0], "bb_middle_20": bb[1], "bb_lower_20": bb[2],
        "obv": talib.OBV(c, v), "mfi_14": talib.MFI(h, lo, c, v, 14),
    }


def test_every_talib_feature_equals_a_direct_talib_call(bars, features):
    reference = _talib_reference(bars)
    assert set(DIRECT_TALIB) == set(reference)
    for name in DIRECT_TALIB:
        got = features[name].to_numpy()
        assert (np.isnan(got) == np.isnan(reference[name])).all(), name
        np.testing.assert_allclose(got, reference[name], rtol=1e-9, atol=0, equal_nan=True, err_msg=name)


def test_bbands_middle_band_is_talib_sma_bit_for_bit():
    # the middle band is talib.SMA(close, 20) bit for bit; sma_dist_20 is the same with or without the bands
    c = random_bars(500, seed=8)["close"].to_numpy()
    assert np.array_equal(talib.BBANDS(c, 20, 2, 2, 0)[1], talib.SMA(c, 20), equal_nan=True)
    alone = compute_features(random_bars(300, seed=8), ["sma_dist_20"])["sma_dist_20"]
    shared = compute_features(random_bars(300, seed=8), ["sma_dist_20", "bb_pctb_20"])["sma_dist_20"]
    pd.testing.assert_series_equal(alone, shared, check_exact=True)


def test_window_formulas_do_not_depend_on_where_the_series_starts(bars):
    full = compute_features(bars, WINDOW_FORMULAS)
    for skip in (1, 37, 250):
        late = compute_features(bars.iloc[skip:].reset_index(drop=True), WINDOW_FORMULAS)
        for name in WINDOW_FORMULAS:
            lookback = FEATURE_REGISTRY[name].lookback
            np.testing.assert_array_equal(late[name].to_numpy()[lookback:], full[name].to_numpy()[skip + lookback:],
                                          err_msg=name)


def _ema(x: np.ndarray, n: int) -> np.ndarray:
    """TA-Lib's EMA convention: the SMA of the first n values, then alpha = 2 / (n + 1)."""
    out = np.full(len(x), np.nan)
    out[n - 1] = x[:n].mean()
    alpha = 2.0 / (n + 1)
    for i in range(n, len(x)):
        out[i] = out[i - 1] + alpha * (x[i] - out[i - 1])
    return out


def _wilder_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    """Wilder's ATR: true range from bar 1, seeded with mean(TR[1..n]), then (ATR (n-1) + TR) / n."""
    tr = np.maximum(h[1:] - lo[1:], np.maximum(abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])))
    out = np.full(len(c), np.nan)
    out[n] = tr[:n].mean()
    for i in range(n + 1, len(c)):
        out[i] = (out[i - 1] * (n - 1) + tr[i - 1]) / n
    return out


def _independent(bars: pd.DataFrame) -> dict[str, pd.Series | np.ndarray]:
    """Every feature that is not one TA-Lib call, recomputed with pandas rolling windows and loops."""
    o, h, lo, c, v = (bars[k] for k in ("open", "high", "low", "close", "volume"))
    log_ret = np.log(c / c.shift(1))
    rv = {n: log_ret.rolling(n).std(ddof=0) for n in (5, 10, 20)}  # pandas: Welford-style, not window sums
    mean20, std20 = c.rolling(20).mean(), c.rolling(20).std(ddof=0)
    ema20, atr20 = _ema(c.to_numpy(), 20), _wilder_atr(h.to_numpy(), lo.to_numpy(), c.to_numpy(), 20)
    mfm = ((c - lo) - (h - c)) / (h - lo)
    mfm[h == lo] = 0.0
    sma = {n: c.rolling(n).mean() for n in (5, 10, 20, 50, 200)}
    return {
        "log_ret_1": log_ret,
        **{f"ret_{n}": np.log(c / c.shift(n)) for n in (5, 10, 20)},
        **{f"lag_ret_{k}": log_ret.shift(k) for k in range(1, 6)},
        "bb_pctb_20": (c - (mean20 - 2 * std20)) / (4 * std20),
        "bb_width_20": 4 * std20 / mean20,
        "keltner_pos_20": (c - (ema20 - 2 * atr20)) / (4 * atr20),
        "parkinson_20": np.sqrt((np.log(h / lo) ** 2).rolling(20).mean() / (4 * np.log(2))),
        "garman_klass_20": np.sqrt((0.5 * np.log(h / lo) ** 2 - (2 * np.log(2) - 1) * np.log(c / o) ** 2)
                                   .rolling(20).mean()),
        **{f"rv_{n}": rv[n] for n in rv},
        "vol_ratio_5_20": rv[5] / rv[20],
        "volume_ratio_5_20": v.rolling(5).mean() / v.rolling(20).mean(),
        "vwap_dist_20": c / (((h + lo + c) / 3 * v).rolling(20).sum() / v.rolling(20).sum()) - 1,
        "cmf_20": (mfm * v).rolling(20).sum() / v.rolling(20).sum(),
        **{f"sma_dist_{n}": c / sma[n] - 1 for n in sma},
        **{f"ema_dist_{n}": c / _ema(c.to_numpy(), n) - 1 for n in (5, 10, 20, 50, 200)},
        "sma_cross_5_20": (sma[5] > sma[20]).astype(float).where(sma[20].notna()),
        "sma_cross_50_200": (sma[50] > sma[200]).astype(float).where(sma[200].notna()),
        "day_of_week": bars["date"].dt.dayofweek.astype(float),
        "month": bars["date"].dt.month.astype(float),
    }


def test_formula_features_match_independent_computations(bars, features):
    expected = _independent(bars)
    # every Python feature has a check: a TA-Lib parity test, the dict above, or its own test below
    assert set(DIRECT_TALIB) | set(expected) | {"days_to_month_end"} == set(PYTHON_FEATURES)
    for name, values in expected.items():
        want = np.asarray(values, dtype=float)
        got = features[name].to_numpy()
        assert (np.isnan(got) == np.isnan(want)).all(), name
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12, equal_nan=True, err_msg=name)
    assert features["cmf_20"].iloc[300:320].notna().all()  # the zero-range bar did not poison the window


def test_realized_volatility_is_the_population_std_of_the_last_n_log_returns(bars, features):
    log_ret = np.diff(np.log(bars["close"].to_numpy()))  # log_ret[i - 1] is the return into bar i
    for n in (5, 10, 20):
        for i in (n, n + 1, 333, len(bars) - 1):
            window = log_ret[i - n:i]
            assert features[f"rv_{n}"].iloc[i] == pytest.approx(np.std(window, ddof=0), rel=1e-9)


def test_range_estimators_on_a_hand_example():
    # 20 bars: ln(high/low) alternates 0.02 and 0.04, ln(close/open) alternates 0.01 and -0.03
    n = 20
    hl = np.tile([0.02, 0.04], n // 2)
    co = np.tile([0.01, -0.03], n // 2)
    open_ = np.full(n, 100.0)
    close = open_ * np.exp(co)
    low = np.minimum(open_, close) * 0.999
    bars = pd.DataFrame({"date": pd.bdate_range("2024-01-02", periods=n), "open": open_, "high": low * np.exp(hl),
                         "low": low, "close": close, "volume": np.full(n, 1e6)})
    last = compute_features(bars, ["parkinson_20", "garman_klass_20"]).iloc[-1]
    mean_hl_sq = (0.02**2 + 0.04**2) / 2  # 0.001
    mean_co_sq = (0.01**2 + 0.03**2) / 2  # 0.0005
    assert last["parkinson_20"] == pytest.approx(math.sqrt(0.001 / (4 * math.log(2))), rel=1e-12)
    assert last["parkinson_20"] == pytest.approx(math.sqrt(mean_hl_sq / (4 * math.log(2))), rel=1e-12)
    gk = math.sqrt(0.5 * 0.001 - (2 * math.log(2) - 1) * 0.0005)
    assert last["garman_klass_20"] == pytest.approx(gk, rel=1e-12)
    assert gk == pytest.approx(math.sqrt(0.5 * mean_hl_sq - (2 * math.log(2) - 1) * mean_co_sq))


def test_days_to_month_end_counts_exchange_sessions():
    bars = random_bars(30, seed=1, start="2024-01-22")
    out = compute_features(bars, ["days_to_month_end"]).set_index("date")["days_to_month_end"]
    assert out[pd.Timestamp("2024-01-31")] == 0
    assert out[pd.Timestamp("2024-01-29")] == 2
    assert out[pd.Timestamp("2024-02-14")] == 10  # Feb 2024: Presidents' Day (19th) is no session
    crypto = compute_features(bars, ["days_to_month_end"], calendar_code="24/7").set_index("date")["days_to_month_end"]
    assert crypto[pd.Timestamp("2024-02-14")] == 15  # every day is a session


def test_warm_up_rows_are_nan_and_later_rows_are_not(features):
    for name in PYTHON_FEATURES:
        column = features[name].to_numpy()
        lookback = FEATURE_REGISTRY[name].lookback
        assert np.isnan(column[:lookback]).all(), name
        assert not np.isnan(column[lookback:]).any(), name


@pytest.mark.parametrize("name", PYTHON_FEATURES)
def test_lookback_is_exact(name):
    lookback = FEATURE_REGISTRY[name].lookback
    just_enough = compute_features(random_bars(lookback + 1, seed=lookback), [name])[name].to_numpy()
    assert np.isnan(just_enough[:-1]).all() and not np.isnan(just_enough[-1]), name


def _panel(lengths: list[int]) -> pd.DataFrame:
    starts = pd.bdate_range("2005-01-03", periods=len(lengths), freq="37B")
    return pd.concat([random_bars(n, seed=i, start=str(starts[i].date()), ticker=f"T{i:02d}")
                      for i, n in enumerate(lengths)], ignore_index=True)


def test_panel_with_threads_equals_one_ticker_at_a_time(monkeypatch):
    monkeypatch.setattr(compute_module, "CHUNK_ROWS", 700)  # several chunks of several tickers each
    lengths = [300, 250, 3, 1, 450, 220, 600, 260, 40, 330]
    panel = _panel(lengths)
    ordered = compute_module._ticker_order(panel["ticker"].to_numpy(), panel["date"].to_numpy())[1]
    assert len(compute_module._chunks(ordered, len(panel), 700)) >= 3
    together = compute_features_panel(panel.sample(frac=1, random_state=0), ALL, threads=2)
    assert list(together.columns) == ["ticker", "date", *PYTHON_FEATURES]
    assert len(together) == len(panel)
    keys = ["ticker", "date"]
    assert together[keys].equals(panel.sort_values(keys)[keys].reset_index(drop=True))
    for ticker, rows in panel.groupby("ticker"):
        alone = compute_features(rows.drop(columns="ticker").reset_index(drop=True), ALL)
        mine = together.loc[together["ticker"] == ticker].drop(columns="ticker").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_exact=True)
    in_order = compute_features_panel(panel, ALL, threads=2)  # the already-sorted fast path
    pd.testing.assert_frame_equal(in_order, together, check_exact=True)
    pd.testing.assert_frame_equal(compute_features_panel(panel, ALL, threads=1), together, check_exact=True)
