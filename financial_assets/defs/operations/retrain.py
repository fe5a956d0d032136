"""drift_retrain_sensor: one alert per drift event, and retraining runs of the stage job that trains the models.

It reads drift_check's newest finished evaluation (a failed non-blocking check does not fail its run,
so no run-failure sensor sees it). That evaluation lists every ticker whose newest drift report is at
ERROR (see `defs/drift/checks.py`). A **drift event** is a ticker at ERROR under one champion: it
opens when the ticker first reaches ERROR under that champion, and closes when the ticker's newest
report is no longer at ERROR. Per event the sensor alerts once and requests one run of cv_folds,
trained_model and their downstream assets at the event's date, unless the ticker was retrained fewer
than the cooldown's sessions before; while the event stays open (a retrained model kept as challenger
leaves the champion, and the drift, in place), it requests another run, with an alert, once the
cooldown has passed. A retraining run recomputes the report of the date it retrains, with the same
champion: that is the same event, never a second alert. An alert says "retraining requested" only when
the request is new: a run of the same run key (after a cursor reset) is named instead. State lives in
the cursor, so a daemon restart neither repeats nor loses an event; an alert already recorded on the
partition (the observation the sensor writes) is not sent again after a cursor reset.

The runs belong to the stage job that holds trained_model (its name is derived from the asset graph in
`definitions.py`), so `retrain_automation(jobs)` builds the sensor from the stage jobs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import dagster as dg

from financial_assets.alerts import Alert, AlertDeliveryError
from financial_assets.defs.drift.checks import CHECK_KEY, DriftError, drift_errors
from financial_assets.defs.operations.resources import AlertsResource, RetrainResource
from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, session_keys
from financial_assets.runs.stages import STAGE_TAG

SENSOR = "drift_retrain_sensor"
#: the tags Dagster puts on a run a sensor requested with a run key
RUN_KEY_TAG, SENSOR_NAME_TAG = "dagster/run_key", "dagster/sensor_name"
#: the run tag of a retraining run: the partition DATE|TICKER it retrains
RETRAIN_TAG = "financial_assets/retrain"
REASONS_TAG = "financial_assets/retrain_reasons"
RETRAINED = dg.AssetSelection.assets("cv_folds").downstream()
ALERT_KEY = "alert"


@dataclass
class DriftEvent:
    """A ticker at ERROR under one champion: since when, last seen, alerted, and its last retraining request."""

    model: str
    opened: str  # first ERROR date of the event
    seen: str  # newest ERROR date seen
    requested: str | None = None  # date of the event's last retraining request


@dataclass
class RetrainCursor:
    """Newest drift_check record read, the open events, and each ticker's last retraining request (the cooldown)."""

    check_id: int = 0
    events: dict[str, dict] = field(default_factory=dict)  # ticker -> DriftEvent fields
    requested: dict[str, str] = field(default_factory=dict)  # ticker -> session of its last retraining request

    @classmethod
    def parse(cls, text: str | None) -> RetrainCursor:
        """The cursor a tick stored, or a fresh one."""
        return cls(**json.loads(text)) if text else cls()

    def dumps(self) -> str:
        """JSON for the sensor cursor."""
        return json.dumps(asdict(self), sort_keys=True)


def newest_evaluation(instance: dg.DagsterInstance, after: int) -> tuple[int, list[DriftError]] | None:
    """(record id, ERROR tickers) of drift_check's newest finished evaluation with an id above `after`, else None."""
    for record in instance.event_log_storage.get_asset_check_execution_history(CHECK_KEY, limit=20):
        if record.id <= after:
            return None
        if record.status.value in ("SUCCEEDED", "FAILED"):
            return record.id, drift_errors(record.event.dagster_event.event_specific_data)
    return None


def sessions_between(earlier: str, later: str) -> int:
    """Sessions after `earlier` up to `later` (negative when `later` comes first)."""
    if later < earlier:
        return -len(session_keys(start=later, end=earlier)) + 1
    return len(session_keys(start=earlier, end=later)) - 1


