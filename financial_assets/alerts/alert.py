"""The alert record every sink receives: what happened, to which ticker on which date, and the numbers."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS: tuple[str, ...] = ("drift", "retrain", "run_failure", "freshness", "data_quality")
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One alert; `date` is the partition or as-of date it concerns, `created_at` when it was raised (UTC)."""

    kind: str  # one of KINDS
    severity: str  # one of SEVERITIES
    ticker: str | None
    date: str | dt.date | None
    message: str
    drifted_features: Sequence[str] = ()
    report_url: str | None = None  # link to the drift report, run page or log
    numbers: Mapping[str, float] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"alert kind must be one of {KINDS}, got {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def day(self) -> str | None:
        """`date` as an ISO string."""
        return self.date.isoformat() if isinstance(self.date, dt.date) else self.date

    def title(self) -> str:
        """`[WARNING] drift AAPL 2024-01-02` style headline."""
        return " ".join(x for x in (f"[{self.severity.upper()}]", self.kind, self.ticker, self.day) if x)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (non-finite numbers as None)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "ticker": self.ticker,
            "date": self.day,
            "message": self.message,
            "drifted_features": list(self.drifted_features),
            "report_url": self.report_url,
            "numbers": {k: (float(v) if math.isfinite(v) else None) for k, v in self.numbers.items()},
            "created_at": self.created_at,
        }
