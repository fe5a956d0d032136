"""The artefacts folder over HTTP, so that a browser (from the Dagster UI, from a Slack alert) opens the drift reports.

    python -m financial_assets.defs.drift.report_server [--host 127.0.0.1] [--port 3030]

Serves FA_DATA_DIR/artifacts read-only (GET and HEAD, Python's `http.server`) at the address
FA_ARTIFACTS_URL names; the port defaults to that URL's. drift_report writes Evidently's HTML with the
run only for partitions at error: the first request of another partition's `report.html`
renders it from the lake (the same inputs and thresholds) and keeps it. Neither the UI nor this server
authenticates: bind loopback, or put an authenticating proxy in front (README, Security).
"""

from __future__ import annotations

import argparse
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd

from financial_assets.defs.drift.assets import ASSET, render_html
from financial_assets.defs.resources import LakeResource
from financial_assets.settings import apply_env_defaults, env

#: a drift report's HTML, relative to the artefacts folder: drift_report/<TICKER>/<YYYY-MM-DD>/report.html
RENDERABLE = re.compile(rf"^/{ASSET}/(?P<ticker>[^/]+)/(?P<day>\d{{4}}-\d{{2}}-\d{{2}})/report\.html$")


class OnDemand:
    """Renders a drift report's missing HTML from the lake, once, when its JSON summary exists."""

    def __init__(self, data_dir: str, window: int, performance_window: int):
        self.lake = LakeResource(data_dir=data_dir)
        self.window, self.performance_window = window, performance_window
        self.lock = threading.Lock()

    def __call__(self, ticker: str, day: pd.Timestamp) -> None:
        """Render and keep the HTML of `ticker`'s report of `day` when its JSON exists and it has none."""
        artifacts = self.lake.artifacts
        if not artifacts.path(ASSET, ticker, day, "report.json").is_file():
            return
        with self.lock:
            if artifacts.path(ASSET, ticker, day, "report.html").is_file():
                return
            html = render_html(self.lake, ticker, day, self.window, self.performance_window)
            if html is not None:
                artifacts.store(ASSET, ticker, day, "report.html", html)


class ArtifactHandler(SimpleHTTPRequestHandler):
    """Static files of the artefacts folder; a missing drift report HTML beside its JSON is rendered first."""

    def __init__(self, *args, render: OnDemand, **kwargs):
        self.render = render
        super().__init__(*args, **kwargs)

    def send_head(self):  # noqa: ANN201 - http.server's signature
        """Render a missing drift report HTML first, then serve the file as http.server does."""
        match = RENDERABLE.match(unquote(urlsplit(self.path).path))
        if match is not None:
            self.render(match["ticker"], pd.Timestamp(match["day"]))
        return super().send_head()


def serve(data_dir: str, host: str, port: int, window: int, performance_window: int) -> ThreadingHTTPServer:
    """A server (not yet serving) of `data_dir`'s artefacts on host:port; port 0 picks a free one."""
    root = Path(data_dir).resolve() / "artifacts"
    root.mkdir(parents=True, exist_ok=True)
    handler = partial(ArtifactHandler, directory=str(root), render=OnDemand(data_dir, window, performance_window))
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> None:
    """Serve the artefacts folder at FA_ARTIFACTS_URL's port (or --port) until interrupted."""
    apply_env_defaults()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=urlsplit(env("FA_ARTIFACTS_URL")).port or 80)
    args = parser.parse_args(argv)
    server = serve(env("FA_DATA_DIR"), args.host, args.port, int(env("FA_DRIFT_WINDOW")),
                   int(env("FA_DRIFT_PERFORMANCE_WINDOW")))
    print(f"serving {Path(env('FA_DATA_DIR')).resolve() / 'artifacts'} on http://{args.host}:{args.port} "
          f"(FA_ARTIFACTS_URL={env('FA_ARTIFACTS_URL')})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
