"""drift_retrain_sensor: a failed drift_check alerts and retrains each failing ticker at its newest failing date.

It reads drift_check's execution records from the instance (a failed non-blocking check does not
fail its run, so no run-failure sensor sees it) and the ERROR partitions their metadata lists. Per
ticker, once per tick, the newest failing session D gets an alert and, outside the cooldown, one
run of cv_folds, trained_model and the assets downstream of them in their stage, for D|T alone: the
models family trains at any date in a single-date run, and its promotion rule decides whether the
new model replaces the champion. State lives in the cursor (records read, planned ones still
pending, each ticker's last request), so a daemon restart neither repeats nor loses a request; run
keys make a repeated request harmless anyway.
"""

import json
from dataclasses import asdict, dataclass, field

import dagster as dg

from financial_assets.alerts import Alert, AlertDeliveryError
from financial_assets.defs.drift.checks import CHECK_KEY, DriftError, drift_errors
from financial_assets.defs.operations.resources import AlertsResource, RetrainResource
from financial_assets.defs.operations.stage_jobs import loaded_stage_jobs, stage_assets
from financial_assets.runs.internals import DEFER_TAGS
from financial_assets.runs.runner import RANGE_END_TAG, RANGE_START_TAG, session_keys

#: the run tag of a retraining run: the partition DATE|TICKER it retrains
RETRAIN_TAG = "financial_assets/retrain"
REASONS_TAG = "financial_assets/retrain_reasons"
RETRAINED = dg.AssetSelection.assets("cv_folds").downstream()
#: check execution records read per query
PAGE = 100


@dataclass
class RetrainCursor:
    """Newest drift_check record read, records still planned (their run may yet fail the check), last requests."""

    check_id: int = 0
    pending: list[int] = field(default_factory=list)
    requested: dict[str, str] = field(default_factory=dict)  # ticker -> session of its last retraining request

    @classmethod
    def parse(cls, text: str | None) -> "RetrainCursor":
        """The cursor a tick stored, or a fresh one."""
        return cls(**json.loads(text)) if text else cls()

    def dumps(self) -> str:
        """JSON for the sensor cursor."""
        return json.dumps(asdict(self), sort_keys=True)


def new_errors(instance: dg.DagsterInstance, cursor: RetrainCursor) -> list[DriftError]:
    """ERROR partitions of drift_check evaluations not read yet, oldest first; advances `cursor` past them."""
    floor = min([cursor.check_id, *cursor.pending])
    records, before = [], None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(CHECK_KEY, limit=PAGE, cursor=before)
        fresh = [r for r in page if r.id > floor]
        records += fresh
        if len(fresh) < PAGE:
            break
        before = page[-1].id
    errors, pending = [], []
    for record in sorted(records, key=lambda r: r.id):
        if record.id <= cursor.check_id and record.id not in cursor.pending:
            continue
        if record.status.value == "PLANNED":
            run = instance.get_run_by_id(record.run_id)
            if run is not None and not run.is_finished:
                pending.append(record.id)
        elif record.status.value == "FAILED":
            errors += drift_errors(record.event.dagster_event.event_specific_data)
    cursor.check_id, cursor.pending = max([cursor.check_id, *(r.id for r in records)]), pending
    return errors


def sessions_between(earlier: str, later: str) -> int:
    """Sessions after `earlier` up to `later` (negative when `later` comes first)."""
    if later < earlier:
        return -len(session_keys(start=later, end=earlier)) + 1
    return len(session_keys(start=earlier, end=later)) - 1


def _retrained_assets(repository: dg.RepositoryDefinition) -> list[dg.AssetKey]:
    """cv_folds, trained_model and what depends on them in their stage."""
    downstream = RETRAINED.resolve(repository.asset_graph)
    stage = next(job for job in loaded_stage_jobs(repository) if dg.AssetKey("trained_model") in stage_assets(job))
    return [key for key in stage_assets(stage) if key in downstream]


def _alert(error: DriftError, decision: str) -> Alert:
    return Alert(kind="drift", severity="critical", ticker=error.ticker, date=error.date,
                 message=f"drift_check failed: {', '.join(error.reasons)}; {len(error.drifted_features)} drifted "
                 f"feature(s). {decision}.", drifted_features=error.drifted_features, report_url=error.report,
                 numbers=error.numbers)


@dg.sensor(
    asset_selection=RETRAINED,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="On a drift_check ERROR (dataset drift, or decay beyond the champion's interval): an alert per failing "
    "ticker naming its newest failing date, drifted features and report, and one retraining run of cv_folds, "
    "trained_model and their downstream assets at that date|ticker, unless the ticker was retrained fewer than "
    "FA_RETRAIN_COOLDOWN_SESSIONS sessions before. The new model is registered as challenger unless it beats the "
    "champion's interval.",
)
def drift_retrain_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource,
                         retrain: RetrainResource) -> dg.SensorResult:
    cursor = RetrainCursor.parse(context.cursor)
    newest: dict[str, DriftError] = {}
    for error in new_errors(context.instance, cursor):
        if error.ticker not in newest or error.date >= newest[error.ticker].date:
            newest[error.ticker] = error
    requests, observations = [], []
    assets = _retrained_assets(context.repository_def) if newest else []
    for ticker, error in sorted(newest.items()):
        last = cursor.requested.get(ticker)
        partition = f"{error.date}|{ticker}"
        if last is not None and sessions_between(last, error.date) < retrain.cooldown_sessions:
            decision = (f"No retraining: {ticker} was retrained at {last}, within the cooldown of "
                        f"{retrain.cooldown_sessions} sessions")
        else:
            decision = f"Retraining requested at {partition}"
            cursor.requested[ticker] = error.date
            requests.append(dg.RunRequest(run_key=f"retrain:{partition}", asset_selection=assets, tags={
                **DEFER_TAGS, RANGE_START_TAG: partition, RANGE_END_TAG: partition, RETRAIN_TAG: partition,
                REASONS_TAG: ",".join(error.reasons)}))
        alert = _alert(error, decision)
        try:
            sent = alerts.send(alert)
        except AlertDeliveryError as failure:
            context.log.error(str(failure))
            sent = f"not delivered: {failure}"
        context.log.info(f"{alert.title()}: {alert.message}")
        observations.append(dg.AssetObservation(asset_key="drift_report", partition=partition, metadata={
            "alert": dg.MetadataValue.text(f"{alert.title()}: {alert.message}"),
            "alert_sent_to": dg.MetadataValue.text(sent), "retraining": dg.MetadataValue.text(decision),
            "report": dg.MetadataValue.url(error.report)}))
    return dg.SensorResult(run_requests=requests, asset_events=observations, cursor=cursor.dumps())
