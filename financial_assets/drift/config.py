"""Drift settings: which per-column test, which threshold, and how many drifted columns make dataset drift.

Why these defaults (measured with 20 current rows against 2,000 reference rows, the shape a daily
monitor sees; `test_drift_stattest.py` and `test_drift_report.py` re-check each claim):

* Evidently's automatic choice switches from K-S (p <= 0.05) to a normalized Wasserstein distance
  with threshold 0.1 above 1,000 reference rows. With only 20 current rows the sampling noise of that
  distance is itself 0.2-0.5 reference standard deviations, so the fixed 0.1 flags 100% of windows
  drawn from the reference distribution. It is only "less sensitive" for large current windows.
* A fixed p-value test (K-S p <= 0.05) is calibrated only for independent rows. Features built on
  rolling windows (RSI, 20-day volatility, SMA distances) are strongly autocorrelated; 20 consecutive
  days are far fewer than 20 independent draws, and K-S flags 65-90% of drift-free windows of an
  AR(1) series with phi 0.9-0.98.
* So the default calibrates each column's threshold on the reference itself: the Wasserstein distance
  of each of up to 100 windows of the reference (taken out of it) to the rest gives the drift-free
  distribution of the score, and a column drifts when the current window's score exceeds its
  (1 - false_alarm_rate) quantile. Measured at a 5% target, drift-free windows are flagged 5-8% of
  the time for independent normal, Student-t(3) and AR(1) phi 0.9 features (K-S: 5%, 3%, 65-75%).
  A 0.5 sigma mean shift in one column is caught in 58-70% of windows (K-S 49-58%; the best possible
  one-column test, a z-test for the known shift, reaches 61%), a 1.5x volatility rise in 55% (K-S
  15-21%). Calendar and slow-moving features get thresholds wide enough for their normal variation.
* Dataset drift at 25% of the columns: with 3 of 8 features shifted by 0.5 sigma it fires on 77% of
  windows (K-S 53-60%), on 7-9% of drift-free ones and 8-12% of AR(1) ones (K-S 99-100%).
  Evidently's 0.5 would wait for half of the features to move.

Passing `stattest_threshold` switches calibration off and applies Evidently's fixed threshold
semantics to every column (a p-value for p-value tests, a distance for distance tests).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Numeric Evidently stattests this package accepts, mapped to True when the score is a p-value
#: (small = drift) and False when it is a distance (large = drift). Anderson-Darling's p-value is
#: capped by scipy to [0.001, 0.25], which makes calibration degenerate on autocorrelated features.
STATTESTS: dict[str, bool] = {
    "wasserstein": False,
    "ed": False,
    "psi": False,
    "hellinger": False,
    "jensenshannon": False,
    "kl_div": False,
    "ks": True,
    "anderson": True,
    "cramer_von_mises": True,
    "mannw": True,
    "t_test": True,
    "es": True,
    "empirical_mmd": True,
}


@dataclass(frozen=True)
class DriftConfig:
    """How `build_drift_report` decides drift; the defaults are the calibrated Wasserstein rule above."""

    stattest: str = "wasserstein"  # an Evidently stattest name from STATTESTS
    stattest_threshold: float | None = None  # None: calibrate each column on the reference's own windows
    false_alarm_rate: float = 0.05  # target share of drift-free windows flagged, when calibrating
    drift_share: float = 0.25  # dataset drift when at least this share of the columns drift
    top_k: int = 5  # how many of the most drifted columns summaries list

    def __post_init__(self) -> None:
        if self.stattest not in STATTESTS:
            raise ValueError(f"stattest must be one of {sorted(STATTESTS)}, got {self.stattest!r}")
        if not 0 < self.false_alarm_rate < 0.5:
            raise ValueError(f"false_alarm_rate must be in (0, 0.5), got {self.false_alarm_rate}")
        if not 0 < self.drift_share <= 1:
            raise ValueError(f"drift_share must be in (0, 1], got {self.drift_share}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")

    @property
    def score_is_p_value(self) -> bool:
        """True when a small score means drift (p-value tests), False for distances."""
        return STATTESTS[self.stattest]
