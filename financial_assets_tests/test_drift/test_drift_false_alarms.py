"""The drift rule on series whose answer is known: i.i.d. random walks and real bars without a break stay quiet, a
planted volatility break drifts. The README's rates come from `python -m financial_assets.drift.false_alarms` over
100 walks; these are the same measurements on fewer."""

from __future__ import annotations

import numpy as np

from financial_assets.drift.calibration import values_needed, window_scores, window_starts
from financial_assets.drift.columns import calendar_features, feature_memory
from financial_assets.drift.false_alarms import (
    FEATURES,
    adjusted_features,
    random_walk_levels,
    rates,
    real_series_levels,
)
from financial_assets.features.registry import DEFAULT_FEATURES
from financial_assets.sources import SyntheticSource

SEEDS = range(8)


def test_calendar_and_cross_asset_features_are_left_out_of_the_measured_set():
    assert calendar_features(DEFAULT_FEATURES) == ["day_of_week", "month", "days_to_month_end"]
    assert len(FEATURES) == 44 and not set(FEATURES) & {"month", "corr_bench_60"}


def test_iid_random_walks_do_not_drift():
    """Over 100 walks: 0.6% (600-row reference) of drift-free windows drift; warn on 7.6%."""
    found = rates(random_walk_levels(SEEDS, 600))
    assert found["windows"] == 40 and found["drift"] == 0.0 and found["warn_or_drift"] <= 0.2


def test_a_planted_volatility_break_drifts_and_the_same_walks_without_it_do_not():
    doubled = rates(random_walk_levels(SEEDS, 600, vol_shift=2.0, gaps=(25, 65)))
    half_more = rates(random_walk_levels(SEEDS, 600, vol_shift=1.5, gaps=(25, 65)))
    stable = rates(random_walk_levels(SEEDS, 600, gaps=(25, 65)))
    assert doubled["drift"] == 1.0 and half_more["drift"] >= 0.6 and stable["drift"] == 0.0


def test_real_series_of_calm_years_do_not_drift():
    """IBM and MSFT, champions as of the year ends 2004-2006, every month end of the next year."""
    found = real_series_levels(("IBM", "MSFT"), range(2004, 2007))
    assert len(found) == 72 and (found["level"] == "drift").sum() == 0
    assert (found["level"] == "warn").mean() <= 0.15


def test_related_features_cross_their_own_thresholds_together_so_a_share_rule_cannot_be_calibrated_per_column():
    """In the windows of one random walk's 600-row reference, a quarter of the features beyond their own 95% quantile
    at once is common: why the verdict is family-wise rather than a share of columns."""
    features = adjusted_features(SyntheticSource(n_tickers=1, seed=0, start="2000-01-03", end="2004-12-31", mu=0.0,
                                                 alpha=0.0, beta=0.0).load("SYN000")).iloc[:600]
    memory = feature_memory(FEATURES)
    columns = [c for c in FEATURES if features[c].notna().sum() >= values_needed(20, memory[c], 10)]
    starts = window_starts(600, 20, 300)
    scores = np.array([window_scores(features[c].to_numpy(), 20, starts, memory[c]) for c in columns])
    beyond = (scores > np.nanquantile(scores, 0.95, axis=1)[:, None]).mean(axis=0)
    assert len(columns) >= 30 and np.mean(beyond >= 0.25) >= 0.03 and beyond.max() >= 0.4
