"""Sinks from a spec string, and sending one alert to all of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from financial_assets.alerts.alert import Alert
from financial_assets.alerts.sinks import JsonlSink, Sink, SlackSink, WebhookSink

#: Where the default JSONL log lives, relative to the data folder.
DEFAULT_LOG = Path("alerts") / "alerts.jsonl"

_SCHEMES = ("jsonl", "webhook", "slack")
# Entries are separated by commas that start a new `scheme:`, so commas inside a URL survive.
_SPLIT = re.compile(rf",\s*(?=(?:{'|'.join(_SCHEMES)}):)")


class AlertDeliveryError(RuntimeError):
    """At least one sink failed; the message names the alert's ticker, date and kind, and each failure."""


def make_sinks(
    spec: str | None,
    *,
    data_dir: Path | str | None = None,
    timeout: float = 5.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> list[Sink]:
    """Sinks from `jsonl:<path>`, `webhook:<url>`, `slack:<webhook url>`, comma-separated.

    An empty spec means the local JSONL log `<data_dir>/alerts/alerts.jsonl`. `timeout`, `retries`
    and `backoff` apply to the HTTP sinks.
    """
    if not spec or not spec.strip():
        if data_dir is None:
            raise ValueError("an empty alert sink spec needs data_dir for the default JSONL log")
        return [JsonlSink(Path(data_dir) / DEFAULT_LOG)]
    sinks: list[Sink] = []
    for entry in _SPLIT.split(spec.strip()):
        scheme, _, target = entry.strip().partition(":")
        if scheme not in _SCHEMES or not target:
            raise ValueError(f"alert sink {entry!r} must be one of {', '.join(s + ':<target>' for s in _SCHEMES)}")
        if scheme == "jsonl":
            sinks.append(JsonlSink(Path(target)))
        elif scheme == "webhook":
            sinks.append(WebhookSink(target, timeout=timeout, retries=retries, backoff=backoff))
        else:
            sinks.append(SlackSink(target, timeout=timeout, retries=retries, backoff=backoff))
    return sinks


def send_alert(alert: Alert, sinks: Sequence[Sink]) -> None:
    """Send `alert` to every sink; a failing sink does not stop the others, and raises at the end."""
    failures = []
    for sink in sinks:
        try:
            sink.send(alert)
        except Exception as error:  # noqa: BLE001 - every failure is collected and raised below
            failures.append(f"{sink}: {error}")
    if failures:
        raise AlertDeliveryError(
            f"[alert_delivery] ticker={alert.ticker!r} date={alert.day or 'n/a'} kind={alert.kind}: "
            f"{len(failures)} of {len(sinks)} sink(s) failed: " + "; ".join(failures)
        )
