"""Feature registry and API: names, default set, name resolution, edge-case inputs, the docs page."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import talib

from financial_assets.features import (
    DEFAULT_FEATURES,
    FEATURE_REGISTRY,
    compute_features,
    compute_features_panel,
    indicators,
    registry_table,
    resolve_feature_names,
)
from financial_assets.features.chunk import Chunk, Run
from financial_assets.features.compute import OHLCV, computable
from financial_assets.features.indicators import FEATURES
from financial_assets.features.registry import registry_markdown
from financial_assets.features.spec import FeatureSpec, talib_feature
from financial_assets_tests.paths import ROOT
from financial_assets_tests.synthetic_bars import random_bars

ALL = list(FEATURE_REGISTRY)
FAMILIES = {"returns", "momentum", "volatility", "volume", "trend", "calendar", "cross_asset"}
CROSS_ASSET = ("corr_bench_60", "beta_bench_60", "rel_strength_20")
PRICE_LEVEL = ("bb_upper_20", "bb_middle_20", "bb_lower_20", "atr_14", "mom_10", "obv", "macd", "macd_signal")


def test_names_are_unique_snake_case_and_match_their_spec():
    specs = FEATURES
    assert len({s.name for s in specs}) == len(specs) == len(FEATURE_REGISTRY), "duplicate feature name"
    for name, spec in FEATURE_REGISTRY.items():
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", name), name
        assert spec.name == name
        assert spec.family in FAMILIES, (name, spec.family)
        assert spec.lookback >= 0 and spec.source and spec.description, name


def test_the_default_set_is_small_computable_and_free_of_price_levels():
    assert len(DEFAULT_FEATURES) <= 50
    assert len(set(DEFAULT_FEATURES)) == len(DEFAULT_FEATURES)
    assert set(CROSS_ASSET) <= set(DEFAULT_FEATURES)
    assert DEFAULT_FEATURES == tuple(n for n in ALL if FEATURE_REGISTRY[n].default)
    assert not set(PRICE_LEVEL) & set(DEFAULT_FEATURES)
    for name in DEFAULT_FEATURES:
        assert FEATURE_REGISTRY[name].fill is not None or FEATURE_REGISTRY[name].family == "cross_asset", name


def test_every_feature_but_cross_asset_ones_has_code_and_cross_asset_ones_come_from_sql():
    python = {n for n in ALL if FEATURE_REGISTRY[n].family != "cross_asset"}
    assert {n for n in ALL if FEATURE_REGISTRY[n].fill} == python
    assert [n for n in ALL if FEATURE_REGISTRY[n].family == "cross_asset"] == list(CROSS_ASSET)
    for name in CROSS_ASSET:
        assert FEATURE_REGISTRY[name].source == "sql:cross_asset_features"


def test_a_new_indicator_is_one_entry(monkeypatch):
    # the two examples of the indicators module's docstring, registered, compute what they say, per ticker
    def range_20(ch: Chunk, dest: np.ndarray) -> None:
        np.multiply(ch.window_sum(indicators._log_hl_sq, 20), 1.0 / 20, out=dest)
        ch.mask_head(dest, 19)

    roc = talib_feature("roc_5", "momentum", 5, "5-bar rate of change, percent", talib.ROC, "close", 5)
    mean_range = FeatureSpec("range_20", "volatility", 19, "mean(ln(high/low)^2, 20)", "mean squared log range",
                             fill=range_20)
    assert roc.source == "talib.ROC(close, 5)"
    for spec in (roc, mean_range):
        monkeypatch.setitem(FEATURE_REGISTRY, spec.name, spec)
    panel = pd.concat([random_bars(n, seed=n, ticker=f"T{n}") for n in (60, 25, 90)], ignore_index=True)
    out = compute_features_panel(panel, ["range_20", "rsi_14", "roc_5"], threads=2)
    assert list(out.columns) == ["ticker", "date", "rsi_14", "roc_5", "range_20"]  # registry order
    for ticker, rows in panel.groupby("ticker"):
        mine = out[out["ticker"] == ticker]
        np.testing.assert_allclose(mine["roc_5"], talib.ROC(rows["close"].to_numpy(), 5), rtol=1e-12, equal_nan=True)
        expected = (np.log(rows["high"] / rows["low"]) ** 2).rolling(20).mean()
        np.testing.assert_allclose(mine["range_20"], expected, rtol=1e-9, equal_nan=True)


def test_a_chunk_refuses_what_it_cannot_compute():
    bars = random_bars(40, seed=1)
    dates = bars["date"].to_numpy()
    chunk = Chunk([bars[k].to_numpy() for k in OHLCV], dates, [(0, 40)], Run(dates, "XNYS"))
    with pytest.raises(ValueError, match="1 to 31 rows, not 40"):
        chunk.window_sum(indicators._volume, 40)
    with pytest.raises(ValueError, match="BBANDS has 3 outputs"):
        chunk.talib(talib.BBANDS, "close", 20, 2, 2, 0, out=np.empty(40))


def test_resolve_feature_names():
    assert resolve_feature_names(None) == DEFAULT_FEATURES
    assert resolve_feature_names([]) == DEFAULT_FEATURES
    assert resolve_feature_names(["rsi_14", "log_ret_1", "rsi_14"]) == ("log_ret_1", "rsi_14")
    with pytest.raises(ValueError, match="nope") as error:
        resolve_feature_names(["rsi_14", "nope"])
    assert "rsi_14" in str(error.value)  # the message lists the valid names


def test_registry_table():
    table = registry_table()
    assert list(table.columns) == ["name", "family", "lookback", "source", "description", "default"]
    assert list(table["name"]) == ALL
    assert list(registry_table(["rsi_14", "month"])["name"]) == ["rsi_14", "month"]


def test_output_columns_skip_cross_asset_names():
    bars = random_bars(80, seed=2)
    out = compute_features(bars, ["rsi_14", "corr_bench_60", "month"])
    assert list(out.columns) == ["date", "rsi_14", "month"]
    assert (out["date"].to_numpy() == bars["date"].to_numpy()).all()
    default = compute_features(bars)
    assert list(default.columns) == ["date", *computable(DEFAULT_FEATURES)]
    assert all(default[c].dtype == np.float64 for c in default.columns[1:])


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_tiny_series_give_nan_not_errors(n):
    bars = random_bars(n, seed=4)
    out = compute_features(bars, ALL)
    assert len(out) == n and list(out.columns) == ["date", *computable(ALL)]
    values = out.drop(columns=["date", "obv", "day_of_week", "month", "days_to_month_end"]).to_numpy()
    if n:
        assert np.isnan(values[0]).all()
    panel = compute_features_panel(random_bars(n, seed=4, ticker="A"), ALL)
    assert len(panel) == n and list(panel.columns) == ["ticker", "date", *computable(ALL)]


def test_flat_prices_give_zero_change_and_nan_for_undefined_ratios():
    bars = random_bars(60, seed=1)
    bars[["open", "high", "low", "close"]] = 100.0
    last = compute_features(bars, ALL).iloc[-1]
    for name in ("log_ret_1", "ret_20", "rv_20", "parkinson_20", "garman_klass_20", "cmf_20", "sma_dist_50"):
        assert last[name] == 0.0, name
    assert np.isnan(last["bb_pctb_20"])  # zero-width bands: position undefined, not 0


def test_the_documented_registry_is_the_registry():
    docs = ROOT / "docs" / "features.md"
    regenerate = "regenerate: python -m financial_assets.features.registry > docs/features.md"
    assert docs.read_text() == registry_markdown(), regenerate


def test_benchmark_reference_covers_the_talib_subset_and_reports_a_ratio():
    from financial_assets.features.benchmark import measure_feature_throughput, talib_subset

    one_call = {n for n in DEFAULT_FEATURES
                if re.fullmatch(r"talib\.[A-Z]+\([^()]*\)(\[\d\])?", FEATURE_REGISTRY[n].source)}
    assert set(talib_subset()) == one_call - {"stoch_d"}  # STOCH's one call gives stoch_k and stoch_d
    panel = pd.concat([random_bars(300, seed=s, ticker=f"T{s}") for s in range(3)], ignore_index=True)
    result = measure_feature_throughput(panel, threads=2, repeats=1)
    assert set(result) == {"bars", "features_seconds", "features_bars_per_s", "talib_seconds", "talib_bars_per_s",
                           "ratio"}
    assert result["bars"] == 900
    assert result["ratio"] == pytest.approx(result["features_bars_per_s"] / result["talib_bars_per_s"])
