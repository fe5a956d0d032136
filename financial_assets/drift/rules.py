"""Two rules a daily monitor applies around `build_drift_report`: which columns can be calibrated, and decay.

* A calibrated threshold needs enough reference values for `1 / false_alarm_rate` windows of the
  current window's size (`calibrated_threshold` refuses fewer): a 200-bar feature of a short
  history, or a champion's out-of-fold predictions, may not have them, and are left unmonitored.
* `performance_decay` flags decay when the realized AUC falls below the OOS CI low. Over 120 labels
  the realized AUC has a standard error of about 0.05, wider than a typical OOS interval, so that
  rule fires on noise; the monitor flags decay only when the realized AUC's own 95% interval lies
  wholly below the OOS interval (realized CI high < OOS CI low).
"""

from __future__ import annotations

import math
from dataclasses import replace

from financial_assets.drift.config import DriftConfig
from financial_assets.drift.performance import PerformanceDecay


def calibration_values_needed(window: int, config: DriftConfig) -> int:
    """Fewest non-null reference values `calibrated_threshold` accepts for a `window`-row current sample."""
    if config.stattest_threshold is not None:
        return 1
    stride = max(1, window // 2)
    return window + (math.ceil(2 / config.false_alarm_rate) - 1) * stride


def decayed_beyond_interval(decay: PerformanceDecay) -> PerformanceDecay:
    """`decay` with `decayed` = realized AUC CI high < OOS CI low (False when not evaluated)."""
    return replace(decay, decayed=bool(decay.realized_auc_ci[1] < decay.oos_auc_ci[0]))
