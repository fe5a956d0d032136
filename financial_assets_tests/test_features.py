"""Features: TA-Lib parity, formulas checked independently, warm-up nulls, and no look-ahead."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from financial_assets.features import (
    DEFAULT_FEATURES,
    FEATURE_REGISTRY,
    compute_features,
    compute_features_panel,
    resolve_feature_names,
)
from financial_assets.features.compute import computable
from financial_assets.lookahead import lookahead_violations
from financial_assets_tests.synthetic_bars import random_bars

ALL = list(FEATURE_REGISTRY)
PYTHON_FEATURES = computable(ALL)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return random_bars(600, seed=3)


@pytest.fixture(scope="module")
def features(bars) -> pd.DataFrame:
    return compute_features(bars, ALL)


def _talib_reference(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    o, h, l, c, v = (bars[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    macd = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    stoch = talib.STOCH(h, l, c, fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0)
    bb = talib.BBANDS(c, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    return {
        "rsi_9": talib.RSI(c, 9), "rsi_14": talib.RSI(c, 14), "rsi_21": talib.RSI(c, 21),
        "macd": macd[0], "macd_signal": macd[1], "macd_hist": macd[2], "stoch_k": stoch[0], "stoch_d": stoch[1],
        "willr_14": talib.WILLR(h, l, c, 14), "roc_10": talib.ROC(c, 10), "mom_10": talib.MOM(c, 10),
        "adx_14": talib.ADX(h, l, c, 14), "cci_14": talib.CCI(h, l, c, 14), "atr_14": talib.ATR(h, l, c, 14),
        "natr_14": talib.NATR(h, l, c, 14), "bb_upper_20": bb[0], "bb_middle_20": bb[1], "bb_lower_20": bb[2],
        "obv": talib.OBV(c, v), "mfi_14": talib.MFI(h, l, c, v, 14),
    }


def test_every_talib_feature_equals_a_direct_talib_call(bars, features):
    reference = _talib_reference(bars)
    # features whose registry source is exactly one TA-Lib output on the raw bars
    talib_sourced = [n for n in ALL if re.fullmatch(r"talib\.[A-Z]+\((open, )?(high, low, )?close(, volume)?[^)]*\)(\[\d\])?",
                                                    FEATURE_REGISTRY[n].source)]
    assert set(talib_sourced) <= set(reference), set(talib_sourced) - set(reference)
    for name in talib_sourced:
        np.testing.assert_allclose(features[name].to_numpy(), reference[name], rtol=1e-9, equal_nan=True, err_msg=name)


def test_formula_features_match_independent_computations(bars, features):
    c, h, l, o, v = (bars[k] for k in ("close", "high", "low", "open", "volume"))
    log_ret = np.log(c).diff()
    expected = {
        "log_ret_1": log_ret,
        "ret_20": np.log(c / c.shift(20)),
        "lag_ret_3": log_ret.shift(3),
        "rv_20": log_ret.rolling(20).std(ddof=0),
        "parkinson_20": np.sqrt((np.log(h / l) ** 2).rolling(20).mean() / (4 * np.log(2))),
        "garman_klass_20": np.sqrt((0.5 * np.log(h / l) ** 2 - (2 * np.log(2) - 1) * np.log(c / o) ** 2).rolling(20).mean()),
        "vol_ratio_5_20": log_ret.rolling(5).std(ddof=0) / log_ret.rolling(20).std(ddof=0),
        "volume_ratio_5_20": v.rolling(5).mean() / v.rolling(20).mean(),
        "vwap_dist_20": c / (((h + l + c) / 3 * v).rolling(20).sum() / v.rolling(20).sum()) - 1,
        "cmf_20": (((c - l) - (h - c)) / (h - l) * v).rolling(20).sum() / v.rolling(20).sum(),
        "sma_dist_50": c / c.rolling(50).mean() - 1,
        "bb_pctb_20": (c - (c.rolling(20).mean() - 2 * c.rolling(20).std(ddof=0)))
                      / (4 * c.rolling(20).std(ddof=0)),
        "sma_cross_5_20": (c.rolling(5).mean() > c.rolling(20).mean()).astype(float).where(c.rolling(20).mean().notna()),
        "day_of_week": bars["date"].dt.dayofweek.astype(float),
    }
    for name, series in expected.items():
        np.testing.assert_allclose(features[name].to_numpy(), series.to_numpy(), rtol=1e-7, atol=1e-12,
                                   equal_nan=True, err_msg=name)


def test_days_to_month_end_counts_exchange_sessions():
    bars = random_bars(30, seed=1, start="2024-01-22")
    out = compute_features(bars, ["days_to_month_end"]).set_index("date")["days_to_month_end"]
    assert out[pd.Timestamp("2024-01-31")] == 0
    assert out[pd.Timestamp("2024-01-29")] == 2
    assert out[pd.Timestamp("2024-02-14")] == 10  # Feb 2024: Presidents' Day (19th) is no session


def test_warm_up_rows_are_null_and_later_rows_are_not(features):
    for name in PYTHON_FEATURES:
        column = features[name].to_numpy()
        lookback = FEATURE_REGISTRY[name].lookback
        assert np.isnan(column[:lookback]).all(), name
        assert not np.isnan(column[lookback:]).any(), name


def test_registry_names_are_unique_snake_case_and_the_default_set_is_small():
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in ALL)
    assert len(DEFAULT_FEATURES) <= 50
    assert set(DEFAULT_FEATURES) <= set(ALL)
    with pytest.raises(ValueError, match="nope"):
        resolve_feature_names(["rsi_14", "nope"])
    assert resolve_feature_names(["rsi_14", "log_ret_1"]) == ("log_ret_1", "rsi_14")


def test_panel_with_threads_equals_one_ticker_at_a_time():
    panel = pd.concat([random_bars(300, seed=s, ticker=f"T{s}") for s in range(5)], ignore_index=True)
    together = compute_features_panel(panel.sample(frac=1, random_state=0), threads=2)
    for ticker, bars in panel.groupby("ticker"):
        alone = compute_features(bars.drop(columns="ticker").reset_index(drop=True))
        mine = together.loc[together["ticker"] == ticker].drop(columns="ticker").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=60, max_value=400), seed=st.integers(0, 10_000), cut_share=st.floats(0.05, 0.95))
def test_no_feature_changes_when_later_bars_change(n, seed, cut_share):
    bars = random_bars(n, seed)
    cut = bars["date"].iloc[int(cut_share * (n - 1))]
    assert lookahead_violations(lambda b: compute_features(b, ALL), bars, cut, seed=seed) == []


def test_the_guard_catches_a_feature_built_from_the_next_bar():
    def leaking(b: pd.DataFrame) -> pd.DataFrame:
        out = compute_features(b, ["rsi_14"])
        out["next_ret"] = np.log(b["close"].shift(-1) / b["close"]).to_numpy()
        return out

    bars = random_bars(200, seed=5)
    assert lookahead_violations(leaking, bars, bars["date"].iloc[120]) == ["next_ret"]


def test_the_documented_registry_is_the_registry():
    from pathlib import Path

    from financial_assets.features.registry import registry_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / "features.md"
    assert docs.read_text() == registry_markdown(), "regenerate: python -m financial_assets.features.registry > docs/features.md"
