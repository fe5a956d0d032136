"""Jobs derived from the asset graph: one per stage of assets that share a partitions definition.

A range of the whole graph cannot be one Dagster run when partitionings alternate (ticker x date
bars feed date-only SQL models, which feed ticker x date models), so the graph is cut where the
partitioning changes: a stage holds every asset whose partitioned ancestors in the same
partitioning are in that stage. Adding a family adds its assets to the right stage; no job is
kept by hand. The jobs carry `DEFER_TAGS` (see `financial_assets.runs.internals`).

A stage job's name is fixed by its position (`STAGE_JOB_NAMES`), not by the groups it holds: adding
a family renames no job, so a deployment keeps its run history and the nightly run keys. A name starts
with the stage's number: the UI's Materialize button launches the first of an asset's jobs in sorted
order, and a digit sorts before Dagster's implicit `__ASSET_JOB`, so a run launched from the UI runs in
(and is listed under) the asset's stage job.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from financial_assets.runs.internals import DEFER_TAGS

STAGE_TAG = "financial_assets/stage"
#: the run tag of every nightly run: the session it brings the graph up to (models then train on the calendar only)
NIGHTLY_TAG = "financial_assets/nightly"
#: the stage jobs by position: ticker x date bars to labels, date-only SQL models, ticker x date models onwards
BARS_JOB, SQL_MODELS_JOB, MODELS_JOB = STAGE_JOB_NAMES = (
    "1_bars_features_labels_job", "2_sql_models_job", "3_models_backtest_drift_job")


@dataclass(frozen=True)
class Stage:
    """Assets run together as one job: same partitions definition, in dependency order."""

    index: int
    partitions_def: dg.PartitionsDefinition | None
    asset_keys: tuple[dg.AssetKey, ...]
    groups: tuple[str, ...]

    @property
    def job_name(self) -> str:
        """The stage's stable name, by position (`STAGE_JOB_NAMES`)."""
        if self.index > len(STAGE_JOB_NAMES):
            raise ValueError(f"stage {self.index} ({', '.join(self.groups)}) has no job name: the graph alternates "
                             f"partitionings more often than STAGE_JOB_NAMES names; add a name for it")
        return STAGE_JOB_NAMES[self.index - 1]


def plan_stages(defs: dg.Definitions) -> list[Stage]:
    """The graph's materializable assets cut into stages, upstream first."""
    graph = defs.resolve_asset_graph()
    level: dict[dg.AssetKey, int] = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        level[key] = max([1, *(level[p] + (graph.get(p).partitions_def != node.partitions_def)
                               for p in node.parent_keys if p in level)])
    buckets: dict[tuple[int, str], list[dg.AssetKey]] = {}
    for key in graph.toposorted_asset_keys:
        if key in level:
            buckets.setdefault((level[key], repr(graph.get(key).partitions_def)), []).append(key)
    stages = []
    for index, ((_, _), keys) in enumerate(sorted(buckets.items(), key=lambda kv: kv[0][0]), start=1):
        groups = tuple(dict.fromkeys(graph.get(k).group_name for k in keys))
        stages.append(Stage(index, graph.get(keys[0]).partitions_def, tuple(keys), groups))
    return stages


def stage_jobs(defs: dg.Definitions) -> list[dg.UnresolvedAssetJobDefinition]:
    """One asset job per stage, tagged with its position so runners take them in order."""
    return [
        dg.define_asset_job(
            stage.job_name,
            selection=dg.AssetSelection.assets(*stage.asset_keys),
            partitions_def=stage.partitions_def,
            tags={**DEFER_TAGS, STAGE_TAG: str(stage.index)},
            description=f"Stage {stage.index} of the graph: {', '.join(k.to_user_string() for k in stage.asset_keys)}. "
            "A range of partitions is one run.",
        )
        for stage in plan_stages(defs)
    ]
