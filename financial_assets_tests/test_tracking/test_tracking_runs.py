"""MLflow store location and tracked runs: URIs, tags, params, metrics, artifacts, and runs always ending."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import pytest  # noqa: E402

from financial_assets.tracking import mlflow_uris, tracked_run  # noqa: E402

TAGS = dict(ticker="AAPL", as_of="2024-01-02", model_type="logreg", label="dir_5", dagster_run_id="abc123")


@pytest.fixture(autouse=True)
def _forget_mlflow_globals():
    """tracked_run points MLflow's process-wide URIs (and their env vars) at a temp store; undo that."""
    yield
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)


def _png() -> bytes:
    figure, axis = plt.subplots(figsize=(2, 2))
    axis.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def test_embedded_store_lives_under_the_data_folder(tmp_path: Path) -> None:
    store = mlflow_uris(tmp_path / "data")
    root = (tmp_path / "data" / "mlflow").resolve()
    assert store.tracking_uri == f"sqlite:///{root / 'mlflow.db'}" == store.registry_uri
    assert store.artifact_location == (root / "artifacts").as_uri()
    assert (root / "mlflow.db").is_file() and (root / "artifacts").is_dir()
    again = mlflow_uris(tmp_path / "data")
    assert again.experiment_id == store.experiment_id
    assert store.client().get_experiment(store.experiment_id).name == "financial_assets"


def test_a_given_tracking_uri_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a store without an artifact root defaults to ./mlruns
    uri = f"sqlite:///{tmp_path / 'server.db'}"
    store = mlflow_uris(tmp_path / "unused", tracking_uri=uri, experiment_name="other")
    assert (store.tracking_uri, store.registry_uri, store.experiment_name) == (uri, uri, "other")
    assert not (tmp_path / "unused").exists()


def test_a_moved_data_folder_is_refused(tmp_path: Path) -> None:
    mlflow_uris(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with pytest.raises(ValueError, match="moved or copied"):
        mlflow_uris(tmp_path / "b")


def test_a_run_finishes_with_tags_params_metrics_and_artifacts(tmp_path: Path) -> None:
    store = mlflow_uris(tmp_path / "data")
    with tracked_run(store, **TAGS) as run:
        run.log_params({"C": 0.5, "features": "rsi_14,rv_20"})
        run.log_metrics({"oos_auc": 0.531, "oos_auc_ci_low": 0.512})
        run.set_tags({"fold_scheme": "cpcv"})
        run.log_markdown("# Model card\nAUC 0.531")
        run.log_png(_png(), "plots/calibration.png")
    record = store.client().get_run(run.run_id)
    assert record.info.status == "FINISHED"
    assert {k: record.data.tags[k] for k in TAGS} == TAGS and record.data.tags["fold_scheme"] == "cpcv"
    assert record.data.params == {"C": "0.5", "features": "rsi_14,rv_20"}
    assert record.data.metrics == {"oos_auc": 0.531, "oos_auc_ci_low": 0.512}
    assert record.info.run_name == "AAPL_dir_5_logreg_2024-01-02"
    client = store.client()
    assert {a.path for a in client.list_artifacts(run.run_id)} == {"report.md", "plots"}
    assert [a.path for a in client.list_artifacts(run.run_id, "plots")] == ["plots/calibration.png"]
    report = Path(client.download_artifacts(run.run_id, "report.md", str(tmp_path)))
    assert report.read_text().startswith("# Model card")
    assert mlflow.active_run() is None


def test_a_run_whose_body_raises_ends_failed_and_the_next_one_starts(tmp_path: Path) -> None:
    store = mlflow_uris(tmp_path / "data")
    with pytest.raises(ZeroDivisionError):
        with tracked_run(store, **TAGS) as failed:
            failed.log_metrics({"partial": 1.0})
            raise ZeroDivisionError("the run's body fails")
    assert store.client().get_run(failed.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None
    with tracked_run(store, **TAGS) as ok:
        pass
    statuses = {r.info.run_id: r.info.status for r in store.client().search_runs([store.experiment_id])}
    assert statuses == {failed.run_id: "FAILED", ok.run_id: "FINISHED"}


def test_png_artifacts_must_be_png(tmp_path: Path) -> None:
    store = mlflow_uris(tmp_path / "data")
    with pytest.raises(ValueError, match="'plot.png': bytes are not a PNG"):
        with tracked_run(store, **TAGS) as run:
            run.log_png(b"GIF89a", "plot.png")
    assert store.client().get_run(run.run_id).info.status == "FAILED"
