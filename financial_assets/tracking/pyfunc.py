"""A pyfunc model around any fitted object with `predict_proba(features: DataFrame) -> 1-D probabilities`."""

from __future__ import annotations

import tempfile
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

from financial_assets.tracking.runs import TrackedRun

#: Artifact key of the cloudpickled {"model": object, "columns": [...]} bundle.
MODEL_ARTIFACT = "model"


def probabilities(model: Any, features: pd.DataFrame) -> np.ndarray:
    """`model.predict_proba(features)` checked to be one probability per row."""
    proba = np.asarray(model.predict_proba(features), dtype=float)
    if proba.ndim != 1 or len(proba) != len(features):
        raise ValueError(
            f"{type(model).__name__}.predict_proba must return a 1-D array with one probability per row; "
            f"got shape {proba.shape} for {len(features)} rows"
        )
    return proba


class ProbabilityModel(mlflow.pyfunc.PythonModel):
    """Loads the pickled object and predicts probabilities from a features frame, columns as logged."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Unpickle the wrapped object and the feature columns it was logged with."""
        with open(context.artifacts[MODEL_ARTIFACT], "rb") as handle:
            bundle = cloudpickle.load(handle)
        self._model, self._columns = bundle["model"], bundle["columns"]

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        """Probabilities for the rows of `model_input`, its columns taken in the logged order."""
        return probabilities(self._model, model_input[self._columns])


def default_requirements(model: Any) -> list[str]:
    """Pinned pip requirements: MLflow, cloudpickle, numpy, pandas and the distribution of the model's class.

    Explicit, because MLflow's requirement inference loads the model in a subprocess (seconds per log).
    """
    names = {"mlflow", "cloudpickle", "numpy", "pandas"}
    names |= set(packages_distributions().get(type(model).__module__.split(".")[0], []))
    pinned = []
    for name in sorted(names):
        try:
            pinned.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pinned.append(name)
    return pinned


def log_pyfunc_model(
    run: TrackedRun,
    model: Any,
    features_example: pd.DataFrame,
    *,
    name: str = "model",
    pip_requirements: list[str] | None = None,
) -> ModelInfo:
    """Log `model` as a pyfunc into `run` (the active run) with a signature and an input example.

    The object is pickled with cloudpickle; the pickle refers to importable classes by name, so loading
    it needs the same packages (this one included: ProbabilityModel lives here). Returns MLflow's
    ModelInfo, whose `model_uri` `register_version` registers.
    """
    active = mlflow.active_run()
    if active is None or active.info.run_id != run.run_id:
        raise RuntimeError(f"log_pyfunc_model must be called inside tracked_run for run {run.run_id}")
    columns = list(features_example.columns)
    proba = probabilities(model, features_example)
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / "model.pkl"
        bundle.write_bytes(cloudpickle.dumps({"model": model, "columns": columns}))
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=ProbabilityModel(),
            artifacts={MODEL_ARTIFACT: str(bundle)},
            signature=infer_signature(features_example, proba),
            input_example=features_example.head(5),
            pip_requirements=pip_requirements or default_requirements(model),
        )
