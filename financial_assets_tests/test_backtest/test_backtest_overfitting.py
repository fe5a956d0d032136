"""Overfitting statistics: the deflated Sharpe ratio's published example, PSR by direct formula, PBO by CSCV."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from financial_assets.backtest import (
    cscv_logits,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_moments,
)

# Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", numerical example: an annualised Sharpe
# of 2.5 over 250 days a year (0.1581 daily), T = 1250 daily returns, N = 100 trials whose annualised
# Sharpe ratios have variance 1/2 (0.5/250 daily), skewness -3, kurtosis 10 -> SR0 = 0.1132, DSR = 0.9004.
PAPER_SHARPE = 2.5 / math.sqrt(250)


def test_expected_max_sharpe_matches_the_paper():
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.11317, abs=5e-6)


def test_deflated_sharpe_matches_the_paper():
    dsr = deflated_sharpe_ratio(PAPER_SHARPE, n_obs=1250, n_trials=100, sharpe_variance=0.5 / 250, skew=-3.0,
                                kurtosis=10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    # with the daily Sharpe rounded to 0.1581 as printed, the same formula gives 0.9003
    rounded = deflated_sharpe_ratio(0.1581, 1250, 100, 0.5 / 250, -3.0, 10.0)
    assert rounded == pytest.approx(0.9004, abs=1.5e-4)


def test_more_trials_deflate_more():
    values = [deflated_sharpe_ratio(PAPER_SHARPE, 1250, n, 0.5 / 250, -3.0, 10.0) for n in (2, 10, 100, 1000)]
    assert values == sorted(values, reverse=True)


def psr_direct(sr: float, t: int, skew: float, kurt: float, sr_star: float) -> float:
    """Bailey & López de Prado (2012), eq. for PSR, written out."""
    z = (sr - sr_star) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


@pytest.mark.parametrize("sr, t, skew, kurt, sr_star", [(0.1, 100, 0.0, 3.0, 0.0), (0.05, 2000, -0.7, 6.5, 0.02),
                                                         (-0.03, 500, 0.4, 4.0, 0.0), (0.2, 60, -2.0, 12.0, 0.1)])
def test_psr_matches_the_formula(sr, t, skew, kurt, sr_star):
    assert probabilistic_sharpe_ratio(sr, t, skew, kurt, sr_star) == pytest.approx(
        psr_direct(sr, t, skew, kurt, sr_star), rel=1e-12)


def test_psr_of_a_return_series_uses_its_sample_moments():
    rng = np.random.default_rng(42)
    returns = 0.0004 + 0.01 * rng.standard_t(df=5, size=1500)
    moments = sharpe_moments(returns)
    sr = returns.mean() / returns.std(ddof=1)
    direct = psr_direct(sr, 1500, stats.skew(returns), stats.kurtosis(returns, fisher=False), 0.0)
    assert probabilistic_sharpe_ratio(**moments) == pytest.approx(direct, rel=1e-12)
    assert moments["kurtosis"] > 3.5  # fat tails from the t(5) draws: kurtosis is non-excess


def test_psr_rejects_degenerate_inputs():
    with pytest.raises(ValueError):
        probabilistic_sharpe_ratio(0.1, 1)
    with pytest.raises(ValueError):
        probabilistic_sharpe_ratio(1.0, 100, skew=5.0)  # 1 - 5 + 0.5 < 0


def test_pbo_two_configurations_by_hand():
    # two blocks of two rows; per-block Sharpe (ddof=1): A 1.414 then 0.707, B 0.707 then 2.121
    a = [0.01, 0.03, 0.00, 0.02]
    b = [0.00, 0.01, 0.02, 0.04]
    m = np.column_stack([a, b])
    # train on block 1 -> A wins, ranks 1 of 2 on block 2; train on block 2 -> B wins, ranks 1 on block 1
    np.testing.assert_allclose(cscv_logits(m, n_blocks=2), [math.log(0.5), math.log(0.5)])
    assert probability_of_backtest_overfitting(m, n_blocks=2) == 1.0
    dominant = np.column_stack([[0.02, 0.03, 0.03, 0.04], b])  # Sharpe 3.54 and 4.95: A beats B in both blocks
    np.testing.assert_allclose(cscv_logits(dominant, n_blocks=2), [math.log(2.0), math.log(2.0)])
    assert probability_of_backtest_overfitting(dominant, n_blocks=2) == 0.0


def test_pbo_splits_count_every_half_of_the_blocks():
    m = np.random.default_rng(0).normal(0, 0.01, (200, 5))
    assert len(cscv_logits(m, n_blocks=8)) == math.comb(8, 4)


def test_pbo_of_pure_noise_is_about_one_half():
    # the in-sample winner of 20 noise configurations ranks uniformly out of sample: E[PBO] = 0.5
    rng = np.random.default_rng(2024)
    values = [probability_of_backtest_overfitting(rng.normal(0, 0.01, (500, 20)), n_blocks=10) for _ in range(40)]
    assert 0.4 <= np.mean(values) <= 0.65


def test_pbo_is_low_with_a_planted_edge():
    rng = np.random.default_rng(7)
    m = rng.normal(0, 0.01, (1000, 20))
    m[:, 13] += 0.002  # one configuration with a real daily edge of 0.2 std
    assert probability_of_backtest_overfitting(m, n_blocks=16) < 0.2


@pytest.mark.parametrize("shape, blocks", [((100, 1), 4), ((100, 5), 3), ((10, 5), 8)])
def test_pbo_rejects_bad_shapes(shape, blocks):
    with pytest.raises(ValueError):
        probability_of_backtest_overfitting(np.zeros(shape), n_blocks=blocks)
