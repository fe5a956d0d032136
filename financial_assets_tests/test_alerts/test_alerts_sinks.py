"""Alert sinks against a recording HTTP server on loopback, the JSONL log, and the sink spec factory."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from financial_assets.alerts import (
    DEFAULT_LOG,
    Alert,
    AlertDeliveryError,
    JsonlSink,
    SlackSink,
    WebhookSink,
    make_sinks,
    send_alert,
)

ALERT = Alert(
    kind="drift",
    severity="warning",
    ticker="AAPL",
    date=dt.date(2024, 1, 2),
    message="dataset drift: 3 of 8 features drifted",
    drifted_features=("rv_20", "rsi_14", "bb_width_20"),
    report_url="http://dagster.local/assets/drift_report/2024-01-02|AAPL",
    numbers={"drifted_share": 0.375, "realized_auc": float("nan")},
)


class Recorder:
    """A loopback HTTP server that records every POST and answers with the queued status codes (then 200)."""

    def __init__(self, statuses: list[int] | None = None):
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.requests.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                          "json": json.loads(body)})
                status = recorder.statuses.pop(0) if recorder.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"server exploded")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Recorder:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def test_webhook_posts_the_alert_as_json(recorder: Recorder) -> None:
    WebhookSink(f"{recorder.url}/hook").send(ALERT)
    [request] = recorder.requests
    assert request["path"] == "/hook" and request["content_type"] == "application/json"
    body = request["json"]
    assert (body["kind"], body["ticker"], body["date"]) == ("drift", "AAPL", "2024-01-02")
    assert body["drifted_features"] == ["rv_20", "rsi_14", "bb_width_20"]
    assert body["report_url"] == ALERT.report_url
    assert body["numbers"] == {"drifted_share": 0.375, "realized_auc": None}


def test_slack_payload_names_ticker_date_features_and_link(recorder: Recorder) -> None:
    SlackSink(f"{recorder.url}/services/T000/B000/XXXX").send(ALERT)
    [request] = recorder.requests
    payload = request["json"]
    assert payload["text"].startswith("[WARNING] drift AAPL 2024-01-02: dataset drift")
    assert [b["type"] for b in payload["blocks"]][:3] == ["header", "section", "section"]
    text = json.dumps(payload["blocks"])
    for needle in ("AAPL", "2024-01-02", "rv_20, rsi_14, bb_width_20", f"<{ALERT.report_url}|Open the report>",
                   "drifted_share = 0.375"):
        assert needle in text


def test_server_errors_are_retried_then_raised_clearly() -> None:
    with Recorder(statuses=[500, 500, 500]) as server:
        sink = WebhookSink(f"{server.url}/secret/path", retries=2, backoff=0.01)
        with pytest.raises(AlertDeliveryError) as raised:
            send_alert(ALERT, [sink])
    assert len(server.requests) == 3
    message = str(raised.value)
    assert "[alert_delivery] ticker='AAPL' date=2024-01-02 kind=drift" in message
    assert "failed after 3 attempts: HTTP 500: server exploded" in message
    assert "secret" not in message  # webhook paths are credentials


def test_a_transient_error_is_retried_and_then_delivered() -> None:
    with Recorder(statuses=[503]) as server:
        send_alert(ALERT, [WebhookSink(server.url, retries=2, backoff=0.01)])
    assert len(server.requests) == 2


def test_client_errors_are_not_retried() -> None:
    with Recorder(statuses=[404]) as server:
        with pytest.raises(AlertDeliveryError, match="refused after 1 attempt"):
            send_alert(ALERT, [SlackSink(server.url, retries=3, backoff=0.01)])
    assert len(server.requests) == 1


def test_an_unreachable_server_is_reported_and_other_sinks_still_deliver(tmp_path: Path) -> None:
    with Recorder() as server:
        dead = server.url
    log = tmp_path / "alerts.jsonl"
    failure = r"1 of 2 sink\(s\) failed: webhook:http://127\.0\.0\.1:\d+/….*ConnectionError"
    with pytest.raises(AlertDeliveryError, match=failure):
        send_alert(ALERT, [WebhookSink(f"{dead}/x", retries=1, backoff=0.01, timeout=1), JsonlSink(log)])
    assert json.loads(log.read_text())["ticker"] == "AAPL"


def test_jsonl_log_appends_one_alert_per_line(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "nested" / "alerts.jsonl")
    send_alert(ALERT, [sink])
    send_alert(Alert("retrain", "info", "AAPL", "2024-01-03", "retrain requested"), [sink])
    lines = [json.loads(line) for line in sink.path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["drift", "retrain"]
    assert lines[0]["drifted_features"] == list(ALERT.drifted_features) and lines[1]["date"] == "2024-01-03"


def test_sinks_from_a_spec_string(tmp_path: Path) -> None:
    spec = (f"jsonl:{tmp_path}/a.jsonl, webhook:http://127.0.0.1:9/hook?a=1,b=2,"
            "slack:https://hooks.slack.com/services/T/B/C")
    sinks = make_sinks(spec, retries=1)
    assert [type(s) for s in sinks] == [JsonlSink, WebhookSink, SlackSink]
    assert sinks[0].path == tmp_path / "a.jsonl"
    assert sinks[1].url == "http://127.0.0.1:9/hook?a=1,b=2" and sinks[1].retries == 1
    assert str(sinks[2]) == "slack:https://hooks.slack.com/…"
    assert make_sinks("", data_dir=tmp_path) == [JsonlSink(tmp_path / DEFAULT_LOG)]
    with pytest.raises(ValueError, match="must be one of jsonl:<target>"):
        make_sinks("email:ops@example.com")
    with pytest.raises(ValueError, match="needs data_dir"):
        make_sinks(None)


def test_alert_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        Alert("oops", "info", "AAPL", "2024-01-02", "x")
    with pytest.raises(ValueError, match="severity must be one of"):
        Alert("drift", "loud", "AAPL", "2024-01-02", "x")
    assert Alert("run_failure", "critical", None, None, "run 42 failed").title() == "[CRITICAL] run_failure"
