"""JSON POST with a timeout and retries with exponential backoff; failures raise, they are never dropped."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import requests


class DeliveryError(RuntimeError):
    """A POST failed for good: every attempt errored, or the server refused the payload (4xx)."""


def redact(url: str) -> str:
    """`scheme://host/…`: webhook paths (Slack's above all) are secrets and must not reach logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") else f"{parts.scheme}://{parts.netloc}"


def _scrub(text: str, url: str) -> str:
    """`text` with the URL's secret path replaced (requests quotes it in connection errors)."""
    path = urlsplit(url).path
    return text.replace(path, "/…") if path not in ("", "/") else text


def post_json(url: str, payload: Any, *, timeout: float, retries: int, backoff: float) -> requests.Response:
    """POST `payload` as JSON; retry connection errors, timeouts, 429 and 5xx `retries` times.

    Waits `backoff * 2**k` seconds before retry k+1. Other 4xx answers fail at once: resending the
    same payload cannot fix them. Raises DeliveryError naming the redacted URL, attempts and last answer.
    """
    attempts = retries + 1
    last = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = requests.post(url, json=payload, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            last = f"{type(error).__name__}: {_scrub(str(error), url)}"
            continue
        if response.ok:
            return response
        last = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code != 429 and response.status_code < 500:
            raise DeliveryError(f"POST {redact(url)} refused after {attempt + 1} attempt(s): {last}")
    raise DeliveryError(f"POST {redact(url)} failed after {attempts} attempts: {last}")
