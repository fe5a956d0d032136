"""Shared fixtures: every test gets its own data folder and Dagster instance; nothing touches the network."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from financial_assets.settings import DEFAULTS

#: `@pytest.mark.code_location(...)`: a test in a code location loaded with other load-time settings; `pytester`
#: runs pytest itself, to test that plugin
pytest_plugins = ["financial_assets_tests.code_location", "pytester"]

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def default_settings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the documented defaults, whatever ran before it or is set in the shell, and the
    load-time settings its code location was loaded with (`code_location` marker), with a private FA_DATA_DIR."""
    marker = request.node.get_closest_marker("code_location")
    for name, value in {**DEFAULTS, **(marker.kwargs if marker else {})}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FA_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The test's private FA_DATA_DIR."""
    return tmp_path / "data"


@pytest.fixture
def instance(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """The test's own Dagster instance, as `@pytest.mark.instance(...)` asks: in memory by default; `on_disk=True`
    a temporary instance with its own storage folders (schedules need an instance reference); `project=True` the
    project's own (its dagster.yaml: the batched SQLite event log) in a private DAGSTER_HOME. `tickers=[...]`
    registers tickers."""
    from financial_assets.app.runner import register_tickers  # loads the code location: after the settings fixture
    from financial_assets.runs.instance import project_instance

    marker = request.node.get_closest_marker("instance")
    options = marker.kwargs if marker else {}
    with contextlib.ExitStack() as stack:
        if options.get("project"):
            monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
            made = project_instance()
        elif options.get("on_disk"):
            made = stack.enter_context(dg.instance_for_test())
        else:
            made = dg.DagsterInstance.ephemeral()
        register_tickers(made, list(options.get("tickers", [])))
        yield made


def write_bar_files(folder: Path, files: dict[str, pd.DataFrame | str]) -> Path:
    """Write `<TICKER>.csv` files (frames or raw text) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / (name if "." in name else f"{name}.csv")
        if isinstance(content, str):
            path.write_text(content)
        else:
            content.to_csv(path, index=False)
    return folder


def clean_bars(dates: list[str], start_price: float = 100.0) -> pd.DataFrame:
    """Valid OHLCV bars on the given dates, prices drifting up by 1 a day."""
    n = len(dates)
    close = [start_price + i for i in range(n)]
    return pd.DataFrame(
        {
            "date": dates,
            "open": [c - 0.5 for c in close],
            "high": [c + 1.0 for c in close],
            "low": [c - 1.0 for c in close],
            "close": close,
            "volume": [1_000_000.0 + i for i in range(n)],
        }
    )
