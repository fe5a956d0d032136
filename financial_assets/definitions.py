"""The Dagster code location: every family from the defs folder, the stage jobs and the in-process executor."""

from pathlib import Path

from financial_assets.settings import apply_env_defaults

apply_env_defaults()

import dagster as dg  # noqa: E402

from financial_assets.runs.stages import stage_jobs  # noqa: E402


def _build() -> dg.Definitions:
    families = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # one process per run: the multiprocess executor costs about 3x on a range run of these assets
    return dg.Definitions.merge(families, dg.Definitions(jobs=stage_jobs(families), executor=dg.in_process_executor))


defs = _build()
