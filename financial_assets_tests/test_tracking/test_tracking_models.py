"""The pyfunc wrapper, registration, the aliases and tags that show a promotion decision, loading by alias, serving."""

from __future__ import annotations

import math
import os

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from financial_assets.tracking import (
    CHALLENGER,
    CHAMPION,
    SERVING_REASON,
    SERVING_VERSION,
    log_pyfunc_model,
    mlflow_uris,
    register_version,
    registered_model_name,
    serve_model,
    served_p95_latency_ms,
    set_serving,
    tag_version,
    tracked_run,
)
from financial_assets.tracking.store import MlflowStore

COLUMNS = ["rsi_14", "rv_20", "ret_5"]


class UpProbability:
    """The contract the models module meets: predict_proba(features) -> 1-D probability of an up move."""

    def __init__(self, classifier: LogisticRegression):
        self.classifier = classifier

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.classifier.predict_proba(features[COLUMNS])[:, 1]


def _features(seed: int, n: int = 300) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(n, len(COLUMNS))), columns=COLUMNS)


def _fitted(seed: int) -> UpProbability:
    features = _features(seed)
    labels = (features["rsi_14"] + np.random.default_rng(seed + 1).normal(size=len(features)) > 0).astype(int)
    return UpProbability(LogisticRegression().fit(features, labels))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """One sqlite store for the module (creating its schema takes about a second); names differ per test."""
    yield mlflow_uris(tmp_path_factory.mktemp("tracking") / "data")
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)


def _logged(store: MlflowStore, model: UpProbability, label: str = "dir_5"):
    with tracked_run(store, ticker="TEST", as_of="2024-01-02", model_type="logreg", label=label) as run:
        return log_pyfunc_model(run, model, _features(99, n=20))


def test_logged_model_has_signature_example_and_predicts_like_the_object(store: MlflowStore) -> None:
    model = _fitted(0)
    info = _logged(store, model)
    assert info.signature.inputs.input_names() == COLUMNS
    assert info.saved_input_example_info is not None
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    frame = _features(5, n=40)
    np.testing.assert_allclose(np.asarray(loaded.predict(frame[COLUMNS[::-1]])), model.predict_proba(frame))


def test_objects_must_return_one_probability_per_row(store: MlflowStore) -> None:
    two_columns = _fitted(0).classifier  # sklearn's predict_proba returns (n, 2)
    with pytest.raises(ValueError, match=r"LogisticRegression.predict_proba must return a 1-D array .* \(20, 2\)"):
        with tracked_run(store, ticker="TEST", as_of="2024-01-02", model_type="logreg", label="bad") as run:
            log_pyfunc_model(run, two_columns, _features(99, n=20))
    with pytest.raises(RuntimeError, match="inside tracked_run"):
        log_pyfunc_model(run, _fitted(0), _features(99, n=20))


def test_the_aliases_and_tags_show_which_version_serves_and_none_when_no_model_passed_the_gate(store: MlflowStore):
    name = registered_model_name("TEST", "promotion")
    client = store.client()
    models = {seed: _fitted(seed) for seed in (1, 2, 3)}
    first = register_version(store, _logged(store, models[1]).model_uri, name=name, oos_auc=0.55,
                             oos_auc_ci=(0.52, 0.58))
    tags = client.get_model_version(name, first).tags
    assert (tags["oos_auc"], tags["oos_auc_ci_low"], tags["oos_auc_ci_high"]) == ("0.55", "0.52", "0.58")
    set_serving(store, name, champion=first, challenger=None, reason="v1 passes the gate")
    second = register_version(store, _logged(store, models[2]).model_uri, name=name, oos_auc=0.53,
                              oos_auc_ci=(0.49, 0.57))
    tag_version(store, name, second, {"promotion_decision": "gate_failed", "serving_version": first})
    set_serving(store, name, champion=first, challenger=second, reason="v1 stays: v2 fails the gate")
    assert client.get_registered_model(name).aliases == {CHAMPION: int(first), CHALLENGER: int(second)}
    assert client.get_model_version(name, second).tags["promotion_decision"] == "gate_failed"

    third = register_version(store, _logged(store, models[3]).model_uri, name=name, oos_auc=0.5,
                             oos_auc_ci=(0.46, 0.54))
    set_serving(store, name, champion=None, challenger=third, reason="v1 retired: no champion")
    model = client.get_registered_model(name)
    assert model.aliases == {CHALLENGER: int(third)}  # no champion alias: nothing serves
    assert (model.tags[SERVING_VERSION], model.tags[SERVING_REASON]) == ("none", "v1 retired: no champion")
    with pytest.raises(MlflowException, match="champion"):
        mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")

    set_serving(store, name, champion=third, challenger=None, reason="v3 serves")
    assert client.get_registered_model(name).aliases == {CHAMPION: int(third)}
    store.activate()
    champion = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    frame = _features(7, n=25)
    np.testing.assert_allclose(np.asarray(champion.predict(frame)), models[3].predict_proba(frame))


def test_invalid_auc_interval_is_refused_and_an_undefined_auc_registered_as_such(store: MlflowStore) -> None:
    with pytest.raises(ValueError, match=r"model 'fa_TEST_x'.*not a valid AUC"):
        register_version(store, "models:/unused", name="fa_TEST_x", oos_auc=0.6, oos_auc_ci=(0.62, 0.58))
    with pytest.raises(ValueError, match=r"model 'fa_TEST_x'.*not a valid AUC"):
        register_version(store, "models:/unused", name="fa_TEST_x", oos_auc=math.nan, oos_auc_ci=(0.4, 0.6))
    # out-of-fold labels of one class leave the AUC undefined: the model is registered, and the gate refuses it
    name = registered_model_name("TEST", "one_class")
    version = register_version(store, _logged(store, _fitted(4)).model_uri, name=name, oos_auc=math.nan,
                               oos_auc_ci=(math.nan, math.nan))
    assert store.client().get_model_version(name, version).tags["oos_auc"] == "nan"


@pytest.mark.slow
def test_the_champion_serves_on_loopback_fast(store: MlflowStore) -> None:
    model = _fitted(11)
    name = registered_model_name("TEST", "serving")
    version = register_version(store, _logged(store, model).model_uri, name=name, oos_auc=0.6, oos_auc_ci=(0.57, 0.63))
    set_serving(store, name, champion=version, challenger=None, reason="served")
    frame = _features(12, n=5)
    with serve_model(f"models:/{name}@champion", store) as served:
        np.testing.assert_allclose(served.predict(frame), model.predict_proba(frame), rtol=1e-9)
        # latency is a benchmark (python -m benchmarks serving), not a test: only that it is measured
        assert served_p95_latency_ms(served, frame.head(1), requests_count=20) > 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{served.url}/ping", timeout=2)
