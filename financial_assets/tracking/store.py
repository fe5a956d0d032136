"""Where MLflow keeps runs and models: an embedded sqlite store under the data folder, or a given server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient

#: The experiment every run of the project goes to unless the caller names another.
DEFAULT_EXPERIMENT = "financial_assets"


@dataclass(frozen=True)
class MlflowStore:
    """Tracking and registry URIs and the experiment runs are logged to."""

    tracking_uri: str
    registry_uri: str
    experiment_name: str
    experiment_id: str
    artifact_location: str  # file:// URI for the embedded store, the server's choice otherwise

    def client(self) -> MlflowClient:
        """A client bound to this store's URIs (no global state)."""
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def activate(self) -> None:
        """Point MLflow's process-wide (fluent) API at this store; `log_model` and `register_model` use it."""
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)


def mlflow_uris(
    data_dir: Path | str,
    *,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
    experiment_name: str = DEFAULT_EXPERIMENT,
) -> MlflowStore:
    """The store to use, with its experiment created (or restored) if needed.

    With no `tracking_uri` (the embedded default): `sqlite:///<data_dir>/mlflow/mlflow.db` for runs and
    models, artifacts in `<data_dir>/mlflow/artifacts`. `data_dir` is made absolute, because MLflow
    records the artifact location verbatim. With a `tracking_uri` (a server URL from the caller's
    settings) the server chooses where artifacts go. The registry defaults to the tracking store.
    """
    if tracking_uri:
        artifacts = None
    else:
        root = Path(data_dir).resolve() / "mlflow"
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
        tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
        artifacts = (root / "artifacts").as_uri()
    registry_uri = registry_uri or tracking_uri
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        experiment_id = client.create_experiment(experiment_name, artifact_location=artifacts)
        experiment = client.get_experiment(experiment_id)
    elif experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    if artifacts is not None and experiment.artifact_location != artifacts:
        raise ValueError(
            f"MLflow experiment {experiment_name!r} in {tracking_uri} stores artifacts at "
            f"{experiment.artifact_location}, not {artifacts}: the data folder was moved or copied; "
            "use the original folder or a new experiment name"
        )
    return MlflowStore(tracking_uri, registry_uri, experiment_name, experiment.experiment_id,
                       experiment.artifact_location)


def mlflow_run_url(ui_url: str, run_id: str) -> str:
    """The page of MLflow run `run_id` in the MLflow UI at `ui_url` (FA_MLFLOW_UI_URL): `<ui>/#/runs/<id>`."""
    return f"{ui_url.rstrip('/')}/#/runs/{run_id}"
