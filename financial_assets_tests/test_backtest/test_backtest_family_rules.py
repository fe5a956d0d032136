"""The backtest family's plain rules: periods of a ledger, DSR with the spread of the trials' Sharpe ratios, when PSR
and DSR are unreliable, threshold settings, the PBO matrix, trials, the look-ahead of a ticker's ledger, honest
numbers on random walks, the alarms and the summary lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.backtest import (
    BacktestConfig,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    performance_metrics,
    probabilistic_sharpe_ratio,
    run_backtest,
    sharpe_moments,
)
from financial_assets.backtest.configurations import (
    configuration_sharpes,
    overfitting_probability,
    return_matrix,
    threshold_settings,
)
from financial_assets.backtest.periods import sharpe_reliable, sharpe_significance, trial_sharpe_variance, window
from financial_assets.backtest.summary import summary_lines
from financial_assets.backtest.track_record import configurations_tried, oof_sources, ticker_ledger, traded_predictions
from financial_assets.core.errors import BarDataError
from financial_assets.defs.backtest.checks import _alarms
from financial_assets_tests.synthetic_bars import random_bars

GRID = [0.0, 0.01, 0.02, 0.03, 0.05]
BASE = 0.53  # a training up-rate


def _noise(dates: pd.Series, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(np.clip(BASE + rng.normal(0, 0.05, len(dates)), 0, 1), index=pd.DatetimeIndex(dates))


def _source(probability: pd.Series) -> pd.DataFrame:
    """A configuration source: the probability and its base rate by date."""
    return pd.DataFrame({"probability": probability, "base_rate": BASE})


def test_a_window_measures_its_drawdown_and_return_from_the_equity_at_its_start():
    bars = random_bars(300, 1)
    ledger = run_backtest(bars, pd.Series(1.0, index=pd.DatetimeIndex(bars["date"])), 0.0)
    start, end = bars["date"].iloc[150], bars["date"].iloc[250]
    part = window(ledger, start, end)
    opening = ledger["equity"].iloc[149]
    assert part["date"].tolist() == bars["date"].iloc[150:251].tolist()
    expected = part["equity"] / np.maximum.accumulate(np.maximum(part["equity"], opening)) - 1
    np.testing.assert_allclose(part["drawdown"], expected, rtol=0, atol=1e-15)
    assert performance_metrics(part)["total_return"] == pytest.approx(part["equity"].iloc[-1] / opening - 1, rel=1e-12)


def _with_variance(n: int, variance: float, seed: int) -> np.ndarray:
    """n trial Sharpe ratios whose sample variance (ddof=1) is exactly `variance`."""
    draws = np.random.default_rng(seed).normal(0, 1, n)
    return (draws - draws.mean()) / draws.std(ddof=1) * np.sqrt(variance)


def test_the_deflated_sharpe_of_the_worked_example_from_the_spread_of_100_trial_sharpe_ratios():
    # Bailey & López de Prado (2014): SR 0.1581 a day over T = 1250, skew -3, kurtosis 10, 100 trials whose
    # Sharpe ratios vary by V[SR] = 0.5 / 250 -> SR0 = 0.11317, DSR = 0.9004
    trials = _with_variance(100, 0.5 / 250, seed=1)
    variance = trial_sharpe_variance(trials)
    assert variance == pytest.approx(0.5 / 250, rel=1e-12)
    assert expected_max_sharpe(len(trials), variance) == pytest.approx(0.11317, abs=5e-6)
    assert deflated_sharpe_ratio(0.1581, 1250, len(trials), variance, -3.0, 10.0) == pytest.approx(0.9004, abs=1.5e-4)
    assert np.isnan(trial_sharpe_variance(trials[:1]))


def test_the_deflated_sharpe_of_a_period_uses_the_spread_of_the_trials_not_one_sharpes_sampling_variance():
    returns = np.random.default_rng(3).normal(0.001, 0.01, 500)
    m = sharpe_moments(returns)
    trials = _with_variance(20, 0.004, seed=2)
    one, many = sharpe_significance(returns, 1, trials), sharpe_significance(returns, 100, trials)
    assert one["deflated_sharpe"] == one["psr"] == many["psr"]
    assert many["trial_sharpe_variance"] == pytest.approx(0.004, rel=1e-12)
    sr0 = expected_max_sharpe(100, 0.004)
    assert many["deflated_sharpe"] == pytest.approx(
        probabilistic_sharpe_ratio(m["sharpe"], 500, m["skew"], m["kurtosis"], sr0), rel=1e-12)
    sampling = (1 - m["skew"] * m["sharpe"] + (m["kurtosis"] - 1) / 4 * m["sharpe"] ** 2) / 499  # the old input
    old = deflated_sharpe_ratio(m["sharpe"], 500, 100, sampling, m["skew"], m["kurtosis"])
    assert abs(many["deflated_sharpe"] - old) > 0.05
    wider = sharpe_significance(returns, 100, trials * 2)
    assert wider["deflated_sharpe"] < many["deflated_sharpe"]  # a wider spread of luck deflates more
    assert np.isnan(sharpe_significance(returns, 100, trials[:1])["deflated_sharpe"])  # no spread measured
    assert np.isnan(sharpe_significance(np.zeros(50), 10, trials)["psr"])  # never in the market: no Sharpe ratio


def test_configuration_sharpes_are_per_period_and_zero_for_a_configuration_that_never_traded():
    rng = np.random.default_rng(0)
    matrix = pd.DataFrame({"a": rng.normal(0.001, 0.01, 300), "never": 0.0})
    np.testing.assert_allclose(configuration_sharpes(matrix),
                               [matrix["a"].mean() / matrix["a"].std(ddof=1), 0.0], rtol=1e-12)


def test_a_strategy_in_the_market_7_sessions_of_1258_gets_a_high_psr_that_is_marked_unreliable():
    bars = random_bars(1258, 21)
    # what a position decided at close t earns with next-close fills (held from close t+1 to t+2): a few lucky days,
    # as a leak or luck would pick them
    move = bars["close"].shift(-2) / bars["close"].shift(-1) - 1
    lucky = move.nlargest(40).index[::6][:7]
    p = pd.Series(BASE, index=pd.DatetimeIndex(bars["date"]))
    p.iloc[lucky] = 0.9
    ledger = run_backtest(bars, p, BASE, BacktestConfig(fill="next_close"))
    metrics = performance_metrics(ledger)
    stats_ = sharpe_significance(ledger["returns"].to_numpy(), 50, _with_variance(10, 1e-3, 4))
    assert metrics["trades"] == 7 and metrics["exposure"] < 0.015
    assert stats_["psr"] > 0.95  # what such a strategy reports
    assert not sharpe_reliable(metrics["exposure"], metrics["trades"], 0.05, 10)
    assert sharpe_reliable(0.05, 10, 0.05, 10) and not sharpe_reliable(0.5, 9, 0.05, 10)


def test_threshold_settings_start_with_the_configured_one_and_never_repeat_a_strategy():
    settings = threshold_settings(BacktestConfig(), GRID)
    assert [c.threshold for c in settings] == [0.02, 0.0, 0.01, 0.03, 0.05]
    assert len(threshold_settings(BacktestConfig(threshold=0.04), GRID)) == 6
    assert all(c.mode == "long_short" for c in threshold_settings(BacktestConfig(mode="long_short"), GRID))


def test_the_pbo_matrix_holds_each_source_and_setting_traded_by_the_engine_after_the_first_common_date():
    bars = random_bars(200, 2)
    late = _noise(bars["date"], 5)
    late.iloc[:40] = np.nan  # forward calibration starts later
    sources = {"xgboost v1": _source(_noise(bars["date"], 4)), "logistic v2": _source(late)}
    settings = threshold_settings(BacktestConfig(), GRID)
    matrix = return_matrix(bars, sources, settings)
    assert matrix.shape == (159, 10) and matrix.index[0] == bars["date"].iloc[41]
    direct = run_backtest(bars.iloc[40:].reset_index(drop=True), sources["xgboost v1"]["probability"].iloc[40:], BASE,
                          settings[2])
    np.testing.assert_array_equal(matrix["xgboost v1 0.01"], direct["returns"].to_numpy()[1:])
    assert np.isnan(overfitting_probability(matrix.iloc[:3], 16))  # too short for two blocks of two rows
    assert np.isnan(overfitting_probability(matrix.iloc[:, :1], 16))  # one configuration: nothing to choose


def test_configurations_tried_count_the_models_trained_beside_the_serving_ones_and_the_thresholds():
    trained = pd.DataFrame({"date": pd.to_datetime(["2011-01-31", "2011-01-31", "2011-02-28", "2011-03-31"]),
                            "registered_model": "fa_A_dir_5", "model_version": [1, 2, 3, 4], "trials": [48, 0, 48, 48]})
    served = pd.DataFrame({"registered_model": "fa_A_dir_5", "model_version": [1, 1, 4]})
    assert configurations_tried(trained, served, 5) == 48 + 1 + 48 + 5  # a model without tuning is one configuration


def test_oof_sources_pair_each_probability_with_the_base_rate_it_is_compared_with():
    dates = pd.bdate_range("2011-01-03", periods=4)
    oof = pd.DataFrame({"sample_date": dates.repeat(2), "registered_model": "fa_A_dir_5", "model_version": 1,
                        "probability": [0.4, 0.6] * 4, "calibrated": [0.55, 0.57] * 4, "base_rate": 0.52,
                        "baseline_majority": [0.49, 0.51] * 4})
    models = pd.DataFrame({"registered_model": "fa_A_dir_5", "model_version": [1], "model_type": "xgboost",
                           "calibrated": [True]})
    (source,) = oof_sources(oof, models).values()
    np.testing.assert_allclose(source[["probability", "base_rate"]], [[0.56, 0.52]] * 4)  # the mean over folds
    (raw,) = oof_sources(oof, models.assign(calibrated=False)).values()
    np.testing.assert_allclose(raw[["probability", "base_rate"]], [[0.5, 0.5]] * 4)  # raw: the folds' up-rate
    (older,) = oof_sources(oof.drop(columns="base_rate"), models).values()  # stored before the served base rate
    np.testing.assert_allclose(older["base_rate"], 0.5)
    with pytest.raises(ValueError, match="no base rate"):
        oof_sources(oof.drop(columns=["base_rate", "baseline_majority"]), models)


@pytest.mark.parametrize("fill", ["next_open", "next_close"])
def test_a_ledger_row_and_the_next_fill_ignore_predictions_made_after_it(fill):
    bars = random_bars(120, 6)
    predictions = pd.DataFrame({"date": bars["date"].iloc[30:], "probability": _noise(bars["date"].iloc[30:], 7).values,
                                "base_rate": BASE, "registered_model": "fa_A_dir_5", "model_type": "xgboost",
                                "model_version": 1, "model_as_of": bars["date"].iloc[29]})
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
        sources = {name: _source(_noise(bars["date"], 1000 + 2 * seed + k))
                   for k, name in enumerate(("xgboost", "logistic"))}
        matrix = return_matrix(bars.iloc[:250], {k: v.iloc[:250] for k, v in sources.items()}, settings)  # OOF half
        pbo.append(overfitting_probability(matrix, 16))
        live = run_backtest(bars.iloc[250:], sources["xgboost"]["probability"].iloc[250:], BASE)
        dsr.append(sharpe_significance(live["returns"].to_numpy(), 2 * 48 + len(settings),
                                       configuration_sharpes(matrix))["deflated_sharpe"])
    assert max(dsr) < 0.95
    assert 0.35 <= np.mean(pbo) <= 0.7  # PBO of one ticker spreads widely; its mean is 0.5


def test_a_leak_gives_a_deflated_sharpe_the_alarm_calls_too_good_to_be_true():
    bars = random_bars(300, 8)
    move = np.sign(bars["open"].shift(-2) / bars["open"].shift(-1) - 1)  # what a next-open fill will earn: the future
    leak = pd.Series((BASE + 0.1 * move).to_numpy(), index=pd.DatetimeIndex(bars["date"])).iloc[:-2]
    live = run_backtest(bars, leak, BASE, BacktestConfig(mode="long_short"))
    noise = {"xgboost": _source(_noise(bars["date"], 9))}
    stats_ = sharpe_significance(live["returns"].to_numpy(), 200,
                                 configuration_sharpes(return_matrix(bars, noise, threshold_settings(BacktestConfig(),
                                                                                                     GRID))))
    metrics = performance_metrics(live)
    row = pd.Series({**metrics, **stats_, "pbo": 0.1, "oos_auc": 0.51, "period": "history",
                     "sharpe_reliable": sharpe_reliable(metrics["exposure"], metrics["trades"], 0.05, 10)})
    assert row["sharpe_reliable"]
    assert stats_["deflated_sharpe"] > 0.95
    assert [a.split(" ")[0] for a in _alarms(row)] == ["deflated", "Sharpe"]  # and a Sharpe above 3 over a year


def test_the_alarms_are_pbo_a_chance_model_with_a_high_dsr_a_sharpe_above_the_bound_and_a_champion_off_its_edge():
    calm = {"pbo": 0.2, "deflated_sharpe": 0.99, "oos_auc": 0.55, "sharpe": 3.5, "n_bars": 200.0, "period": "model",
            "exposure": 0.4, "sharpe_reliable": True}
    assert _alarms(pd.Series(calm)) == []
    assert _alarms(pd.Series({**calm, "pbo": 0.5})) == ["PBO 0.50 >= 0.5"]
    assert _alarms(pd.Series({**calm, "oos_auc": 0.51})) == ["deflated Sharpe 0.990 > 0.95 with OOS AUC 0.510"]
    assert _alarms(pd.Series({**calm, "oos_auc": 0.51, "sharpe_reliable": False})) == []  # no evidence, no alarm
    assert _alarms(pd.Series({**calm, "n_bars": 252.0})) == ["Sharpe 3.50 > 3.0 over 252 bars"]
    assert _alarms(pd.Series({**calm, "pbo": np.nan, "deflated_sharpe": np.nan, "sharpe": np.nan})) == []
    for exposure in (0.0, 0.049, 0.951, 1.0):
        (alarm,) = _alarms(pd.Series({**calm, "exposure": exposure}))
        assert alarm.startswith(f"exposure {exposure:.1%} of 200 sessions outside 5%..95%")
    assert _alarms(pd.Series({**calm, "exposure": 0.0, "n_bars": 19.0})) == []  # too few sessions to judge
    assert _alarms(pd.Series({**calm, "exposure": 0.0, "period": "history"})) == []  # serving champions only


def test_the_summary_line_puts_the_strategy_and_its_exposure_beside_buy_and_hold_with_its_dsr_and_pbo():
    row = {"ticker": "AAA", "date": pd.Timestamp("2011-12-30"), "period": "history", "model_version": 3,
           "first_date": pd.Timestamp("2010-08-09"), "last_date": pd.Timestamp("2011-12-30"), "n_bars": 351.0,
           "total_return": 0.0312, "sharpe": 0.41, "deflated_sharpe": 0.012, "n_trials": 149, "max_drawdown": -0.081,
           "bh_total_return": 0.1052, "bh_sharpe": 0.8, "bh_max_drawdown": -0.15, "pbo": 0.56, "pbo_configurations": 10,
           "exposure": 0.4, "trades": 23.0, "sharpe_reliable": True}
    older = {**row, "date": pd.Timestamp("2011-06-30"), "total_return": 0.5}
    (line,) = summary_lines(pd.DataFrame([row, older, {**row, "period": "range", "total_return": 9.0}]))
    assert line == ("AAA: out of sample 2010-08-09 .. 2011-12-30 (351 bars): strategy +3.12%, Sharpe 0.41, in the "
                    "market 40.0% of bars (23 trades), max drawdown -8.1% (deflated Sharpe 0.01 over 149 "
                    "configurations) vs buy & hold +10.52%, Sharpe 0.80, max drawdown -15.0%; PBO 0.56 over 10 "
                    "configurations")
    # in the market 7 sessions of 1,258: the PSR and DSR are no evidence and their numbers are not shown
    thin = {**row, "exposure": 7 / 1258, "trades": 7.0, "deflated_sharpe": 0.51, "sharpe_reliable": False}
    (line,) = summary_lines(pd.DataFrame([thin]))
    assert "in the market 0.6% of bars (7 trades)" in line
    assert "PSR and deflated Sharpe unreliable: too few bars in the market or trades" in line and "0.51" not in line
    # a model that never passed the threshold has no Sharpe ratio to show
    idle = {**row, "total_return": 0.0, "sharpe": np.nan, "deflated_sharpe": np.nan, "max_drawdown": 0.0,
            "exposure": 0.0, "trades": 0.0, "sharpe_reliable": False}
    (line,) = summary_lines(pd.DataFrame([idle]))
    assert ("strategy never in the market (no edge over the base rate passed the threshold) vs buy & hold "
            "+10.52%") in line
    assert "nan" not in line
    # no champion at all: no position held
    none = {**idle, "model_version": pd.NA, "pbo": np.nan, "pbo_configurations": 0, "n_trials": 0}
    (line,) = summary_lines(pd.DataFrame([none]).astype({"model_version": "Int64"}))
    assert line == ("AAA: 2010-08-09 .. 2011-12-30 (351 bars): no champion, so no position held (in the market 0.0% "
                    "of bars) vs buy & hold +10.52%, Sharpe 0.80, max drawdown -15.0%")
    assert summary_lines(pd.DataFrame()) == []


def test_predictions_without_a_base_rate_are_refused_with_the_ticker_and_date():
    dates = pd.bdate_range("2012-01-02", periods=3)
    rows = pd.DataFrame({"date": dates, "probability": [0.6, np.nan, 0.6], "registered_model": "fa_A_dir_5",
                         "model_type": "xgboost", "model_version": 1, "model_as_of": pd.Timestamp("2011-12-30")})
    with pytest.raises(BarDataError, match=r"\[prediction_base_rate\] ticker='A' date=2012-01-02: .*no base_rate"):
        traded_predictions(rows, "A")
    with pytest.raises(BarDataError, match=r"\[prediction_base_rate\] ticker='A' date=2012-01-04"):
        traded_predictions(rows.assign(base_rate=[0.5, np.nan, np.nan]), "A")
    # a session without a champion has neither a probability nor a base rate: accepted, and it holds no position
    assert len(traded_predictions(rows.assign(base_rate=[0.5, np.nan, 0.5]), "A")) == 3
