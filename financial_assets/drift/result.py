"""What a drift report found, in numbers: per-column scores, dataset drift, prediction drift, decay."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from financial_assets.drift.config import DriftConfig
from financial_assets.drift.performance import PerformanceDecay


@dataclass(frozen=True)
class ColumnDrift:
    """One column's Evidently score against its threshold; `drifted` is Evidently's test verdict."""

    column: str
    stattest: str
    score: float  # a p-value (small = drift) or a distance (large = drift), see `score_is_p_value`
    threshold: float
    score_is_p_value: bool
    drifted: bool

    @property
    def ratio(self) -> float:
        """How far beyond its threshold the score lies, oriented so that > 1 means drift."""
        if self.score_is_p_value:
            return math.inf if self.score == 0 else self.threshold / self.score
        return math.inf if self.threshold == 0 else self.score / self.threshold

    def describe(self) -> str:
        """`f0 (ks p=0.003 < 0.012)` or `f0 (wasserstein distance=0.3 not > 0.45)` for summaries."""
        kind, side = ("p", "<") if self.score_is_p_value else ("distance", ">")
        verdict = side if self.drifted else "not " + side
        return f"{self.column} ({self.stattest} {kind}={self.score:.4g} {verdict} {self.threshold:.4g})"


@dataclass(frozen=True)
class DriftResult:
    """The outcome of `build_drift_report`; `snapshot` is the Evidently snapshot behind the HTML."""

    ticker: str | None
    as_of: str | None
    config: DriftConfig
    calibrated: bool  # thresholds calibrated on the reference (True) or fixed by the config
    n_reference: int
    n_current: int
    columns: tuple[ColumnDrift, ...]  # every monitored column, most drifted first
    drifted_share: float
    dataset_drift: bool
    prediction: ColumnDrift | None
    performance: PerformanceDecay | None
    snapshot: Any = field(repr=False, compare=False)

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Names of the columns whose test failed, most drifted first."""
        return tuple(c.column for c in self.columns if c.drifted)

    @property
    def most_drifted(self) -> tuple[ColumnDrift, ...]:
        """The `config.top_k` columns with the largest score-to-threshold ratio, drifted or not."""
        return self.columns[: self.config.top_k]

    @property
    def alarms(self) -> tuple[str, ...]:
        """Which rules fired: dataset_drift, prediction_drift, performance_decay."""
        fired = {
            "dataset_drift": self.dataset_drift,
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
            "calibrated": self.calibrated,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            "alarms": list(self.alarms),
            "drifted_columns": list(self.drifted_columns),
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

    def save_html(self, path: str | Path) -> Path:
        """Write Evidently's HTML report; returns the path (Evidently silently ignores non-str paths)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.snapshot.save_html(str(path))
        if not path.is_file():
            raise OSError(f"Evidently wrote no HTML report to {path}")
        return path

    def markdown(self) -> str:
        """A short markdown summary for run metadata."""
        head = "**" + " ".join(x for x in ("Drift", self.ticker, self.as_of) if x) + "**"
        how = "thresholds calibrated on the reference" if self.calibrated else "fixed threshold"
        lines = [
            head,
            "",
            f"{len(self.drifted_columns)} of {len(self.columns)} columns drifted (share {self.drifted_share:.2f}, "
            f"dataset drift at >= {self.config.drift_share:.2f}): **{'DRIFT' if self.dataset_drift else 'no drift'}**. "
            f"Test {self.config.stattest}, {how}; {self.n_current} current vs {self.n_reference} reference rows.",
            "",
            "| column | score | threshold | drifted |",
            "|---|---|---|---|",
            *(f"| {c.column} | {c.score:.4g} | {c.threshold:.4g} | {'yes' if c.drifted else 'no'} |"
              for c in self.most_drifted),
        ]
        if self.prediction is not None:
            verdict = "**yes**" if self.prediction.drifted else "no"
            lines += ["", f"Prediction drift: {verdict}, {self.prediction.describe()}."]
        if self.performance is not None:
            lines += ["", self.performance.markdown()]
        return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
