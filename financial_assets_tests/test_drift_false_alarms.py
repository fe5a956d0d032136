"""The drift rule on series whose answer is known: i.i.d. random walks and real bars without a break stay quiet, a
planted volatility break drifts. The README's rates come from `python -m financial_assets.drift.false_alarms` over
100 walks; these are the same measurements on fewer."""

from __future__ import annotations

from financial_assets.drift.columns import calendar_features
from financial_assets.drift.false_alarms import FEATURES, rates, random_walk_levels, real_series_levels
from financial_assets.features.registry import DEFAULT_FEATURES

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
