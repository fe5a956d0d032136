"""Alerts on finished runs: every failed run, and the outcome of each retraining run (promoted or not, with numbers).

Each alert also tags its run (`financial_assets/alert`), so the UI shows what was sent and where.
"""

import dagster as dg
import pandas as pd

from financial_assets.alerts import Alert, AlertDeliveryError
from financial_assets.defs.operations.resources import AlertsResource
from financial_assets.defs.operations.retrain import RETRAIN_TAG
from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from financial_assets.defs.resources import LakeResource

ALERT_TAG = "financial_assets/alert"
PARTITION_TAG = "dagster/partition"


def run_subject(tags: dict[str, str]) -> tuple[str | None, str | None]:
    """(ticker, date) a run concerns: its partition, else its range's ticker (when one) and last date."""
    first = tags.get(PARTITION_TAG) or tags.get(RANGE_START_TAG) or ""
    last = tags.get(PARTITION_TAG) or tags.get(RANGE_END_TAG)
    if last is None:
        return None, None
    day, _, ticker = last.partition("|")
    return (ticker if ticker and first.partition("|")[2] == ticker else None), day


def _deliver(context: dg.RunStatusSensorContext, alerts: AlertsResource, alert: Alert) -> None:
    """Send `alert` and tag its run with it; a failed delivery is logged and tagged, never lost silently."""
    try:
        sent = f"{alert.kind} alert sent to {alerts.send(alert)}"
    except AlertDeliveryError as failure:
        context.log.error(str(failure))
        sent = f"{alert.kind} alert not delivered: {failure}"
    context.instance.add_run_tags(context.dagster_run.run_id, {ALERT_TAG: sent})
    context.log.info(f"{alert.title()}: {alert.message}")


def _root_cause(context: dg.RunFailureSensorContext) -> str:
    """The first failed step and the innermost cause of its error, else the run's failure message."""
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error
        while error.cause is not None:
            error = error.cause
        return f"{event.step_key}: {error.message.strip()}"
    return context.failure_event.message or "the run failed before any step ran"


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Alerts on every failed run: job, partitions, the failing step's root cause and a "
                       "link to the run.")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    """Alert on a failed run: its job, partitions, root cause and link."""
    run = context.dagster_run
    ticker, day = run_subject(run.tags)
    span = run.tags.get(PARTITION_TAG) or f"{run.tags.get(RANGE_START_TAG)}...{run.tags.get(RANGE_END_TAG)}"
    _deliver(context, alerts, Alert(kind="run_failure", severity="critical", ticker=ticker, date=day,
                                    message=f"run {run.run_id[:8]} of {run.job_name} over {span} failed: "
                                    f"{_root_cause(context)}", report_url=alerts.run_url(run.run_id)))


def _outcome(rows: pd.DataFrame, ticker: str, day: str, run_url: str, alerts: AlertsResource) -> Alert:
    """What a retraining run produced: each model's alias, the promotion rule's reason, its OOS numbers, and links to
    the best model's MLflow run (the alert's link) and the Dagster run."""
    if rows.empty:
        return Alert(kind="retrain", severity="warning", ticker=ticker, date=day, report_url=run_url,
                     message="retraining produced no model (see the run's trained_model and cv_folds logs)")
    decision = {"champion": "promoted to champion", "challenger": "kept as challenger"}
    lines = [f"{r.model_type} v{r.model_version} {decision[r.alias]}: {r.promotion_reason}" for r in rows.itertuples()]
    best = rows.sort_values("oos_auc").iloc[-1]
    mlflow = alerts.mlflow_run_url(best["mlflow_run_id"]) if isinstance(best.get("mlflow_run_id"), str) else None
    return Alert(kind="retrain", severity="info", ticker=ticker, date=day,
                 message="; ".join(lines) + f". Run: {run_url}", report_url=mlflow or run_url,
                 numbers={k: float(best[k]) for k in ("oos_auc", "oos_auc_ci_low", "oos_auc_ci_high")})


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Alerts on each finished retraining run: promoted or kept as challenger, the "
                      "promotion rule's comparison and the new model's OOS AUC and interval.")
def retrain_outcome_sensor(context: dg.RunStatusSensorContext, alerts: AlertsResource,
                           lake: LakeResource) -> dg.SkipReason | None:
    """Alert on a finished retraining run: what was promoted or kept, and its OOS numbers."""
    partition = context.dagster_run.tags.get(RETRAIN_TAG)
    if partition is None:
        return dg.SkipReason("not a retraining run")
    day, _, ticker = partition.partition("|")
    rows = lake.read("trained_model", [ticker], start=day, end=day)
    _deliver(context, alerts, _outcome(rows, ticker, day, alerts.run_url(context.dagster_run.run_id), alerts))
    return None
