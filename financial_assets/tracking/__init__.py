"""MLflow tracking and registry: the store, runs that always end, a pyfunc wrapper, the registry, serving."""

from financial_assets.tracking.pyfunc import ProbabilityModel, log_pyfunc_model
from financial_assets.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    SERVING_REASON,
    SERVING_VERSION,
    alias_versions,
    register_version,
    registered_model_name,
    set_serving,
    tag_version,
)
from financial_assets.tracking.runs import TrackedRun, tracked_run
from financial_assets.tracking.serving import ServedModel, serve_model, served_p95_latency_ms
from financial_assets.tracking.store import DEFAULT_EXPERIMENT, MlflowStore, mlflow_uris

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "DEFAULT_EXPERIMENT",
    "SERVING_REASON",
    "SERVING_VERSION",
    "MlflowStore",
    "ProbabilityModel",
    "ServedModel",
    "TrackedRun",
    "alias_versions",
    "log_pyfunc_model",
    "mlflow_uris",
    "register_version",
    "registered_model_name",
    "serve_model",
    "served_p95_latency_ms",
    "set_serving",
    "tag_version",
    "tracked_run",
]
