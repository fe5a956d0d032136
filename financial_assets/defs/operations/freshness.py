"""Freshness of validated_bars: each session's bars are due FA_FRESHNESS_GRACE_HOURS after its close.

`VALIDATED_BARS_FRESHNESS` is that rule as Dagster 1.13's `FreshnessPolicy.cron` (deadline = the
calendar's usual close + grace, in the exchange's time zone; a materialization since the close): a
policy sits on the asset itself, and `definitions.py` puts it there (`validated_bars` is the bars family's, see
the README), and a cron knows no holidays. `stale_tickers_sensor` applies the rule per ticker with the calendar
itself: a ticker is stale when its newest validated session is older than the newest session whose close plus
the grace has passed (within the partition set), and gets one alert per overdue session.
"""

import json

import dagster as dg
import pandas as pd

from financial_assets.alerts import Alert, AlertDeliveryError
from financial_assets.core.calendar import calendar_timezone, session_bounds
from financial_assets.defs.load_time import LOAD
from financial_assets.defs.operations.resources import AlertsResource
from financial_assets.defs.partitions import TICKERS_PARTITION_NAME, trading_date_partitions
from financial_assets.defs.resources import MarketResource

ASSET = "validated_bars"
GRACE = LOAD.freshness_grace


def deadline_cron(code: str, grace: pd.Timedelta, last: str) -> str:
    """A cron at the usual close + `grace`, local to the calendar, on the weekdays sessions close (60 before `last`)."""
    zone = calendar_timezone(code)
    start = (pd.Timestamp(last) - pd.Timedelta(days=90)).date().isoformat()
    due = (session_bounds(code, start, last)["close"].tail(60) + grace).dt.tz_convert(zone)
    hour, minute = due.dt.hour.mode().iloc[0], due.dt.minute.mode().iloc[0]
    days = sorted({(day + 1) % 7 for day in due.dt.weekday})  # cron counts Sunday as 0
    weekdays = "*" if len(days) == 7 else ",".join(map(str, days))
    return f"{minute} {hour} * * {weekdays}"


VALIDATED_BARS_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=deadline_cron(LOAD.calendar, GRACE, trading_date_partitions.get_last_partition_key()),
    lower_bound_delta=GRACE.to_pytimedelta(), timezone=calendar_timezone(LOAD.calendar))


def due_session(code: str, now: pd.Timestamp, grace: pd.Timedelta) -> str | None:
    """The newest date partition whose session closed at least `grace` before `now`."""
    last = min(pd.Timestamp(now).tz_convert(calendar_timezone(code)).date().isoformat(),
               trading_date_partitions.get_last_partition_key())
    start = (pd.Timestamp(last) - pd.Timedelta(days=10)).date().isoformat()
    closes = session_bounds(code, start, last)["close"]
    due = closes[closes + grace <= now]
    return due.index[-1].date().isoformat() if len(due) else None


def newest_sessions(instance: dg.DagsterInstance) -> dict[str, str]:
    """Each ticker's newest materialized validated_bars date."""
    newest: dict[str, str] = {}
    for key in instance.get_materialized_partitions(dg.AssetKey(ASSET)):
        day, _, ticker = str(key).partition("|")
        newest[ticker] = max(day, newest.get(ticker, day))
    return newest


@dg.sensor(minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Alerts once per overdue session for each registered ticker whose newest validated_bars "
           "session is older than the newest session closed FA_FRESHNESS_GRACE_HOURS ago (exchange calendar, "
           "holidays included), and records it as an observation of validated_bars.")
def stale_tickers_sensor(context: dg.SensorEvaluationContext, market: MarketResource,
                         alerts: AlertsResource) -> dg.SensorResult | dg.SkipReason:
    """Alert once per overdue session of each stale ticker and observe validated_bars."""
    now = pd.Timestamp.now(tz="UTC")
    due = due_session(market.calendar, now, GRACE)
    if due is None:
        return dg.SkipReason("no session is due yet")
    alerted = json.loads(context.cursor) if context.cursor else {}
    newest = newest_sessions(context.instance)
    observations = []
    for ticker in context.instance.get_dynamic_partitions(TICKERS_PARTITION_NAME):
        last = newest.get(ticker)
        if (last is not None and last >= due) or alerted.get(ticker) == due:
            continue
        alerted[ticker] = due
        alert = Alert(kind="freshness", severity="warning", ticker=ticker, date=due, report_url=alerts.asset_url(ASSET),
                      message=f"validated_bars is stale: the newest session is {last or 'none'}, {due} closed more "
                      f"than {GRACE.total_seconds() / 3600:g} h ago")
        try:
            sent = alerts.send(alert)
        except AlertDeliveryError as failure:
            context.log.error(str(failure))
            sent = f"not delivered: {failure}"
        observations.append(dg.AssetObservation(asset_key=ASSET, partition=f"{due}|{ticker}", metadata={
            "stale": dg.MetadataValue.text(alert.message), "alert_sent_to": dg.MetadataValue.text(sent)}))
    return dg.SensorResult(asset_events=observations, cursor=json.dumps(alerted, sort_keys=True))
