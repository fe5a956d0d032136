"""The stage of every asset, known without loading the code location, so the command line refuses a wrong
selection in about a second.

Loading `financial_assets.definitions` imports every family's libraries (Evidently, Great Expectations,
MLflow, torch ...) and takes 6 to 17 s. The asset graph changes only with the code, so its stages are
kept in a cache file per version of the code: the file name holds a hash of the path, size and
modification time of every Python file of the package and every file of the SQL models folder (SQL
models are assets too). Any changed file means another name, and the graph is loaded again. The
cache lives in `$XDG_CACHE_HOME/financial_assets` (default `~/.cache`); where it cannot be written,
every call loads the graph.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

PACKAGE = Path(__file__).resolve().parents[2]
#: the SQL models folder (`sql_models.project.DEFAULT_MODELS_DIR`), named here to keep this module free of imports
SQL_MODELS = PACKAGE.parent / "dbt_like_sql"


@dataclass(frozen=True)
class AssetStage:
    """Where an asset runs: its stage job, the stage's position, and whether it is partitioned by ticker x date."""

    job: str
    index: int
    by_ticker: bool


def code_version() -> str:
    """A hash of the path, size and modification time of every file the asset graph is built from."""
    digest = hashlib.sha256(str(PACKAGE).encode())
    files = [*PACKAGE.rglob("*.py"), *(SQL_MODELS.rglob("*") if SQL_MODELS.is_dir() else [])]
    for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        stat = path.stat()
        digest.update(f"{path.relative_to(PACKAGE.parent)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "financial_assets" / f"stages-{code_version()}.json"


def stages_of(defs: dg.Definitions) -> dict[str, AssetStage]:
    """{asset name: its stage} of a loaded code location."""
    import dagster as dg

    from financial_assets.runs.stages import plan_stages

    return {key.to_user_string(): AssetStage(stage.job_name, stage.index,
                                             isinstance(stage.partitions_def, dg.MultiPartitionsDefinition))
            for stage in plan_stages(defs) for key in stage.asset_keys}


def remember(defs: dg.Definitions) -> dict[str, AssetStage]:
    """The stages of `defs`, written to the cache of this code version (silently skipped where it cannot be)."""
    stages = stages_of(defs)
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({name: asdict(stage) for name, stage in stages.items()}, sort_keys=True))
        tmp.replace(path)
        for older in path.parent.glob("stages-*.json"):  # other code versions
            if older != path:
                older.unlink(missing_ok=True)
    except OSError:
        pass
    return stages


def asset_stages() -> dict[str, AssetStage]:
    """{asset name: its stage}: from the cache of this code version, else from the loaded code location."""
    try:
        return {name: AssetStage(**fields) for name, fields in json.loads(_cache_file().read_text()).items()}
    except (OSError, ValueError, TypeError):
        from financial_assets.definitions import defs

        return remember(defs)
