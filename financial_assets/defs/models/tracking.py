"""One training result into MLflow (a FINISHED run with its model registered), and registry aliases kept on the chain.

The promotion rule is `financial_assets.tracking.register_and_promote`'s. It compares a new version
with the registry's champion, so before each registration the champion alias is pointed at the
champion of the as-of chain (the newest one trained by that as-of date): a rerun or a backfill of an
earlier date is then judged against what was known at that date, never against a later model. After
a run the aliases are left on the chain's newest state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.models import TrainingResult
from financial_assets.models.champions import CHALLENGER, CHAMPION, prior_champion, serving

if TYPE_CHECKING:  # MLflow takes a second to import: only runs that train load it
    from mlflow import MlflowClient

    from financial_assets.tracking import MlflowStore, PromotionDecision


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


def promote(store: MlflowStore, model_uri: str, name: str, result: TrainingResult, chain: pd.DataFrame,
            as_of: pd.Timestamp, min_oos_rows: int) -> PromotionDecision:
    """Register `model_uri` as a version of `name`; apply the promotion rule against the as-of champion of `chain`."""
    from financial_assets.tracking import register_and_promote

    _point(store, name, CHAMPION, prior_champion(chain, as_of), as_of)
    return register_and_promote(store, model_uri, name=name, oos_auc=result.metrics["oos_auc"],
                                oos_auc_ci=(result.metrics["oos_auc_ci_low"], result.metrics["oos_auc_ci_high"]),
                                oos_rows=int(result.metrics["oos_rows"]), min_oos_rows=min_oos_rows)


def sync_aliases(store: MlflowStore, name: str, chain: pd.DataFrame) -> None:
    """Leave `champion` on the chain's newest champion, `challenger` on its newest model when that is a challenger."""
    if chain.empty:
        return
    after = chain["date"].max() + pd.Timedelta(days=1)
    newest = serving(chain, pd.DatetimeIndex([after])).iloc[0]
    _point(store, name, CHAMPION, chain.iloc[newest["champion"]] if newest["champion"] >= 0 else None, after)
    _point(store, name, CHALLENGER, chain.iloc[newest["challenger"]] if newest["challenger"] >= 0 else None, after)


def _point(store: MlflowStore, name: str, alias: str, row: pd.Series | None, as_of: pd.Timestamp) -> None:
    """Set `alias` of `name` to the version of trained_model `row` (checked to be that run's model), or remove it."""
    client = store.client()
    aliases = _aliases(client, name)
    if row is None:
        if alias in aliases:
            client.delete_registered_model_alias(name, alias)
        return
    version = str(int(row["model_version"]))
    if _run_of(client, name, version) != row["mlflow_run_id"]:
        raise BarDataError("registry_matches_lake", f"trained_model holds {name} v{version} of MLflow run "
                           f"{row['mlflow_run_id']}, the registry at {store.registry_uri} does not: the MLflow store "
                           "was replaced; point FA_MLFLOW_TRACKING_URI at the original store or rebuild trained_model "
                           "from its first date", ticker=str(row["unit"]), date=as_of.date())
    if str(aliases.get(alias)) != version:
        client.set_registered_model_alias(name, alias, version)


def _missing(error: Exception) -> bool:
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

    return getattr(error, "error_code", None) == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """{alias: version} of registered model `name`; empty when it is not registered yet."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_registered_model(name).aliases)
    except MlflowException as error:
        if _missing(error):
            return {}
        raise


def _run_of(client: MlflowClient, name: str, version: str) -> str | None:
    """The MLflow run that logged version `version` of `name`; None when the registry has no such version."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, version).run_id
    except MlflowException as error:
        if _missing(error):
            return None
        raise
