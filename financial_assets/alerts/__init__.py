"""Alerts: drift, retrain, run-failure, freshness and data-quality alerts sent to a JSONL log, a webhook or Slack."""

from financial_assets.alerts.alert import KINDS, SEVERITIES, Alert
from financial_assets.alerts.factory import DEFAULT_LOG, AlertDeliveryError, make_sinks, send_alert
from financial_assets.alerts.http import DeliveryError
from financial_assets.alerts.sinks import JsonlSink, Sink, SlackSink, WebhookSink, slack_payload

__all__ = [
    "DEFAULT_LOG",
    "KINDS",
    "SEVERITIES",
    "Alert",
    "AlertDeliveryError",
    "DeliveryError",
    "JsonlSink",
    "Sink",
    "SlackSink",
    "WebhookSink",
    "make_sinks",
    "send_alert",
    "slack_payload",
]
