"""Drift monitoring with Evidently 0.7's statistics: feature and prediction drift and performance decay of a champion.

Importing this package sets DO_NOT_TRACK=1 (unless already set) before Evidently is imported:
Evidently sends anonymous usage telemetry unless that variable exists, and these reports run offline.
"""

import os

os.environ.setdefault("DO_NOT_TRACK", "1")

from financial_assets.drift.config import DriftConfig  # noqa: E402
from financial_assets.drift.performance import OUTCOME_COLUMNS, PerformanceDecay, performance_decay  # noqa: E402
from financial_assets.drift.report import PREDICTION_COLUMN, score_drift  # noqa: E402
from financial_assets.drift.result import ColumnDrift, DriftResult  # noqa: E402

__all__ = [
    "OUTCOME_COLUMNS",
    "PREDICTION_COLUMN",
    "ColumnDrift",
    "DriftConfig",
    "DriftResult",
    "PerformanceDecay",
    "performance_decay",
    "score_drift",
]
