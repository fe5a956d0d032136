"""An MLflow run that always ends (FINISHED, or FAILED on an exception) and carries the project's tags."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.time import get_current_time_millis

from financial_assets.tracking.store import MlflowStore

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class TrackedRun:
    """Logging into one MLflow run by its id, through a client bound to the run's store."""

    run_id: str
    store: MlflowStore

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters (values are stored as strings)."""
        self.store.client().log_batch(self.run_id, params=[Param(k, str(v)) for k, v in params.items()])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log metrics by name."""
        now = get_current_time_millis()
        self.store.client().log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (values are stored as strings)."""
        self.store.client().log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_markdown(self, text: str, name: str = "report.md") -> None:
        """Store a markdown report as the artifact `name`."""
        self.store.client().log_text(self.run_id, text, name)

    def log_png(self, png: bytes, name: str) -> None:
        """Store PNG bytes (e.g. a matplotlib figure saved to a buffer) as the artifact `name`."""
        if not png.startswith(_PNG_SIGNATURE):
            raise ValueError(f"artifact {name!r}: bytes are not a PNG image")
        target = PurePosixPath(name)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / target.name
            path.write_bytes(png)
            parent = str(target.parent)
            self.store.client().log_artifact(self.run_id, str(path), None if parent == "." else parent)


@contextmanager
def tracked_run(
    store: MlflowStore,
    *,
    ticker: str,
    as_of: str | dt.date,
    model_type: str,
    label: str,
    dagster_run_id: str | None = None,
    run_name: str | None = None,
) -> Iterator[TrackedRun]:
    """Start an MLflow run in `store`'s experiment, tagged ticker/as_of/model_type/label/dagster_run_id.

    The run is the active one inside the block (so `log_pyfunc_model` can log into it) and always
    ends: FINISHED when the block completes, FAILED when it raises (the exception propagates), so no
    run is left RUNNING. One run at a time per thread; MLflow refuses to start one while another is active.
    """
    tags = {"ticker": ticker, "as_of": str(as_of), "model_type": model_type, "label": label}
    if dagster_run_id:
        tags["dagster_run_id"] = dagster_run_id
    store.activate()
    name = run_name or f"{ticker}_{label}_{model_type}_{as_of}"
    with mlflow.start_run(experiment_id=store.experiment_id, run_name=name, tags=tags) as active:
        yield TrackedRun(active.info.run_id, store)
