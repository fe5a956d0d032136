"""The Dagster code location: every family from the defs folder, the policies that cut across them, the stage jobs and
the in-process executor (`runs/executor.py`)."""

from pathlib import Path

from financial_assets.settings import apply_env_defaults

apply_env_defaults()

import dagster as dg  # noqa: E402

from financial_assets.defs.operations.freshness import ASSET as FRESHNESS_ASSET  # noqa: E402
from financial_assets.defs.operations.freshness import VALIDATED_BARS_FRESHNESS  # noqa: E402
from financial_assets.defs.operations.nightly import nightly_automation  # noqa: E402
from financial_assets.defs.operations.retrain import retrain_automation  # noqa: E402
from financial_assets.defs.resources import check_run_settings  # noqa: E402
from financial_assets.runs.executor import in_process_as_of_run_start  # noqa: E402
from financial_assets.runs.stages import stage_jobs  # noqa: E402


def _build() -> dg.Definitions:
    families = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # policies that cut across families are applied here, at the root, so no family imports another for them (the
    # permissive map, as dagster-open-platform does: `map_resolved_asset_specs` is the same call plus a preview warning)
    families = families.permissive_map_resolved_asset_specs(
        func=lambda spec: spec.replace_attributes(freshness_policy=VALIDATED_BARS_FRESHNESS),
        selection=dg.AssetSelection.assets(FRESHNESS_ASSET))
    jobs = stage_jobs(families)
    # the run-time settings are read again when each run starts; checking them now fails the load on a typo
    check_run_settings(families.resources or {})
    # one process per run: the multiprocess executor costs about 3x on a range run of these assets; the nightly
    # schedule, its stage sensor and the retraining sensor name the stage jobs, which exist only once the families
    # are loaded
    return dg.Definitions.merge(families, dg.Definitions(jobs=jobs, executor=in_process_as_of_run_start),
                                nightly_automation(jobs), retrain_automation(jobs, families))


defs = _build()
