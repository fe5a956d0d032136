"""The rows trained_model records for each new model: its facts, the promotion decision taken on it, and its
out-of-fold predictions (lake table oof_predictions), which later decisions compare champions on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from financial_assets.models import TrainingResult
from financial_assets.models.champions import CHALLENGER, CHAMPION
from financial_assets.models.promotion import Decision

#: trained_model's metric columns (the named MLflow metrics) and the baselines beside them
METRICS = ("oos_auc", "oos_auc_ci_low", "oos_auc_ci_high", "oos_auc_pooled", "oos_balanced_accuracy", "oos_accuracy",
           "oos_log_loss")
BASELINES = ("baseline_majority_auc", "baseline_previous_sign_auc", "baseline_logistic_auc",
             "baseline_majority_accuracy", "baseline_previous_sign_accuracy")


def model_facts(result: TrainingResult, version: int, run_id: str, model_uri: str, unit: str,
                name: str) -> dict[str, object]:
    """A new model's trained_model columns other than its decision's: what it is, its numbers, the data it read."""
    d = result.data
    return {"date": d.as_of, "unit": unit, "model_type": result.config.model_type, "label": d.label,
            "registered_model": name, "model_version": version, "mlflow_run_id": run_id, "model_uri": model_uri,
            **{k: float(result.metrics.get(k, np.nan)) for k in METRICS},
            **{k: float(result.baselines.get(k, np.nan)) for k in BASELINES},
            "oos_rows": int(result.metrics["oos_rows"]), "trials": int(result.trials),
            "calibrated": result.calibrator is not None, "data_first_date": d.first_date, "data_last_date": d.last_date,
            "data_rows": int(d.rows), "data_hash": d.data_hash, "data_tickers": ",".join(d.tickers)}


def model_rows(facts: dict[str, object], decision: Decision, tickers: list[str]) -> pd.DataFrame:
    """The trained_model rows of one model, one per ticker of the run it was trained on: its facts, the alias it got
    (champion when it serves after its decision), and the decision with its numbers."""
    row = {**facts, "alias": CHAMPION if decision.promoted else CHALLENGER, **decision.columns()}
    trained_on = str(facts["data_tickers"]).split(",")
    rows = pd.DataFrame([{"ticker": t, **row} for t in tickers if t in trained_on])
    return rows.astype({"serving_version": "Int64", "champion_age": "Int64"})


def oof_rows(result: TrainingResult, rows: pd.DataFrame) -> pd.DataFrame:
    """The model's out-of-fold predictions keyed by ticker and as-of date (the sample's date in sample_date)."""
    first = rows.iloc[0]
    oof = result.oof.rename(columns={"date": "sample_date"})
    # `label` stays the out-of-fold target (0/1); the label's name goes in `label_name`
    keys = {"date": first["date"], "model_type": first["model_type"], "label_name": first["label"],
            "registered_model": first["registered_model"], "model_version": first["model_version"],
            "mlflow_run_id": first["mlflow_run_id"]}
    return oof.loc[oof["ticker"].isin(rows["ticker"])].assign(**keys).reset_index(drop=True)
