"""Training time per ticker-fold and the served model's latency, each against a reference from the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import bench_line

ROWS, FEATURES = 3000, 50


def bench_training() -> None:
    """xgboost and the LSTM per ticker-fold and per full CV, against logistic regression on the same table."""
    from financial_assets.models.benchmark import measure_training

    reference = measure_training("logistic", rows=ROWS, features=FEATURES, tuning_trials=0)
    for model_type in ("xgboost", "lstm", "transformer"):
        measured = measure_training(model_type, rows=ROWS, features=FEATURES)
        print(f"# {model_type}: {measured['fit_seconds_per_fold']:.2f}s per fold, {measured['cv_seconds']:.1f}s "
              f"full CV, OOS AUC {measured['oos_auc']:.3f} on noise")
        bench_line(f"train_{model_type}_per_ticker_fold", measured["fit_seconds_per_fold"], "s",
                   measured["fit_seconds_per_fold"] / reference["fit_seconds_per_fold"], "logistic_per_ticker_fold")
        bench_line(f"train_{model_type}_full_cv", measured["cv_seconds"], "s",
                   measured["cv_seconds"] / reference["cv_seconds"], "logistic_full_cv")


class _Logistic:
    """A fitted logistic regression exposing predict_proba(frame) -> P(up), for the served model."""

    def __init__(self, columns: list[str], seed: int = 0):
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(seed)
        x = rng.normal(size=(500, len(columns)))
        self.columns, self.model = columns, LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(frame[self.columns].to_numpy())[:, 1]


def bench_serving(requests_count: int = 300) -> None:
    """p95 of single-row /invocations round trips of the served champion, against /ping on the same server."""
    import mlflow

    from financial_assets.tracking import (
        log_pyfunc_model,
        mlflow_uris,
        register_version,
        serve_model,
        served_p95_latency_ms,
        set_serving,
        tracked_run,
    )
    from financial_assets.tracking.serving import ping_p95_latency_ms

    store = mlflow_uris(Path(tempfile.mkdtemp(prefix="fa-bench-mlflow-")))
    columns = [f"f{i}" for i in range(FEATURES)]
    row = pd.DataFrame([np.zeros(FEATURES)], columns=columns)
    with tracked_run(store, ticker="BENCH", as_of="2013-03-01", model_type="logistic", label="dir_5") as run:
        info = log_pyfunc_model(run, _Logistic(columns), row)
    version = register_version(store, info.model_uri, name="fa_bench_dir_5", oos_auc=0.5, oos_auc_ci=(0.45, 0.55))
    set_serving(store, "fa_bench_dir_5", champion=version, challenger=None, reason="benchmark")
    with serve_model("models:/fa_bench_dir_5@champion", store) as served:
        p95 = served_p95_latency_ms(served, row, requests_count=requests_count)
        ping = ping_p95_latency_ms(served, requests_count=requests_count)
    mlflow.end_run()
    bench_line("served_model_p95_latency", p95, "ms", p95 / ping, "ping_p95_same_server")
