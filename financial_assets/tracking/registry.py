"""Model registry: register a version with its out-of-sample AUC, record its promotion decision, and set the aliases.

The decision itself is `financial_assets.models.promotion`'s, taken on the lake's chain of models;
the registry shows it: the version's tags hold the decision and its numbers, the alias `champion`
points at the version that serves (none when no model passed the gate), `challenger` at the newest
version when it is not the champion, and the registered model's tags `serving_version` and
`serving_reason` say which serves and why, "none" included.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from financial_assets.tracking.store import MlflowStore

CHAMPION, CHALLENGER = "champion", "challenger"
#: registered-model tag saying which version serves ("none": no champion), and the one saying why
SERVING_VERSION, SERVING_REASON = "serving_version", "serving_reason"


def registered_model_name(ticker: str, label: str) -> str:
    """`fa_<ticker>_<label>`: one registered model per ticker and label."""
    return f"fa_{ticker}_{label}"


def register_version(store: MlflowStore, model_uri: str, *, name: str, oos_auc: float,
                     oos_auc_ci: tuple[float, float]) -> str:
    """Register `model_uri` as a new version of `name`, tagged with its OOS AUC and interval; its version. An AUC
    left undefined (NaN: one class only out of fold) is registered as such; the promotion gate refuses it."""
    low, high = float(oos_auc_ci[0]), float(oos_auc_ci[1])
    undefined = all(math.isnan(v) for v in (oos_auc, low, high))
    if not (undefined or (math.isfinite(oos_auc) and 0 <= low <= high <= 1)):
        raise ValueError(f"model {name!r}: OOS AUC {oos_auc} with CI ({low}, {high}) is not a valid AUC and interval")
    store.activate()
    tags = {"oos_auc": repr(float(oos_auc)), "oos_auc_ci_low": repr(low), "oos_auc_ci_high": repr(high)}
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Created version ..." there; the decision says it
        return str(mlflow.register_model(model_uri, name, tags=tags).version)


def tag_version(store: MlflowStore, name: str, version: str, tags: Mapping[str, str]) -> None:
    """Set `tags` (a promotion decision) on version `version` of `name`."""
    client = store.client()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def set_serving(store: MlflowStore, name: str, *, champion: str | None, challenger: str | None, reason: str) -> None:
    """Point `champion` and `challenger` of `name` at those versions (None removes the alias) and tag the registered
    model with the serving version ("none" without a champion) and `reason`."""
    client = store.client()
    aliases = alias_versions(client, name)
    for alias, version in ((CHAMPION, champion), (CHALLENGER, challenger)):
        if version is None and alias in aliases:
            client.delete_registered_model_alias(name, alias)
        elif version is not None and aliases.get(alias) != version:
            client.set_registered_model_alias(name, alias, version)
    client.set_registered_model_tag(name, SERVING_VERSION, champion or "none")
    client.set_registered_model_tag(name, SERVING_REASON, reason)


def alias_versions(client: MlflowClient, name: str) -> dict[str, str]:
    """{alias: version} of registered model `name`; empty when it is not registered yet."""
    try:
        return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return {}
        raise
