"""How a drift report decides: per-column scales and one family-wise rule calibrated on the reference's own windows.

Why this rule (measured with `python -m financial_assets.drift.false_alarms`; the README states the
numbers and `test_drift_false_alarms.py` re-checks them on fewer series):

* Evidently's default switches to a Wasserstein distance with a fixed 0.1 above 1,000 reference
  rows; 20 current rows exceed it on every drift-free window. K-S (p <= 0.05) assumes independent
  rows and flags most windows of autocorrelated features.
* A threshold per column calibrated on the reference is not enough either. The default features are
  a few families of strongly related columns (a dozen trend distances, RSI and stochastics move
  together with the last weeks' trend; the volatility estimates together with volatility): in 6-7%
  of the windows of an i.i.d. random walk's 600-row reference, a quarter of the columns lie beyond
  their own 95% quantiles at once, and 60-80% of them in the worst one. The rule this replaces
  (dataset drift at 25% of the columns beyond such thresholds) called dataset drift on about one
  later drift-free window in ten (9% and 12% in two measurements of 80 and 60 windows).
* So the verdict is family-wise, as a max-statistic correction for multiple comparisons is. Each
  column's score is divided by its own 95% quantile over the reference's windows; the largest of
  these ratios over the columns is the window's statistic, and its distribution over the same
  reference windows sets two multipliers: **warn** beyond its 95% quantile, **drift** beyond its
  maximum, i.e. a column lies farther from the reference than it did in any of the reference's own
  windows, once the other columns' chances are counted.
* A column is compared only when the reference holds `min_independent_windows` windows apart by its
  memory (window plus a margin of its lookback on each side): a 200-bar feature has about three
  independent windows in 600 rows, and its 95% quantile from three draws is a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriftConfig:
    """The calibrated rule above; every field is a number measured on random walks (see the module docstring)."""

    false_alarm_rate: float = 0.05  # the quantile of each column's scale and of the family-wise warn level
    min_independent_windows: int = 10  # a column is compared when its reference holds this many
    max_windows: int = 300  # reference windows scored per column (evenly spread, overlapping)
    top_k: int = 5  # how many of the most drifted columns summaries list

    def __post_init__(self) -> None:
        if not 0 < self.false_alarm_rate < 0.5:
            raise ValueError(f"false_alarm_rate must be in (0, 0.5), got {self.false_alarm_rate}")
        if self.min_independent_windows < 2:
            raise ValueError(f"min_independent_windows must be >= 2, got {self.min_independent_windows}")
        if self.max_windows < self.min_independent_windows:
            raise ValueError(f"max_windows must be >= min_independent_windows, got {self.max_windows}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
