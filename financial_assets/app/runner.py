"""The one range runner: the command line, the benchmarks and the tests run the graph through it.

A range of tickers x sessions becomes one run per stage (see `stages`): ticker x date stages run
the tickers in contiguous blocks of Dagster's ticker order (one block when all are wanted), date
stages run the sessions; tickers the first stage held back are left out of the later ones. A
stage whose run fails stops the stages after it, which are reported as skipped with the failed
stage named, never as failures of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TICKERS_PARTITION_NAME, session_keys
from financial_assets.runs.internals import launch_in_process
from financial_assets.runs.stages import Stage, plan_stages

#: Dagster's console log level for the project's commands: one line per partition event would bury the
#: summary, and the summary names every failure's cause; `--verbose` lowers it to show tracebacks
QUIET, VERBOSE = "CRITICAL", "WARNING"


@dataclass
class StageRun:
    """One run of one stage job, or a stage skipped because an earlier one failed."""

    job: str
    label: str
    status: str  # SUCCESS | FAILURE | SKIPPED
    seconds: float = 0.0
    run_id: str = ""
    materialized: dict[str, int] = field(default_factory=dict)   # asset -> partitions
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)  # asset:check -> (passed, severity)
    error: str = ""


@dataclass
class RangeSummary:
    """What one call of `run_range` did."""

    runs: list[StageRun] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """Whether every stage run succeeded."""
        return all(r.status == "SUCCESS" for r in self.runs)

    def partitions(self) -> dict[str, int]:
        """Partitions materialized per asset over every run."""
        out: dict[str, int] = {}
        for run in self.runs:
            for asset, n in run.materialized.items():
                out[asset] = out.get(asset, 0) + n
        return out


def register_tickers(instance: dg.DagsterInstance, tickers: list[str]) -> list[str]:
    """Add missing tickers to the dynamic partitions; return the full, ordered list Dagster knows."""
    known = instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)
    new = [t for t in tickers if t not in known]
    if new:
        instance.add_dynamic_partitions(TICKERS_PARTITION_NAME, new)
    return instance.get_dynamic_partitions(TICKERS_PARTITION_NAME)


def contiguous_blocks(order: list[str], wanted: set[str]) -> list[list[str]]:
    """The wanted tickers as runs of consecutive entries of Dagster's ticker order."""
    blocks: list[list[str]] = [[]]
    for ticker in order:
        if ticker in wanted:
            blocks[-1].append(ticker)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _ranges(stage: Stage, dates: list[str], blocks: list[list[str]]) -> list[tuple[str, str]]:
    if isinstance(stage.partitions_def, dg.MultiPartitionsDefinition):
        return [(f"{dates[0]}|{b[0]}", f"{dates[-1]}|{b[-1]}") for b in blocks]
    return [(dates[0], dates[-1])]


def run_range(defs: dg.Definitions, instance: dg.DagsterInstance, tickers: list[str], start: str, end: str,
              jobs: set[str] | None = None, console: str = QUIET,
              held_back: Callable[[], set[str]] | None = None) -> RangeSummary:
    """Materialize every stage (or the stages named in `jobs`) for `tickers` x sessions in [start, end].

    `held_back`, asked after the first stage, names the tickers it held back (a rejected file): the later
    ticker x date stages run the other tickers, which hold every partition of those tickers downstream.
    """
    dates = session_keys(start, end)
    if not dates:
        raise ValueError(f"no trading sessions between {start} and {end}")
    order = register_tickers(instance, tickers)
    blocks = contiguous_blocks(order, set(tickers))
    summary, failed = RangeSummary(), ""
    for stage in plan_stages(defs):
        if jobs is not None and stage.job_name not in jobs:
            continue
        if held_back is not None and stage.index > 1:
            blocks = contiguous_blocks(order, set(tickers) - held_back())
            held_back = None
        for first, last in _ranges(stage, dates, blocks):
            label = f"{first}...{last}"
            if failed:
                summary.runs.append(StageRun(stage.job_name, label, "SKIPPED", error=f"not run: {failed} failed"))
                continue
            summary.runs.append(launch(instance, stage.job_name, first, last, console=console))
            if summary.runs[-1].status != "SUCCESS":
                failed = f"{stage.job_name} {label}"
    return summary


def launch(instance: dg.DagsterInstance, job: str, first: str, last: str,
           asset_selection: frozenset[dg.AssetKey] | None = None, console: str = QUIET) -> StageRun:
    """Run `job` (or its `asset_selection`) over the partitions first...last as one run, and summarise the run."""
    began = time.perf_counter()
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last}
    config = {"loggers": {"console": {"config": {"log_level": console}}}}
    run = launch_in_process(instance, job, tags, config, asset_selection)
    outcome = StageRun(job, f"{first}...{last}", run.status.value, time.perf_counter() - began, run.run_id)
    materialized = instance.get_asset_partitions_for_run(run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    outcome.materialized = {key.to_user_string(): len(parts) for key, parts in materialized.items()}
    for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        outcome.checks[name] = (evaluation.passed, evaluation.severity.value)
    if run.status != dg.DagsterRunStatus.SUCCESS:
        outcome.error = _first_failure(instance, run.run_id)
    return outcome


def _first_failure(instance: dg.DagsterInstance, run_id: str) -> str:
    """The message of the run's first failed step, its root cause first: the cause, not a follow-on."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        error = record.event_log_entry.dagster_event.event_specific_data.error
        while error.cause is not None:
            error = error.cause
        return f"{record.event_log_entry.step_key}: {error.message.strip()}"
    return "the run failed before any step ran"
