"""What a drift report found, in numbers, and Evidently's HTML report of it when someone will read it."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from financial_assets.drift.config import DriftConfig
from financial_assets.drift.performance import PerformanceDecay

#: a column whose values span less than this, relative to their size, is constant (floating-point noise):
#: Evidently's histograms cannot cut such a range into finite bins and would fail the whole report
NEAR_CONSTANT = 1e-9


@dataclass(frozen=True)
class ColumnDrift:
    """One column's Evidently score (a normed Wasserstein distance) against its two calibrated thresholds."""

    column: str
    stattest: str
    score: float
    threshold: float  # drifted beyond it: farther than in any of the reference's own windows, family-wise
    warn_threshold: float  # unusual beyond it: the family-wise 95% level
    drifted: bool
    unusual: bool

    @property
    def ratio(self) -> float:
        """How far beyond its drift threshold the score lies (> 1 means drifted)."""
        return self.score / self.threshold

    def describe(self) -> str:
        """`f0 (wasserstein distance=0.3 > 0.25)` for summaries."""
        side = ">" if self.drifted else "not >"
        return f"{self.column} ({self.stattest} distance={self.score:.4g} {side} {self.threshold:.4g})"


@dataclass(frozen=True)
class DriftResult:
    """The outcome of `score_drift`; `frames` are the compared frames, kept to render Evidently's report."""

    ticker: str | None
    as_of: str | None
    config: DriftConfig
    n_reference: int
    n_current: int
    n_windows: int  # reference windows the thresholds were calibrated on
    warn_multiplier: float  # family-wise 95% quantile of the largest column ratio over the reference's windows
    drift_multiplier: float  # its maximum
    columns: tuple[ColumnDrift, ...]  # every monitored feature column, most drifted first
    prediction: ColumnDrift | None
    performance: PerformanceDecay | None
    frames: tuple[pd.DataFrame, pd.DataFrame] = field(repr=False, compare=False)

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Columns beyond their drift threshold, most drifted first."""
        return tuple(c.column for c in self.columns if c.drifted)

    @property
    def unusual_columns(self) -> tuple[str, ...]:
        """Columns beyond their warn threshold (drifted ones included), most drifted first."""
        return tuple(c.column for c in self.columns if c.unusual)

    @property
    def drifted_share(self) -> float:
        """Share of the monitored columns that drifted (information: the verdict is family-wise)."""
        return len(self.drifted_columns) / len(self.columns)

    @property
    def dataset_drift(self) -> bool:
        """Some feature lies beyond its drift threshold."""
        return bool(self.drifted_columns)

    @property
    def most_drifted(self) -> tuple[ColumnDrift, ...]:
        """The `config.top_k` columns with the largest score-to-threshold ratio, drifted or not."""
        return self.columns[: self.config.top_k]

    @property
    def alarms(self) -> tuple[str, ...]:
        """Which rules fired: dataset_drift, feature_warning, prediction_drift, performance_decay."""
        fired = {
            "dataset_drift": self.dataset_drift,
            "feature_warning": bool(self.unusual_columns) and not self.dataset_drift,
            "prediction_drift": self.prediction is not None and self.prediction.drifted,
            "performance_decay": self.performance is not None and self.performance.decayed,
        }
        return tuple(name for name, on in fired.items() if on)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN and infinities as None)."""
        return _json_safe({
            "ticker": self.ticker,
            "as_of": self.as_of,
            "config": asdict(self.config),
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_windows": self.n_windows,
            "warn_multiplier": self.warn_multiplier,
            "drift_multiplier": self.drift_multiplier,
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            "alarms": list(self.alarms),
            "drifted_columns": list(self.drifted_columns),
            "unusual_columns": list(self.unusual_columns),
            "columns": [asdict(c) for c in self.columns],
            "prediction": asdict(self.prediction) if self.prediction else None,
            "performance": self.performance.to_dict() if self.performance else None,
        })

    def save_json(self, path: str | Path) -> Path:
        """Write `to_dict()` as JSON; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    def evidently_report(self) -> Any:
        """Evidently's DataDriftPreset (and a ValueDrift of the predictions) over the frames, with these thresholds.

        Each column's threshold is its drift threshold, and dataset drift needs one drifted column, so
        Evidently's verdicts are this result's. Costs seconds: build it for the reports someone reads.
        """
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import ValueDrift
        from evidently.presets import DataDriftPreset

        features = [c.column for c in self.columns]
        reference, current = (frame.copy() for frame in self.frames)
        monitored = [*features, *([self.prediction.column] if self.prediction else [])]
        settle_near_constant(reference, current, monitored)
        # Evidently's Wasserstein test drifts at >= its threshold, this result strictly beyond it
        judged = [*self.columns, *([self.prediction] if self.prediction else [])]
        beyond = {c.column: float(np.nextafter(c.threshold, np.inf)) for c in judged}
        metrics: list = [DataDriftPreset(columns=features, method=self.columns[0].stattest,
                                         per_column_threshold={c: beyond[c] for c in features},
                                         drift_share=0.5 / len(features))]
        if self.prediction is not None:
            metrics.append(ValueDrift(column=self.prediction.column, method=self.prediction.stattest,
                                      threshold=beyond[self.prediction.column]))
        definition = DataDefinition(numerical_columns=monitored)
        return Report(metrics, include_tests=True).run(
            Dataset.from_pandas(current[monitored], data_definition=definition),
            Dataset.from_pandas(reference[monitored], data_definition=definition))

    def html(self) -> str:
        """Evidently's HTML report (see `evidently_report`)."""
        return self.evidently_report().get_html_str(as_iframe=False)

    def markdown(self) -> str:
        """A short markdown summary for run metadata."""
        head = "**" + " ".join(x for x in ("Drift", self.ticker, self.as_of) if x) + "**"
        verdict = "DRIFT" if self.dataset_drift else "unusual" if self.unusual_columns else "no drift"
        lines = [
            head,
            "",
            f"{len(self.drifted_columns)} of {len(self.columns)} columns drifted, {len(self.unusual_columns)} beyond "
            f"the warn level: **{verdict}**. Normed Wasserstein distance per column against thresholds calibrated on "
            f"{self.n_windows} windows of the reference (family-wise: warn x{self.warn_multiplier:.3g}, drift "
            f"x{self.drift_multiplier:.3g} of each column's 95% quantile); {self.n_current} current vs "
            f"{self.n_reference} reference rows.",
            "",
            "| column | score | warn threshold | drift threshold | drifted |",
            "|---|---|---|---|---|",
            *(f"| {c.column} | {c.score:.4g} | {c.warn_threshold:.4g} | {c.threshold:.4g} | "
              f"{'yes' if c.drifted else 'unusual' if c.unusual else 'no'} |" for c in self.most_drifted),
        ]
        if self.prediction is not None:
            verdict = "**yes**" if self.prediction.drifted else "no"
            lines += ["", f"Prediction drift: {verdict}, {self.prediction.describe()}."]
        if self.performance is not None:
            lines += ["", self.performance.markdown()]
        return "\n".join(lines)


def settle_near_constant(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]) -> None:
    """Set columns that are constant up to floating-point noise to one value, in both frames (in place)."""
    for column in columns:
        values = pd.concat([reference[column], current[column]]).dropna()
        if values.empty:
            continue
        span, size = values.max() - values.min(), max(1.0, values.abs().max())
        if 0 < span < NEAR_CONSTANT * size:
            reference[column] = reference[column].where(reference[column].isna(), values.median())
            current[column] = current[column].where(current[column].isna(), values.median())


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
