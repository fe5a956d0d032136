"""MLflow tracking and registry: the store, runs that always end, a pyfunc wrapper, promotion, serving."""

from financial_assets.tracking.pyfunc import ProbabilityModel, log_pyfunc_model
from financial_assets.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    PROMOTION_RULE,
    PromotionDecision,
    decide_promotion,
    register_and_promote,
    registered_model_name,
)
from financial_assets.tracking.runs import TrackedRun, tracked_run
from financial_assets.tracking.serving import ServedModel, serve_model, served_p95_latency_ms
from financial_assets.tracking.store import DEFAULT_EXPERIMENT, MlflowStore, mlflow_uris

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "DEFAULT_EXPERIMENT",
    "PROMOTION_RULE",
    "MlflowStore",
    "ProbabilityModel",
    "PromotionDecision",
    "ServedModel",
    "TrackedRun",
    "decide_promotion",
    "log_pyfunc_model",
    "mlflow_uris",
    "register_and_promote",
    "registered_model_name",
    "serve_model",
    "served_p95_latency_ms",
    "tracked_run",
]
