"""Serve a registered model with `mlflow models serve` on loopback, call it, and measure its latency."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import requests

import financial_assets
from financial_assets.tracking.store import MlflowStore

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServedModel:
    """A running scoring server at `url`."""

    url: str

    def predict(self, features: pd.DataFrame, session: requests.Session | None = None) -> np.ndarray:
        """POST `features` to /invocations (pandas split orient) and return the predictions."""
        body = '{"dataframe_split": ' + features.to_json(orient="split", index=False) + "}"
        response = (session or requests).post(f"{self.url}/invocations", data=body, timeout=30,
                                              headers={"Content-Type": "application/json"})
        if not response.ok:
            raise RuntimeError(
                f"POST {self.url}/invocations answered HTTP {response.status_code}: {response.text[:500]}")
        return np.asarray(response.json()["predictions"], dtype=float)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_model(
    model_uri: str,
    store: MlflowStore,
    *,
    port: int | None = None,
    startup_timeout: float = 120.0,
) -> Iterator[ServedModel]:
    """Run `mlflow models serve -m <model_uri> --env-manager local` on 127.0.0.1 until the block ends.

    The server runs with this interpreter and sees `store` through MLFLOW_TRACKING_URI and
    MLFLOW_REGISTRY_URI (so `models:/<name>@champion` resolves). MLflow starts its scoring server as
    `uvicorn` looked up on PATH, so this interpreter's folder goes first on PATH; the folder holding
    this package goes first on PYTHONPATH, because the pickled model refers to ProbabilityModel here.
    Waits for GET /ping, then yields; on exit the server's process group is terminated.
    """
    port = port or free_port()
    package_root = str(Path(financial_assets.__file__).resolve().parent.parent)
    env = dict(os.environ, MLFLOW_TRACKING_URI=store.tracking_uri, MLFLOW_REGISTRY_URI=store.registry_uri)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
               "-h", HOST, "-p", str(port)]
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            served = ServedModel(f"http://{HOST}:{port}")
            _wait_for_ping(served, process, log, startup_timeout, model_uri)
            yield served
        finally:
            _stop(process)


def served_p95_latency_ms(
    served: ServedModel, row: pd.DataFrame, *, requests_count: int = 200, warmup: int = 10
) -> float:
    """The 95th percentile, in milliseconds, of single-row /invocations round trips over one keep-alive session."""
    if len(row) != 1:
        raise ValueError(f"latency is measured on one row, got {len(row)}")
    return _p95_ms(lambda session: served.predict(row, session), requests_count, warmup)


def ping_p95_latency_ms(served: ServedModel, *, requests_count: int = 200, warmup: int = 10) -> float:
    """The 95th percentile, in milliseconds, of /ping round trips: the server's floor, a reference for the above."""
    return _p95_ms(lambda session: session.get(f"{served.url}/ping", timeout=5).raise_for_status(), requests_count,
                   warmup)


def _p95_ms(call, requests_count: int, warmup: int) -> float:
    timings = []
    with requests.Session() as session:
        for i in range(warmup + requests_count):
            start = time.perf_counter()
            call(session)
            if i >= warmup:
                timings.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(timings, 95))


def _wait_for_ping(served: ServedModel, process: subprocess.Popen, log, timeout: float, model_uri: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            tail = log.read()[-3000:]
            raise RuntimeError(
                f"mlflow models serve {model_uri} exited with {process.returncode} before /ping:\n{tail}")
        try:
            if requests.get(f"{served.url}/ping", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"mlflow models serve {model_uri} did not answer /ping within {timeout:.0f} s")


def _stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM the server's process group (mlflow and its uvicorn child) and wait until all of it is gone.

    Waiting for mlflow alone is not enough: uvicorn outlives it for a moment while shutting down.
    Whatever is left after `grace` seconds gets SIGKILL.
    """
    group = process.pid  # start_new_session=True: the group id is the leader's pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(group, process):
            time.sleep(0.05)
        if not _group_alive(group, process):
            break
    process.wait(timeout=5)


def _group_alive(group: int, process: subprocess.Popen) -> bool:
    process.poll()  # reap the leader so it does not linger as a zombie member of the group
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