def _existing_run(instance: dg.DagsterInstance, run_key: str) -> dg.DagsterRun | None:
    """A run this sensor already launched under `run_key` (the daemon would skip a new request of it)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: SENSOR}), limit=1)
    return runs[0] if runs else None


def _already_alerted(instance: dg.DagsterInstance, partition: str) -> bool:
    """Whether this sensor recorded an alert on drift_report partition `partition` (it survives cursor resets)."""
    records = instance.fetch_observations(dg.AssetRecordsFilter(asset_key=CHECK_KEY.asset_key,
                                                               asset_partitions=[partition]), limit=5).records
    return any(ALERT_KEY in (r.asset_observation.metadata if r.asset_observation else {}) for r in records)


def _alert(error: DriftError, headline: str, decision: str) -> Alert:
    links = f" Champion {error.model}: {error.champion_run}." if error.champion_run else f" Champion {error.model}."
    return Alert(kind="drift", severity="critical", ticker=error.ticker, date=error.date,
                 message=f"{headline}: {', '.join(error.reasons)}; {len(error.drifted_features)} drifted feature(s). "
                 f"{decision}.{links}", drifted_features=error.drifted_features, report_url=error.report,
                 numbers=error.numbers)


def drift_retrain_sensor(stage: dg.UnresolvedAssetJobDefinition, assets: Sequence[dg.AssetKey]) -> dg.SensorDefinition:
    """The sensor over drift_check that alerts per drift event and requests runs of `assets` (retrained) in `stage`."""

    @dg.sensor(
        name=SENSOR,
        jobs=[stage],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"One alert per drift event (a ticker at drift_check ERROR under one champion: dataset drift or "
        f"decay beyond its interval) naming its date, drifted features, report and champion, and one retraining run "
        f"of {stage.name} (cv_folds, trained_model and their downstream assets) at that date|ticker, unless the ticker "
        "was retrained fewer than FA_RETRAIN_COOLDOWN_SESSIONS sessions before; while the event lasts, another run "
        "(and alert) once the cooldown has passed. A retraining run's own report of the same date alerts nothing. The "
        "new model is registered as challenger unless the promotion rule says otherwise.",
    )
    def evaluate(context: dg.SensorEvaluationContext, alerts: AlertsResource,
                 retrain: RetrainResource) -> dg.SensorResult | dg.SkipReason:
        cursor = RetrainCursor.parse(context.cursor)
        found = newest_evaluation(context.instance, cursor.check_id)
        if found is None:
            return dg.SkipReason("no new drift_check evaluation")
        cursor.check_id, errors = found
        current = {e.ticker: e for e in errors}
        closed = sorted(set(cursor.events) - set(current))
        for ticker in closed:
            del cursor.events[ticker]
        requests, observations, sent = [], [], []
        for ticker, error in sorted(current.items()):
            event = DriftEvent(**cursor.events[ticker]) if ticker in cursor.events else None
            if event is not None and event.model == error.model:
                if error.date <= event.seen:
                    continue  # the same report again (a retraining run recomputed it), or an older one
                event.seen = error.date
                due = event.requested is None or sessions_between(event.requested, error.date) >= \
                    retrain.cooldown_sessions
                cursor.events[ticker] = asdict(event)
                if not due:
                    continue
                headline = f"drift persists since {event.opened} under {error.model}"
            else:
                event = DriftEvent(model=error.model, opened=error.date, seen=error.date)
                headline = "drift_check failed"
            partition = f"{error.date}|{ticker}"
            decision, request = _decide(context.instance, error, cursor, retrain.cooldown_sessions, stage.name, assets)
            if request is not None:
                requests.append(request)
                cursor.requested[ticker] = event.requested = error.date
            cursor.events[ticker] = asdict(event)
            if _already_alerted(context.instance, partition):
                context.log.info(f"{ticker} {error.date}: already alerted; {decision}")
                continue
            alert = _alert(error, headline, decision)
            try:
                where = alerts.send(alert)
            except AlertDeliveryError as failure:
                context.log.error(str(failure))
                where = f"not delivered: {failure}"
            context.log.info(f"{alert.title()}: {alert.message} (sent to {where})")
            sent.append(f"{alert.title()} ({decision})")
            observations.append(dg.AssetObservation(asset_key=CHECK_KEY.asset_key, partition=partition, metadata={
                ALERT_KEY: dg.MetadataValue.text(f"{alert.title()}: {alert.message}"),
                "alert_sent_to": dg.MetadataValue.text(where), "retraining": dg.MetadataValue.text(decision),
                "report": dg.MetadataValue.url(error.report)}))
        if requests:
            return dg.SensorResult(run_requests=requests, asset_events=observations, cursor=cursor.dumps())
        summary = "; ".join(sent) if sent else "no new drift event"
        if closed:
            summary += f"; drift cleared for {', '.join(closed)}"
        return dg.SensorResult(skip_reason=f"{len(sent)} alert(s) sent, no retraining run requested: {summary}",
                               asset_events=observations, cursor=cursor.dumps())

    return evaluate


def _decide(instance: dg.DagsterInstance, error: DriftError, cursor: RetrainCursor, cooldown: int, job_name: str,
            assets: Sequence[dg.AssetKey]) -> tuple[str, dg.RunRequest | None]:
    """What to do about `error`: the alert's retraining sentence and the run request (None: no new run)."""
    ticker, partition = error.ticker, f"{error.date}|{error.ticker}"
    last = cursor.requested.get(ticker)
    if last is not None and sessions_between(last, error.date) < cooldown:
        return (f"No retraining: {ticker} was retrained at {last}, within the cooldown of {cooldown} sessions",
                None)
    run_key = f"retrain:{partition}"
    existing = _existing_run(instance, run_key)
    if existing is not None:
        return f"No new retraining: run {existing.run_id[:8]} already retrained {partition}", None
    return f"Retraining requested at {partition} ({job_name})", dg.RunRequest(
        run_key=run_key, job_name=job_name, asset_selection=list(assets),
        tags={RANGE_START_TAG: partition, RANGE_END_TAG: partition, RETRAIN_TAG: partition,
              REASONS_TAG: ",".join(error.reasons)})


def retrain_automation(jobs: Sequence[dg.UnresolvedAssetJobDefinition], families: dg.Definitions) -> dg.Definitions:
    """The retraining sensor over the stage job (of `runs.stages.stage_jobs`) that holds trained_model."""
    graph = families.resolve_asset_graph()
    retrained = RETRAINED.resolve(graph)
    for job in sorted(jobs, key=lambda j: int(j.tags[STAGE_TAG])):
        keys = job.selection.resolve(graph)
        if dg.AssetKey("trained_model") in keys:
            return dg.Definitions(sensors=[drift_retrain_sensor(job, sorted(k for k in keys if k in retrained))])
    raise ValueError("no stage job holds trained_model")
