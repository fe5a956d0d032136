"""Performance decay: the champion's realized AUC and accuracy on matured labels against its OOS estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from financial_assets.core.errors import BarDataError

#: Columns `performance_decay` reads: the prediction date, the label's end time, the 0/1 label, the
#: predicted probability of 1.
OUTCOME_COLUMNS: tuple[str, ...] = ("date", "t1", "label", "proba")


@dataclass(frozen=True)
class PerformanceDecay:
    """Realized performance over the last `window` matured labels; decayed = realized AUC < OOS CI low."""

    as_of: str
    window: int
    n_matured: int  # matured labels in the evaluated window (< window: not evaluated)
    realized_auc: float  # NaN when not evaluated or one class only
    realized_auc_ci: tuple[float, float]  # Hanley-McNeil 95% interval: how noisy `window` labels are
    realized_accuracy: float
    oos_auc: float
    oos_auc_ci: tuple[float, float]
    decayed: bool
    rolling: pd.DataFrame = field(repr=False, compare=False)  # date, auc, accuracy per trailing window

    @property
    def evaluated(self) -> bool:
        """Whether enough matured labels of both classes existed to compare AUCs."""
        return not math.isnan(self.realized_auc)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready numbers (NaN as None) and the rolling series as records."""
        return {
            "as_of": self.as_of,
            "window": self.window,
            "n_matured": self.n_matured,
            "realized_auc": _finite(self.realized_auc),
            "realized_auc_ci": [_finite(v) for v in self.realized_auc_ci],
            "realized_accuracy": _finite(self.realized_accuracy),
            "oos_auc": self.oos_auc,
            "oos_auc_ci": list(self.oos_auc_ci),
            "decayed": self.decayed,
            "rolling": [{"date": day.strftime("%Y-%m-%d"), "auc": _finite(auc), "accuracy": _finite(accuracy)}
                        for day, auc, accuracy in self.rolling.itertuples(index=False)],
        }

    def markdown(self) -> str:
        """One line for run metadata."""
        oos = f"OOS AUC {self.oos_auc:.3f} [{self.oos_auc_ci[0]:.3f}, {self.oos_auc_ci[1]:.3f}]"
        if not self.evaluated:
            return (f"Performance: not evaluated ({self.n_matured} matured labels of {self.window} needed, "
                    f"or one class only); {oos}.")
        low, high = self.realized_auc_ci
        verdict = "**decayed** (below the OOS CI low)" if self.decayed else "no decay"
        return (f"Performance: realized AUC {self.realized_auc:.3f} [{low:.3f}, {high:.3f}] and accuracy "
                f"{self.realized_accuracy:.3f} over the last {self.n_matured} matured labels vs {oos}: {verdict}.")


def performance_decay(
    outcomes: pd.DataFrame,
    *,
    as_of: object,
    oos_auc: float,
    oos_auc_ci: tuple[float, float],
    window: int = 120,
    ticker: str | None = None,
) -> PerformanceDecay:
    """Compare the champion's realized AUC on labels matured by `as_of` (t1 <= as_of) with its OOS CI.

    `outcomes` has OUTCOME_COLUMNS, one row per prediction; rows whose label is still open (t1 after
    `as_of`, or null) are ignored. Accuracy counts proba >= 0.5 as a prediction of 1. Beware that
    realized AUC over `window` labels is itself noisy (see `realized_auc_ci`): with 120 labels its
    standard error is about 0.05, wider than a typical OOS CI.
    """
    when = pd.Timestamp(as_of)
    missing = [c for c in OUTCOME_COLUMNS if c not in outcomes.columns]
    if missing:
        raise BarDataError("performance_columns", f"outcomes miss columns {missing}", ticker, when.date())
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    frame = outcomes.assign(date=pd.to_datetime(outcomes["date"]), t1=pd.to_datetime(outcomes["t1"]))
    frame = frame[(frame["t1"] <= when) & frame["label"].notna() & frame["proba"].notna()].sort_values("date")
    bad = ~frame["label"].isin([0, 1])
    if bad.any():
        raise BarDataError("performance_labels", f"label must be 0 or 1, got {frame['label'][bad].iloc[0]!r}",
                           ticker, frame["date"][bad].iloc[0].date())
    labels = frame["label"].to_numpy(dtype=int)
    proba = frame["proba"].to_numpy(dtype=float)
    hits = ((proba >= 0.5).astype(int) == labels).astype(float)
    ends = range(window, len(frame) + 1)
    rolling = pd.DataFrame({
        "date": frame["date"].iloc[[e - 1 for e in ends]].to_numpy(dtype="datetime64[ns]"),
        "auc": [_auc(labels[e - window : e], proba[e - window : e]) for e in ends],
        "accuracy": [hits[e - window : e].mean() for e in ends],
    })
    enough = len(frame) >= window
    auc = float(rolling["auc"].iloc[-1]) if enough else math.nan
    return PerformanceDecay(
        as_of=when.strftime("%Y-%m-%d"),
        window=window,
        n_matured=min(len(frame), window),
        realized_auc=auc,
        realized_auc_ci=_hanley_mcneil_ci(auc, labels[-window:]),
        realized_accuracy=float(rolling["accuracy"].iloc[-1]) if enough else math.nan,
        oos_auc=float(oos_auc),
        oos_auc_ci=(float(oos_auc_ci[0]), float(oos_auc_ci[1])),
        decayed=bool(auc < oos_auc_ci[0]),  # NaN compares False: not evaluated is not decayed
        rolling=rolling,
    )


def _auc(labels: np.ndarray, proba: np.ndarray) -> float:
    return float(roc_auc_score(labels, proba)) if 0 < labels.sum() < len(labels) else math.nan


def _hanley_mcneil_ci(auc: float, labels: np.ndarray) -> tuple[float, float]:
    """95% interval of an AUC from Hanley & McNeil (1982): the realized number's own noise."""
    if math.isnan(auc):
        return (math.nan, math.nan)
    n1, n0 = int(labels.sum()), int(len(labels) - labels.sum())
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0))
    return (max(0.0, auc - 1.96 * se), min(1.0, auc + 1.96 * se))


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
