"""Stage jobs as a sensor or schedule sees them when it evaluates, and the nightly range run that fills a stage.

The stage jobs are derived from the whole asset graph in `definitions.py` (`runs/stages.py`) after
every family is loaded, so a family cannot target them when it is defined: the retraining sensor
finds its stage in `context.repository_def` by the stage tag and requests the stage's assets; the
nightly schedule and sensor are built from the stage jobs themselves (`nightly.py`).
"""

import bisect

import dagster as dg

from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TICKERS_PARTITION_NAME, session_keys
from financial_assets.labels.compute import HORIZONS, TripleBarrierConfig
from financial_assets.runs.stages import NIGHTLY_TAG, STAGE_TAG

#: a label is null until its horizon's bars exist: the labels of this many sessions up to a stage's newest date may
#: still mature (the longest horizon of the label definitions), so stages holding labels rerun them
MATURING_SESSIONS = max(*HORIZONS, TripleBarrierConfig().horizon)
#: assets whose rows carry labels that are null until their horizon completes
LABEL_ASSETS = frozenset({dg.AssetKey("labels"), dg.AssetKey("training_table")})


def loaded_stage_jobs(repository: dg.RepositoryDefinition) -> list[dg.JobDefinition]:
    """The stage jobs, first stage first."""
    jobs = [job for job in repository.get_all_jobs() if STAGE_TAG in job.tags]
    return sorted(jobs, key=lambda job: int(job.tags[STAGE_TAG]))


def stage_assets(job: dg.JobDefinition) -> list[dg.AssetKey]:
    """The assets a stage job materializes."""
    return sorted(job.asset_layer.selected_asset_keys)


def last_materialized(instance: dg.DagsterInstance, job: dg.JobDefinition) -> str | None:
    """The newest date any asset of the stage was materialized at (ISO), or None."""
    days = [str(key).split("|")[0] for asset in stage_assets(job)
            for key in instance.get_materialized_partitions(asset)]
    return max(days, default=None)


def catch_up_range(instance: dg.DagsterInstance, job: dg.JobDefinition, day: str) -> tuple[str, str] | None:
    """The sessions a nightly run of `job` for `day` covers; None when the stage already holds `day`.

    From the session after the stage's last materialized date L (the first partition when it has
    none), so missed nights are caught up in one run. A stage holding labels starts earlier: at the
    first of the MATURING_SESSIONS sessions ending at L, whose labels were computed without the bars
    of their horizon and mature with the sessions this run adds.
    """
    last = last_materialized(instance, job)
    if last is not None and last >= day:
        return None
    sessions = session_keys(end=day)
    done = bisect.bisect_right(sessions, last) if last is not None else 0  # sessions up to L, all before `day`
    if last is not None and LABEL_ASSETS & set(stage_assets(job)):
        done = max(done - MATURING_SESSIONS, 0)
    return sessions[done], day


def stage_tags(instance: dg.DagsterInstance, job: dg.JobDefinition, first: str, last: str, day: str) -> dict[str, str]:
    """The job's own tags, the partition range first...last (every registered ticker for ticker x date stages)
    and the nightly tag."""
    if isinstance(job.partitions_def, dg.MultiPartitionsDefinition):
        tickers = instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)
        first, last = f"{first}|{tickers[0]}", f"{last}|{tickers[-1]}"
    return {**job.tags, RANGE_START_TAG: first, RANGE_END_TAG: last, NIGHTLY_TAG: day}

