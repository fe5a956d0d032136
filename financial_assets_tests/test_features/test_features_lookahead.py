"""No feature looks ahead: values at or before a cut never move when later bars change; the guard bites."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from financial_assets.core.lookahead import lookahead_violations
from financial_assets.features import FEATURE_REGISTRY, compute_features, compute_features_panel
from financial_assets_tests.synthetic_bars import random_bars

ALL = list(FEATURE_REGISTRY)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=60, max_value=400), seed=st.integers(0, 2**31 - 1),
       cut_share=st.floats(0.0, 1.0), price_scale=st.sampled_from([0.01, 1.0, 250.0, 1e5]))
def test_no_feature_changes_when_later_bars_change(n, seed, cut_share, price_scale):
    bars = random_bars(n, seed)
    bars[["open", "high", "low", "close"]] *= price_scale
    cut = bars["date"].iloc[int(cut_share * (n - 1))]
    assert lookahead_violations(lambda b: compute_features(b, ALL), bars, cut, seed=seed % 1000) == []


def test_no_panel_feature_changes_when_later_bars_change():
    panel = pd.concat([random_bars(n, seed=n, ticker=f"T{n}") for n in (120, 260, 90)], ignore_index=True)
    for cut in ("2010-03-01", "2010-07-15", "2010-10-01"):
        violations = lookahead_violations(lambda b: compute_features_panel(b, ALL, threads=2), panel,
                                          pd.Timestamp(cut), seed=1, keys=("ticker", "date"))
        assert violations == [], cut


def test_the_guard_catches_features_built_from_later_bars():
    def leaking(b: pd.DataFrame) -> pd.DataFrame:
        out = compute_features(b, ["rsi_14", "log_ret_1"])
        close = b["close"]
        out["next_ret"] = np.log(close.shift(-1) / close).to_numpy()  # tomorrow's return
        out["centered_sma"] = close.rolling(5, center=True).mean().to_numpy()  # a centered window
        return out

    bars = random_bars(200, seed=5)
    assert lookahead_violations(leaking, bars, bars["date"].iloc[120]) == ["next_ret", "centered_sma"]
