"""The decay rule a daily monitor applies around `performance_decay`.

`performance_decay` flags decay when the realized AUC falls below the OOS CI low. Over 120 labels
the realized AUC has a standard error of about 0.05, wider than a typical OOS interval, so that
rule fires on noise; the monitor flags decay only when the realized AUC's own 95% interval lies
wholly below the OOS interval (realized CI high < OOS CI low).
"""

from __future__ import annotations

from dataclasses import replace

from financial_assets.drift.performance import PerformanceDecay


def decayed_beyond_interval(decay: PerformanceDecay) -> PerformanceDecay:
    """`decay` with `decayed` = realized AUC CI high < OOS CI low (False when not evaluated)."""
    return replace(decay, decayed=bool(decay.realized_auc_ci[1] < decay.oos_auc_ci[0]))
