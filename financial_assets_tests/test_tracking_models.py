"""The pyfunc wrapper, registration with the champion/challenger rule, loading by alias, and serving."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from sklearn.linear_model import LogisticRegression

from financial_assets.tracking import (
    CHALLENGER,
    CHAMPION,
    decide_promotion,
    log_pyfunc_model,
    mlflow_uris,
    register_and_promote,
    registered_model_name,
    serve_model,
    served_p95_latency_ms,
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


def test_promotion_rule_moves_the_champion_alias_only_for_a_clear_win(store: MlflowStore) -> None:
    name = registered_model_name("TEST", "promotion")
    client = store.client()
    models = {seed: _fitted(seed) for seed in (1, 2, 3)}

    first = register_and_promote(store, _logged(store, models[1]).model_uri, name=name, oos_auc=0.55,
                                 oos_auc_ci=(0.52, 0.58), oos_rows=800, min_oos_rows=500)
    assert first.promoted and first.champion_version is None and "first model" in first.reason
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == first.version

    worse = register_and_promote(store, _logged(store, models[2]).model_uri, name=name, oos_auc=0.575,
                                 oos_auc_ci=(0.545, 0.605), oos_rows=800, min_oos_rows=500)
    assert not worse.promoted and worse.alias == CHALLENGER
    assert (worse.champion_version, worse.champion_auc, worse.champion_auc_ci) == (first.version, 0.55, (0.52, 0.58))
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == first.version
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == worse.version
    assert client.get_model_version(name, worse.version).tags["promotion_decision"] == "not_promoted"

    better = register_and_promote(store, _logged(store, models[3]).model_uri, name=name, oos_auc=0.61,
                                  oos_auc_ci=(0.58, 0.64), oos_rows=800, min_oos_rows=500)
    assert better.promoted and "0.6100 > champion v1 CI high 0.5800" in better.reason
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == better.version
    assert client.get_model_version(name, first.version).aliases == []
    assert {k: str(v) for k, v in client.get_registered_model(name).aliases.items()} == {CHAMPION: better.version}
    tags = client.get_model_version(name, better.version).tags
    assert tags["promotion_decision"] == "promoted" and tags["oos_auc"] == "0.61"
    assert tags["compared_champion_version"] == first.version

    store.activate()
    champion = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    frame = _features(7, n=25)
    np.testing.assert_allclose(np.asarray(champion.predict(frame)), models[3].predict_proba(frame))


def test_equal_to_the_champion_ci_high_is_not_a_win() -> None:
    decision = decide_promotion("m", "2", 0.58, (0.55, 0.61), ("1", 0.55, (0.52, 0.58)), 800, 500)
    assert not decision.promoted and "<=" in decision.reason


def test_a_model_with_too_little_out_of_fold_evidence_never_becomes_champion() -> None:
    first = decide_promotion("m", "1", 0.70, (0.60, 0.80), None, 499, 500)
    assert not first.promoted and "499 out-of-fold rows < 500" in first.reason
    assert decide_promotion("m", "1", 0.70, (0.60, 0.80), None, 500, 500).promoted


def test_invalid_auc_interval_is_refused(store: MlflowStore) -> None:
    with pytest.raises(ValueError, match=r"model 'fa_TEST_x'.*not a valid AUC"):
        register_and_promote(store, "models:/unused", name="fa_TEST_x", oos_auc=0.6, oos_auc_ci=(0.62, 0.58), oos_rows=800, min_oos_rows=500)


@pytest.mark.slow
def test_the_champion_serves_on_loopback_fast(store: MlflowStore) -> None:
    model = _fitted(11)
    name = registered_model_name("TEST", "serving")
    register_and_promote(store, _logged(store, model).model_uri, name=name, oos_auc=0.6, oos_auc_ci=(0.57, 0.63), oos_rows=800, min_oos_rows=500)
    frame = _features(12, n=5)
    with serve_model(f"models:/{name}@champion", store) as served:
        np.testing.assert_allclose(served.predict(frame), model.predict_proba(frame), rtol=1e-9)
        # latency is a benchmark (python -m financial_assets.bench serving), not a test: only that it is measured
        assert served_p95_latency_ms(served, frame.head(1), requests_count=20) > 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{served.url}/ping", timeout=2)
