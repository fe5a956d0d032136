"""The nightly run: a schedule launches the first stage job for the session that closed that day, and a run-status
sensor launches each next stage job when the one before it succeeds.

One Dagster run cannot hold stages of different partitionings (ticker x date, date, ticker x date),
so the chain is a schedule plus a sensor on stage-run successes. Each stage catches up on its own:
its range starts the session after its newest materialized date (missed nights become one range run
per stage), and stages holding labels (labels, training_table) also rerun the MATURING_SESSIONS
sessions up to that date, whose labels matured with the new bars. Run keys are per session and
stage job, so nothing runs twice.

The stage jobs are derived in `definitions.py` from every family's assets, so a schedule in the
defs folder cannot name them: `stage_jobs(families)` builds the families' repository, and a schedule
naming a job it does not hold fails to load. `nightly_automation(jobs)` builds both from the stage
jobs, for `definitions.py` to merge.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from financial_assets.core.calendar import calendar_timezone, session_bounds
from financial_assets.defs.load_time import LOAD
from financial_assets.defs.operations.stage_jobs import catch_up_range, stage_tags
from financial_assets.defs.partitions import TICKERS_PARTITION_NAME, trading_date_partitions
from financial_assets.runs.stages import NIGHTLY_TAG, STAGE_TAG

#: a job of `runs.stages.stage_jobs` (`define_asset_job`'s class, which Dagster does not export)
StageJob = Any


def closed_session(code: str, at: pd.Timestamp) -> str | None:
    """The session of calendar `code` whose close falls on `at`'s date in the calendar's time zone, by `at`."""
    zone = calendar_timezone(code)
    local = pd.Timestamp(at).tz_convert(zone)
    closes = session_bounds(code, (local - pd.Timedelta(days=7)).date().isoformat(), local.date().isoformat())["close"]
    today = closes[(closes <= local) & (closes.dt.tz_convert(zone).dt.date == local.date())]
    return today.index[-1].date().isoformat() if len(today) else None


def stage_request(instance: dg.DagsterInstance, job: dg.JobDefinition, day: str) -> dg.RunRequest | None:
    """The run of stage `job` that brings it up to session `day`; None when it already holds `day`."""
    span = catch_up_range(instance, job, day)
    if span is None:
        return None
    return dg.RunRequest(run_key=f"nightly:{day}:{job.name}", job_name=job.name,
                         tags=stage_tags(instance, job, *span, day))


def nightly_schedule(first: StageJob) -> dg.ScheduleDefinition:
    """The schedule launching stage job `first` after each session's close."""

    def evaluate(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        code = LOAD.calendar
        at = pd.Timestamp(context.scheduled_execution_time)
        day = closed_session(code, at)
        if day is None:
            return dg.SkipReason(f"no {code} session closed on {at:%Y-%m-%d} by {at:%H:%M %Z}: not a trading day")
        if not trading_date_partitions.has_partition_key(day):
            return dg.SkipReason(f"{day} is not a date partition (they end at "
                                 f"{trading_date_partitions.get_last_partition_key()}): reload the code location")
        if not context.instance.get_dynamic_partitions(TICKERS_PARTITION_NAME):
            return dg.SkipReason("no ticker is registered")
        request = stage_request(context.instance, context.repository_def.get_job(first.name), day)
        return request or dg.SkipReason(f"{first.name} already holds {day}")

    return dg.ScheduleDefinition(
        name="nightly_schedule", cron_schedule=LOAD.nightly_cron,
        execution_timezone=calendar_timezone(LOAD.calendar), job=first, execution_fn=evaluate,
        description=f"After the close (FA_NIGHTLY_CRON in the calendar's time zone): the session that closed that day, "
        f"for every registered ticker, through {first.name}; nightly_stage_sensor runs the next stages. Skips days "
        "without a session, sessions outside the partition set, and a stage that already holds the session.")


def nightly_stage_sensor(jobs: Sequence[StageJob]) -> dg.RunStatusSensorDefinition:
    """The run-status sensor launching stage job k + 1 when a nightly run of stage job k succeeds."""
    by_stage = {int(job.tags[STAGE_TAG]): job for job in jobs}

    @dg.run_status_sensor(
        name="nightly_stage_sensor", run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=list(jobs[:-1]),
        request_jobs=list(jobs[1:]), default_status=dg.DefaultSensorStatus.RUNNING,
        description="When a nightly stage run succeeds, launches the next stage job for the same session, over a "
        "range from that stage's own newest materialized date.")
    def evaluate(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        following = by_stage.get(int(run.tags.get(STAGE_TAG, 0)) + 1)
        day = run.tags.get(NIGHTLY_TAG)
        if following is None or day is None:
            return dg.SkipReason(f"run {run.run_id[:8]} is not a nightly run before the last stage")
        request = stage_request(context.instance, context.repository_def.get_job(following.name), day)
        return request or dg.SkipReason(f"{following.name} already holds {day}")

    return evaluate


def nightly_automation(jobs: Sequence[StageJob]) -> dg.Definitions:
    """The nightly schedule and stage sensor over the stage jobs (`runs.stages.stage_jobs`), first stage first."""
    ordered = sorted(jobs, key=lambda job: int(job.tags[STAGE_TAG]))
    return dg.Definitions(schedules=[nightly_schedule(ordered[0])], sensors=[nightly_stage_sensor(ordered)])
