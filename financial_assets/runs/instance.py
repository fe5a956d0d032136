"""The project's local Dagster instance: SQLite storage whose event log writes batches in one transaction.

`make run`, `make ui` and the command line share `DAGSTER_HOME` (default `./.dagster_home`). A
`dagster.yaml` already there is left alone (a deployment's PostgreSQL one, say); otherwise one is
written that keeps Dagster's default SQLite layout but swaps in `BatchedSqliteEventLogStorage`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

DEFAULT_DAGSTER_HOME = ".dagster_home"


def local_instance_yaml(home: Path) -> str:
    """The dagster.yaml of a local instance under `home` (absolute paths: it must work from any directory)."""
    return f"""# written by financial_assets (financial_assets/runs/instance.py); edit freely, it is not rewritten
telemetry:
  enabled: false
event_log_storage:
  module: financial_assets.runs.event_log_storage
  class: BatchedSqliteEventLogStorage
  config:
    base_dir: {home / "history" / "runs"}
"""


def project_instance() -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME (created with the project's dagster.yaml when missing)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve()))).resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(local_instance_yaml(home))
    return dg.DagsterInstance.get()
