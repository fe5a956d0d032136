"""Evidence for the drift test choice: 20 current rows against 2,000 reference rows, one column at a time.

Column-level rates come from the same Evidently score function and the same calibrated threshold that
`build_drift_report` passes to Evidently, so many seeds stay fast. Bounds leave room for sampling noise
(a binomial count over the seeds) around the rates measured over 100 seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.errors import BarDataError
from financial_assets.drift import DriftConfig
from financial_assets.drift.calibration import calibrated_threshold, stattest_score

N_REF, N_CUR = 2000, 20
SEEDS = range(40)


def _iid(rng: np.random.Generator, shift: float = 0.0, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=N_REF), rng.normal(size=N_CUR) * scale + shift


def _ar1(rng: np.random.Generator, phi: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """A stationary AR(1) path, like a rolling-window feature: reference, a 30-day gap, then current."""
    n = N_REF + 30 + N_CUR
    noise = rng.normal(size=n) * np.sqrt(1 - phi**2)
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    return x[:N_REF], x[-N_CUR:]


def _drifted(config: DriftConfig, reference: np.ndarray, current: np.ndarray) -> bool:
    score = stattest_score(config.stattest, reference, current)
    if config.stattest_threshold is None:
        threshold = calibrated_threshold(reference, len(current), config, column="x")
        return score < threshold if config.score_is_p_value else score > threshold
    return score <= config.stattest_threshold if config.score_is_p_value else score >= config.stattest_threshold


def _rate(config: DriftConfig, draw) -> float:
    return float(np.mean([_drifted(config, *draw(np.random.default_rng(seed))) for seed in SEEDS]))


CALIBRATED = DriftConfig()
EVIDENTLY_LARGE_REFERENCE_DEFAULT = DriftConfig(stattest="wasserstein", stattest_threshold=0.1)
FIXED_KS = DriftConfig(stattest="ks", stattest_threshold=0.05)


def test_evidently_default_above_1000_rows_flags_drift_free_windows() -> None:
    """Wasserstein >= 0.1 (what Evidently picks for 2,000 reference rows) is noise-level at 20 rows."""
    assert _rate(EVIDENTLY_LARGE_REFERENCE_DEFAULT, _iid) >= 0.95


def test_fixed_ks_false_alarms_on_autocorrelated_features() -> None:
    """K-S assumes independent rows; an AR(1) feature with phi 0.9 trips it most of the time."""
    assert _rate(FIXED_KS, _iid) <= 0.15
    assert _rate(FIXED_KS, _ar1) >= 0.5


@pytest.mark.parametrize(
    "name, draw",
    [
        ("normal", _iid),
        ("student_t3", lambda rng: (rng.standard_t(3, size=N_REF), rng.standard_t(3, size=N_CUR))),
        ("ar1_0.9", _ar1),
    ],
)
def test_calibrated_false_alarm_rate_is_near_target(name: str, draw) -> None:
    """Drift-free windows are flagged at about the 5% target, independent, heavy-tailed or autocorrelated."""
    assert _rate(CALIBRATED, draw) <= 0.15, name


def test_half_sigma_shift_and_volatility_rise_are_detected() -> None:
    """A 0.5 sigma mean shift in one column: ~60% per 20-row window, near the z-test optimum of 61%."""
    shift = _rate(CALIBRATED, lambda rng: _iid(rng, shift=0.5))
    assert shift >= 0.45
    assert shift >= _rate(FIXED_KS, lambda rng: _iid(rng, shift=0.5))
    assert _rate(CALIBRATED, lambda rng: _iid(rng, scale=1.5)) > _rate(FIXED_KS, lambda rng: _iid(rng, scale=1.5))
    assert _rate(CALIBRATED, lambda rng: _iid(rng, shift=1.0)) >= 0.9


def test_calendar_features_are_not_flagged_for_being_calendar_features() -> None:
    """A 20-session window holds one or two months: K-S always flags `month`, the calibrated rule never."""
    month = pd.bdate_range("2010-01-01", periods=N_REF + 400).month.to_numpy(dtype=float)
    reference, later = month[:N_REF], [month[s : s + N_CUR] for s in range(N_REF, N_REF + 380, 5)]
    threshold = calibrated_threshold(reference, N_CUR, CALIBRATED, column="month")
    assert not any(stattest_score("wasserstein", reference, w) > threshold for w in later)
    assert all(stattest_score("ks", reference, w) <= 0.05 for w in later)


def test_p_value_tests_calibrate_at_the_low_tail() -> None:
    """For K-S a drift threshold is a p-value below most of the reference windows' p-values."""
    rng = np.random.default_rng(0)
    reference = rng.normal(size=N_REF)
    threshold = calibrated_threshold(reference, N_CUR, DriftConfig(stattest="ks"), column="x")
    assert 0.0 < threshold < 0.2


def test_short_reference_is_refused_with_ticker_date_and_rule() -> None:
    rule = r"\[drift_reference_length\] ticker='AAPL' date=2024-01-02: column 'rsi_14'"
    with pytest.raises(BarDataError, match=rule):
        calibrated_threshold(np.zeros(300), N_CUR, CALIBRATED, column="rsi_14", ticker="AAPL", as_of="2024-01-02")
