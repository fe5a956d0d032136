"""One training result into MLflow (a FINISHED run with its model registered), its decision, and the aliases.

The promotion decision is taken on the lake's chain of models (`financial_assets.models.promotion`),
never on the registry's aliases, so a rerun or a backfill of an earlier date is judged on what was
known at that date. The registry shows the decisions: each version carries its decision as tags, and
after a run the aliases and the registered model's serving tags are left on the chain's newest state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.models import TrainingResult
from financial_assets.models.champions import serving
from financial_assets.models.promotion import Decision

if TYPE_CHECKING:  # MLflow takes a second to import: only runs that train load it
    from mlflow import MlflowClient

    from financial_assets.tracking import MlflowStore


def log_training(store: MlflowStore, result: TrainingResult, example: pd.DataFrame, *, unit: str, as_of: pd.Timestamp,
                 dagster_run_id: str, requirements: list[str]) -> tuple[str, str]:
    """Log `result` as one MLflow run (params, metrics, tags, report, plots, the pyfunc model); (run id, model URI).

    `example` holds ticker, date and the model's features: the model's signature and input example.
    """
    from financial_assets.tracking import log_pyfunc_model, tracked_run

    with tracked_run(store, ticker=unit, as_of=as_of.date().isoformat(), model_type=result.config.model_type,
                     label=result.config.label, dagster_run_id=dagster_run_id) as run:
        run.log_params({**result.config.as_params(), **{f"data_{k}": v for k, v in result.data.as_metadata().items()},
                        **{f"tuned_{k}": v for k, v in result.best_params.items()}})
        run.log_metrics({k: v for k, v in {**result.metrics, **result.baselines, "trials": float(result.trials)}.items()
                         if math.isfinite(v)})
        run.log_markdown(result.report)
        for name, png in result.images.items():
            run.log_png(png, name)
        info = log_pyfunc_model(run, result.predictor, example, pip_requirements=requirements)
    return run.run_id, info.model_uri


def register(store: MlflowStore, model_uri: str, name: str, result: TrainingResult, chain: pd.DataFrame) -> int:
    """Register `model_uri` as a new version of `name`, tagged with its OOS AUC and interval; the version. The chain's
    newest model must be in this registry first: versions are numbered per registry, and the chain keys on them."""
    from financial_assets.tracking import register_version

    if len(chain):
        _checked(store, name, chain.iloc[-1], result.data.as_of)
    m = result.metrics
    return int(register_version(store, model_uri, name=name, oos_auc=m["oos_auc"],
                                oos_auc_ci=(m["oos_auc_ci_low"], m["oos_auc_ci_high"])))


def record(store: MlflowStore, name: str, decision: Decision) -> None:
    """The decision and its numbers as tags of the new version."""
    from financial_assets.tracking import tag_version

    tag_version(store, name, str(decision.version), decision.tags())


def sync_aliases(store: MlflowStore, name: str, chain: pd.DataFrame) -> None:
    """Leave `champion` on the version serving after the chain's newest decision (none: removed), `challenger` on the
    newest model when it is not the champion, and the registered model's serving tags on that decision."""
    from financial_assets.tracking import set_serving

    if chain.empty:
        return
    after = chain["date"].max() + pd.Timedelta(days=1)
    newest = serving(chain, pd.DatetimeIndex([after])).iloc[0]
    champion, challenger = (_checked(store, name, chain.iloc[p], after) if p >= 0 else None
                            for p in (newest["champion"], newest["challenger"]))
    last = chain.iloc[-1]
    reason = (f"v{champion} serves" if champion else "no champion") + f" after the decision on v{last['model_version']}"
    set_serving(store, name, champion=champion, challenger=challenger,
                reason=f"{reason} as of {last['date']:%Y-%m-%d}: {last['promotion_reason']}")


def _checked(store: MlflowStore, name: str, row: pd.Series, as_of: pd.Timestamp) -> str:
    """The registry version of trained_model `row`, checked to be that MLflow run's model."""
    version = str(int(row["model_version"]))
    if _run_of(store.client(), name, version) != row["mlflow_run_id"]:
        raise BarDataError("registry_matches_lake", f"trained_model holds {name} v{version} of MLflow run "
                           f"{row['mlflow_run_id']}, the registry at {store.registry_uri} does not: the MLflow store "
                           "was replaced; point FA_MLFLOW_TRACKING_URI at the original store or rebuild trained_model "
                           "from its first date", ticker=str(row["unit"]), date=as_of.date())
    return version


def _missing(error: Exception) -> bool:
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

    return getattr(error, "error_code", None) == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


def _run_of(client: MlflowClient, name: str, version: str) -> str | None:
    """The MLflow run that logged version `version` of `name`; None when the registry has no such version."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, version).run_id
    except MlflowException as error:
        if _missing(error):
            return None
        raise
