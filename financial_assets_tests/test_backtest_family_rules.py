"""The backtest family's plain rules: periods of a ledger, DSR, threshold settings, the PBO matrix, trials, the
look-ahead of a ticker's ledger, honest numbers on random walks, the alarms and the summary lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from financial_assets.backtest import BacktestConfig, expected_max_sharpe, performance_metrics, run_backtest
from financial_assets.backtest.configurations import overfitting_probability, return_matrix, threshold_settings
from financial_assets.backtest.periods import sharpe_significance, window
from financial_assets.backtest.summary import summary_lines
from financial_assets.backtest.track_record import configurations_tried, ticker_ledger
from financial_assets.defs.backtest.checks import _alarms
from financial_assets_tests.synthetic_bars import random_bars

GRID = [0.50, 0.52, 0.54, 0.56, 0.58]


def _noise(dates: pd.Series, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(np.clip(0.5 + rng.normal(0, 0.05, len(dates)), 0, 1), index=pd.DatetimeIndex(dates))


def test_a_window_measures_its_drawdown_and_return_from_the_equity_at_its_start():
    bars = random_bars(300, 1)
    ledger = run_backtest(bars, pd.Series(1.0, index=pd.DatetimeIndex(bars["date"])))
    start, end = bars["date"].iloc[150], bars["date"].iloc[250]
    part = window(ledger, start, end)
    opening = ledger["equity"].iloc[149]
    assert part["date"].tolist() == bars["date"].iloc[150:251].tolist()
    expected = part["equity"] / np.maximum.accumulate(np.maximum(part["equity"], opening)) - 1
    np.testing.assert_allclose(part["drawdown"], expected, rtol=0, atol=1e-15)
    assert performance_metrics(part)["total_return"] == pytest.approx(part["equity"].iloc[-1] / opening - 1, rel=1e-12)


def test_the_deflated_sharpe_is_the_psr_shifted_by_the_expected_best_of_the_trials():
    returns = np.random.default_rng(3).normal(0.001, 0.01, 500)
    one, many = sharpe_significance(returns, 1), sharpe_significance(returns, 100)
    assert one["deflated_sharpe"] == one["psr"] == many["psr"]
    shift = expected_max_sharpe(100, 1.0)  # in units of the Sharpe estimate's standard error
    assert many["deflated_sharpe"] == pytest.approx(stats.norm.cdf(stats.norm.ppf(many["psr"]) - shift), rel=1e-9)
    assert np.isnan(sharpe_significance(np.zeros(50), 10)["psr"])  # never in the market: no Sharpe ratio


def test_threshold_settings_start_with_the_configured_one_and_never_repeat_a_strategy():
    flat = threshold_settings(BacktestConfig(), GRID)
    assert [(c.upper, c.lower) for c in flat] == [(0.5, 0.5), (0.52, 0.48), (0.54, 0.46), (0.56, 0.44), (0.58, 0.42)]
    assert len(threshold_settings(BacktestConfig(upper=0.55), GRID)) == 6
    # long/flat ignores the lower threshold: the same upper is the same strategy
    assert len(threshold_settings(BacktestConfig(upper=0.52, lower=0.5), GRID)) == 5
    assert len(threshold_settings(BacktestConfig(mode="long_short", upper=0.52, lower=0.5), GRID)) == 6


def test_the_pbo_matrix_holds_each_source_and_setting_traded_by_the_engine_after_the_first_common_date():
    bars = random_bars(200, 2)
    late = _noise(bars["date"], 5)
    late.iloc[:40] = np.nan  # forward calibration starts later
    sources = {"xgboost v1": _noise(bars["date"], 4), "logistic v2": late}
    settings = threshold_settings(BacktestConfig(), GRID)
    matrix = return_matrix(bars, sources, settings)
    assert matrix.shape == (159, 10) and matrix.index[0] == bars["date"].iloc[41]
    direct = run_backtest(bars.iloc[40:].reset_index(drop=True), sources["xgboost v1"].iloc[40:], settings[2])
    np.testing.assert_array_equal(matrix["xgboost v1 0.54/0.46"], direct["returns"].to_numpy()[1:])
    assert np.isnan(overfitting_probability(matrix.iloc[:3], 16))  # too short for two blocks of two rows
    assert np.isnan(overfitting_probability(matrix.iloc[:, :1], 16))  # one configuration: nothing to choose


def test_configurations_tried_count_the_models_trained_beside_the_serving_ones_and_the_thresholds():
    trained = pd.DataFrame({"date": pd.to_datetime(["2011-01-31", "2011-01-31", "2011-02-28", "2011-03-31"]),
                            "registered_model": "fa_A_dir_5", "model_version": [1, 2, 3, 4], "trials": [48, 0, 48, 48]})
    served = pd.DataFrame({"registered_model": "fa_A_dir_5", "model_version": [1, 1, 4]})
    assert configurations_tried(trained, served, 5) == 48 + 1 + 48 + 5  # a model without tuning is one configuration


@pytest.mark.parametrize("fill", ["next_open", "next_close"])
def test_a_ledger_row_and_the_next_fill_ignore_predictions_made_after_it(fill):
    bars = random_bars(120, 6)
    predictions = pd.DataFrame({"date": bars["date"].iloc[30:], "probability": _noise(bars["date"].iloc[30:], 7).values,
                                "registered_model": "fa_A_dir_5", "model_type": "xgboost", "model_version": 1,
                                "model_as_of": bars["date"].iloc[29]})
    config = BacktestConfig(fill=fill, mode="long_short", sizing="vol_target")
    cut = bars["date"].iloc[80]
    flipped = predictions.assign(probability=np.where(predictions["date"] > cut, 1 - predictions["probability"],
                                                      predictions["probability"]))
    before, after = (ticker_ledger(bars, p, config).set_index("date") for p in (predictions, flipped))
    pd.testing.assert_frame_equal(after.loc[:cut], before.loc[:cut])
    filled = ["fill_price", "traded_shares", "position", "costs", "equity"]
    pd.testing.assert_series_equal(after.loc[bars["date"].iloc[81], filled], before.loc[bars["date"].iloc[81], filled])
    assert not after["equity"].equals(before["equity"])


def test_on_random_walks_traded_by_noise_the_deflated_sharpe_stays_low_and_pbo_is_a_coin_flip():
    settings, pbo, dsr = threshold_settings(BacktestConfig(), GRID), [], []
    for seed in range(24):
        bars = random_bars(500, seed)
        sources = {name: _noise(bars["date"], 1000 + 2 * seed + k) for k, name in enumerate(("xgboost", "logistic"))}
        pbo.append(overfitting_probability(return_matrix(bars, sources, settings), 16))
        live = run_backtest(bars, sources["xgboost"])
        dsr.append(sharpe_significance(live["returns"].to_numpy(), 2 * 48 + len(settings))["deflated_sharpe"])
    assert max(dsr) < 0.95
    assert 0.35 <= np.mean(pbo) <= 0.7  # PBO of one ticker spreads widely; its mean is 0.5


def test_a_leak_gives_a_deflated_sharpe_the_alarm_calls_too_good_to_be_true():
    bars = random_bars(300, 8)
    move = np.sign(bars["open"].shift(-2) / bars["open"].shift(-1) - 1)  # what a next-open fill will earn: the future
    leak = pd.Series((0.5 + 0.1 * move).to_numpy(), index=pd.DatetimeIndex(bars["date"])).iloc[:-2]
    live = run_backtest(bars, leak, BacktestConfig(mode="long_short"))
    stats_ = sharpe_significance(live["returns"].to_numpy(), 200)
    metrics = performance_metrics(live)
    row = pd.Series({**metrics, **stats_, "pbo": 0.1, "oos_auc": 0.51})
    assert stats_["deflated_sharpe"] > 0.95
    assert [a.split(" ")[0] for a in _alarms(row)] == ["deflated", "Sharpe"]  # and a Sharpe above 3 over a year


def test_the_alarms_are_pbo_a_chance_model_with_a_high_dsr_and_a_sharpe_above_the_bound_over_a_year():
    calm = {"pbo": 0.2, "deflated_sharpe": 0.99, "oos_auc": 0.55, "sharpe": 3.5, "n_bars": 200.0}
    assert _alarms(pd.Series(calm)) == []
    assert _alarms(pd.Series({**calm, "pbo": 0.5})) == ["PBO 0.50 >= 0.5"]
    assert _alarms(pd.Series({**calm, "oos_auc": 0.51})) == ["deflated Sharpe 0.990 > 0.95 with OOS AUC 0.510"]
    assert _alarms(pd.Series({**calm, "n_bars": 252.0})) == ["Sharpe 3.50 > 3.0 over 252 bars"]
    assert _alarms(pd.Series({**calm, "pbo": np.nan, "deflated_sharpe": np.nan, "sharpe": np.nan})) == []


def test_the_summary_line_puts_the_strategy_beside_buy_and_hold_with_its_dsr_and_pbo():
    row = {"ticker": "AAA", "date": pd.Timestamp("2011-12-30"), "period": "history",
           "first_date": pd.Timestamp("2010-08-09"), "last_date": pd.Timestamp("2011-12-30"), "n_bars": 351.0,
           "total_return": 0.0312, "sharpe": 0.41, "deflated_sharpe": 0.012, "n_trials": 149, "max_drawdown": -0.081,
           "bh_total_return": 0.1052, "bh_sharpe": 0.8, "bh_max_drawdown": -0.15, "pbo": 0.56, "pbo_configurations": 10,
           "exposure": 0.4}
    older = {**row, "date": pd.Timestamp("2011-06-30"), "total_return": 0.5}
    (line,) = summary_lines(pd.DataFrame([row, older, {**row, "period": "range", "total_return": 9.0}]))
    assert line == ("AAA: out of sample 2010-08-09 .. 2011-12-30 (351 bars): strategy +3.12%, Sharpe 0.41 (deflated "
                    "Sharpe 0.01 over 149 configurations), max drawdown -8.1% vs buy & hold +10.52%, Sharpe 0.80, max "
                    "drawdown -15.0%; PBO 0.56 over 10 configurations")
    # a model that never passed the threshold has no Sharpe ratio to show
    idle = {**row, "total_return": 0.0, "sharpe": np.nan, "deflated_sharpe": np.nan, "max_drawdown": 0.0,
            "exposure": 0.0}
    (line,) = summary_lines(pd.DataFrame([idle]))
    assert "strategy never in the market (no probability passed the threshold) vs buy & hold +10.52%" in line
    assert "nan" not in line
    assert summary_lines(pd.DataFrame()) == []
