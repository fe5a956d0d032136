"""The statistics under the drift rule: Evidently's score computed for every reference window at once, and why
Evidently's own defaults and uncalibrated thresholds cannot judge a 20-row window.

Rates come from the same Evidently score function drift reports use, on many seeds; bounds leave room for
the binomial noise of the counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.errors import BarDataError
from financial_assets.drift import DriftConfig
from financial_assets.drift.calibration import STATTEST, stattest_score, values_needed, window_scores, window_starts
from financial_assets.drift.report import calibrate

N_REF, N_CUR = 2000, 20
SEEDS = range(40)


def _moving_average(rng: np.random.Generator, n: int, memory: int) -> np.ndarray:
    """A feature built over `memory` bars: the scaled mean of the last `memory` noise values (unit variance)."""
    cumulative = np.cumsum(np.r_[0.0, rng.normal(size=n + memory)])
    return (cumulative[memory:] - cumulative[:-memory])[:n] / np.sqrt(memory)


def _ar1(rng: np.random.Generator, n: int, phi: float = 0.9) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal()
    noise = rng.normal(size=n) * np.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    return x


def _evidently_one_by_one(values: np.ndarray, window: int, starts: np.ndarray, margin: int) -> np.ndarray:
    """Evidently's function on each window against the values with the window and its margins deleted."""
    out = []
    for s in starts:
        rest = np.delete(values, slice(max(s - margin, 0), s + window + margin))
        inside = values[s : s + window]
        out.append(stattest_score(STATTEST, rest, inside) if np.isfinite(inside).any() else np.nan)
    return np.array(out)


@pytest.mark.parametrize("kind", ["normal", "with_gaps", "ties", "binary"])
@pytest.mark.parametrize("margin", [0, 30])
def test_window_scores_equal_evidentlys_function_on_each_window_with_its_rows_deleted(kind: str, margin: int):
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=700)) * 0.1
    if kind == "with_gaps":
        values[:40] = np.nan  # a warm-up
        values[300:306] = np.nan  # a halt
    elif kind == "ties":
        values = np.round(values, 0)
    elif kind == "binary":
        values = (rng.random(700) < 0.3).astype(float)
    starts = window_starts(len(values), 20, 150)
    fast = window_scores(values, 20, starts, margin)
    np.testing.assert_allclose(fast, _evidently_one_by_one(values, 20, starts, margin), rtol=1e-9, atol=1e-12)


def test_window_starts_spread_over_the_reference():
    assert window_starts(25, 20, 300).tolist() == [0, 1, 2, 3, 4, 5]
    starts = window_starts(3000, 20, 300)
    assert len(starts) == 300 and starts[0] == 0 and starts[-1] == 2980
    assert window_starts(10, 20, 300).size == 0


def test_evidently_default_above_1000_rows_flags_drift_free_windows():
    """Wasserstein >= 0.1 (what Evidently picks for 2,000 reference rows) is noise level at 20 rows."""
    flagged = [stattest_score(STATTEST, r.normal(size=N_REF), r.normal(size=N_CUR)) >= 0.1
               for r in map(np.random.default_rng, SEEDS)]
    assert np.mean(flagged) >= 0.95


def test_fixed_ks_false_alarms_on_autocorrelated_features():
    """K-S assumes independent rows; an AR(1) feature with phi 0.9 trips it most of the time."""
    independent = [stattest_score("ks", r.normal(size=N_REF), r.normal(size=N_CUR)) <= 0.05
                   for r in map(np.random.default_rng, SEEDS)]
    correlated = []
    for rng in map(np.random.default_rng, SEEDS):
        x = _ar1(rng, N_REF + 30 + N_CUR)
        correlated.append(stattest_score("ks", x[:N_REF], x[-N_CUR:]) <= 0.05)
    assert np.mean(independent) <= 0.15 and np.mean(correlated) >= 0.5


def test_the_memory_margin_keeps_a_long_memory_feature_near_its_95_percent_rate():
    """A 200-bar moving average over 3,000 reference rows: later windows beyond each calibration's 95% quantile."""
    beyond = {0: [], 200: []}
    for seed in range(60):
        x = _moving_average(np.random.default_rng(seed), 3300, 200)
        reference, starts = x[:3000], window_starts(3000, 20, 300)
        for margin in beyond:
            q95 = np.quantile(window_scores(reference, 20, starts, margin), 0.95)
            beyond[margin] += [stattest_score(STATTEST, reference, x[3000 + g - 20 : 3000 + g]) > q95
                               for g in (25, 65, 125, 250)]
    assert np.mean(beyond[200]) <= 0.07 < np.mean(beyond[0])


def test_a_reference_short_for_a_columns_memory_is_refused_with_ticker_date_and_rule():
    rng = np.random.default_rng(0)
    needed = values_needed(20, 50, DriftConfig().min_independent_windows)
    assert needed == 10 * (20 + 2 * 50)
    frame = {"rsi_14": rng.normal(size=needed)}
    calibrate(pd.DataFrame(frame), ["rsi_14"], 20, memory={"rsi_14": 50})
    rule = r"\[drift_reference_length\] ticker='AAPL' date=2024-01-02: column 'rsi_14': 1199 reference values"
    with pytest.raises(BarDataError, match=rule):
        calibrate(pd.DataFrame({"rsi_14": frame["rsi_14"][1:]}), ["rsi_14"], 20, memory={"rsi_14": 50},
                  ticker="AAPL", as_of="2024-01-02")
