"""Model registry: register a version and apply the champion/challenger promotion rule with aliases."""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from financial_assets.tracking.store import MlflowStore

CHAMPION, CHALLENGER = "champion", "challenger"
#: a model needs enough out-of-fold rows to become champion (FA_MIN_CHAMPION_OOS_ROWS): with few, its AUC
#: interval is so wide that a lucky early model would hold the alias against every later, better-informed one
PROMOTION_RULE = "enough out-of-fold rows, and challenger OOS AUC > champion OOS AUC CI high"


def registered_model_name(ticker: str, label: str) -> str:
    """`fa_<ticker>_<label>`: one registered model per ticker and label."""
    return f"fa_{ticker}_{label}"


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of the promotion rule for one new version, with the numbers it compared."""

    model_name: str
    version: str
    alias: str  # the alias the new version holds now: champion or challenger
    reason: str
    challenger_auc: float
    challenger_auc_ci: tuple[float, float]
    champion_version: str | None  # the champion it was compared with; None for the first model
    champion_auc: float | None
    champion_auc_ci: tuple[float, float] | None

    @property
    def promoted(self) -> bool:
        """True when the new version became champion."""
        return self.alias == CHAMPION

    def tags(self) -> dict[str, str]:
        """The decision as model-version tags."""
        tags = {"promotion_decision": "promoted" if self.promoted else "not_promoted", "promotion_reason": self.reason,
                "promotion_rule": PROMOTION_RULE}
        if self.champion_version is not None:
            tags |= {"compared_champion_version": self.champion_version,
                     "compared_champion_auc": repr(self.champion_auc),
                     "compared_champion_auc_ci_high": repr(self.champion_auc_ci[1])}
        return tags


def decide_promotion(
    model_name: str,
    version: str,
    challenger_auc: float,
    challenger_auc_ci: tuple[float, float],
    champion: tuple[str, float, tuple[float, float]] | None,
    challenger_rows: int,
    min_rows: int,
) -> PromotionDecision:
    """Apply PROMOTION_RULE; `champion` is (version, OOS AUC, CI) or None, and then an eligible new model wins."""
    if challenger_rows < min_rows:
        compared = (None, None, None) if champion is None else champion
        return PromotionDecision(model_name, version, CHALLENGER, f"{challenger_rows} out-of-fold rows < "
                                 f"{min_rows}: too little evidence to serve", challenger_auc,
                                 challenger_auc_ci, *compared)
    if champion is None:
        return PromotionDecision(model_name, version, CHAMPION, "first model: no champion to beat",
                                 challenger_auc, challenger_auc_ci, None, None, None)
    champion_version, champion_auc, champion_ci = champion
    beats = challenger_auc > champion_ci[1]
    reason = (f"challenger AUC {challenger_auc:.4f} {'>' if beats else '<='} champion v{champion_version} "
              f"CI high {champion_ci[1]:.4f} (champion AUC {champion_auc:.4f})")
    return PromotionDecision(model_name, version, CHAMPION if beats else CHALLENGER, reason, challenger_auc,
                             challenger_auc_ci, champion_version, champion_auc, champion_ci)


def register_and_promote(
    store: MlflowStore,
    model_uri: str,
    *,
    name: str,
    oos_auc: float,
    oos_auc_ci: tuple[float, float],
    oos_rows: int,
    min_oos_rows: int,
) -> PromotionDecision:
    """Register `model_uri` as a new version of `name`, tag its OOS AUC and CI, and set its alias.

    First version: champion. Later ones become champion only when their OOS AUC beats the champion's CI
    high bound; the alias then moves (the old champion loses it) and any stale challenger alias is
    removed. Otherwise the new version is the challenger. The decision is recorded as version tags.
    """
    low, high = float(oos_auc_ci[0]), float(oos_auc_ci[1])
    if not (math.isfinite(oos_auc) and 0 <= low <= high <= 1):
        raise ValueError(f"model {name!r}: OOS AUC {oos_auc} with CI ({low}, {high}) is not a valid AUC and interval")
    store.activate()
    client = store.client()
    champion = _alias_version(client, name, CHAMPION)
    recorded = None if champion is None else _recorded_auc(name, champion)  # before registering: fail clean
    metric_tags = {"oos_auc": repr(float(oos_auc)), "oos_auc_ci_low": repr(low), "oos_auc_ci_high": repr(high)}
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Created version ..." there; the decision says it
        version = mlflow.register_model(model_uri, name, tags=metric_tags).version
    decision = decide_promotion(name, str(version), float(oos_auc), (low, high), recorded, int(oos_rows), int(min_oos_rows))
    client.set_registered_model_alias(name, decision.alias, decision.version)
    if decision.promoted and _alias_version(client, name, CHALLENGER) is not None:
        client.delete_registered_model_alias(name, CHALLENGER)
    for key, value in decision.tags().items():
        client.set_model_version_tag(name, decision.version, key, value)
    return decision


def _alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The model version holding `alias`, or None (also when the model is not registered yet)."""
    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return None
        raise
    return client.get_model_version(name, aliases[alias]) if alias in aliases else None


def _recorded_auc(name: str, version: ModelVersion) -> tuple[str, float, tuple[float, float]]:
    """(version, OOS AUC, CI) from the tags `register_and_promote` wrote on that version."""
    try:
        tags = version.tags
        interval = (float(tags["oos_auc_ci_low"]), float(tags["oos_auc_ci_high"]))
        return str(version.version), float(tags["oos_auc"]), interval
    except (KeyError, ValueError) as error:
        raise ValueError(f"model {name!r} champion v{version.version} has no oos_auc/oos_auc_ci_* tags to compare "
                         "with; register it with register_and_promote") from error
