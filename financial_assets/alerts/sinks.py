"""Where alerts go: a local JSONL log (the default), a generic JSON webhook, a Slack incoming webhook."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from financial_assets.alerts.alert import Alert
from financial_assets.alerts.http import post_json, redact


class Sink(Protocol):
    """Anything that delivers an alert or raises."""

    def send(self, alert: Alert) -> None:
        """Deliver `alert`; raise on failure."""


@dataclass(frozen=True)
class JsonlSink:
    """Append one JSON object per line to `path`, creating its folder."""

    path: Path

    def send(self, alert: Alert) -> None:
        """Append `alert.to_dict()` as one line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(alert.to_dict()) + "\n")

    def __str__(self) -> str:
        return f"jsonl:{self.path}"


@dataclass(frozen=True)
class WebhookSink:
    """POST `alert.to_dict()` as JSON to `url`."""

    url: str
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5

    def send(self, alert: Alert) -> None:
        """POST the alert, retrying per `post_json`."""
        post_json(self.url, alert.to_dict(), timeout=self.timeout, retries=self.retries, backoff=self.backoff)

    def __str__(self) -> str:
        return f"webhook:{redact(self.url)}"


@dataclass(frozen=True)
class SlackSink:
    """POST a Slack incoming-webhook message (`text` fallback plus Block Kit blocks) to `url`.

    Plain requests rather than dagster-slack: that resource posts with a bot token through the Web API
    and needs Dagster; an incoming webhook is one JSON POST, and this package knows nothing of Dagster.
    """

    url: str
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5

    def send(self, alert: Alert) -> None:
        """POST `slack_payload(alert)`, retrying per `post_json`."""
        post_json(self.url, slack_payload(alert), timeout=self.timeout, retries=self.retries, backoff=self.backoff)

    def __str__(self) -> str:
        return f"slack:{redact(self.url)}"


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack's webhook body: a header, the message, ticker/date/kind fields, features, numbers, the link."""
    fields = [f"*Ticker*\n{alert.ticker or '—'}", f"*Date*\n{alert.day or '—'}", f"*Kind*\n{alert.kind}",
              f"*Severity*\n{alert.severity}"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title()[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:3000]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if alert.drifted_features:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "*Drifted features*: " + ", ".join(alert.drifted_features)}})
    if alert.numbers:
        numbers = ", ".join(f"{k} = {v:.4g}" for k, v in alert.numbers.items())
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": numbers[:3000]}]})
    if alert.report_url:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{alert.report_url}|Open the report>"}})
    text = f"{alert.title()}: {alert.message}"
    if alert.report_url:
        text += f" {alert.report_url}"
    return {"text": text, "blocks": blocks}
