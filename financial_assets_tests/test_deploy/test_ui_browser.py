"""The Dagster UI in a real browser: Chromium from the distribution, driven by Playwright.

The project's command fills a temporary instance with every stage for 2 tickers over a little more
than two years (a folder of bars with a planted edge, so that a model serves; small model settings:
`RUN_SETTINGS`), the UI runs as `make ui` runs it (`dagster dev
-w workspace.yaml`, webserver and daemon), and the browser does what a user does: opens the asset
graph of the `bars` group, opens `validated_bars`, launches the materialization of one partition from
the Materialize dialog (a date and a ticker picked in the dialog), waits for the run to succeed, and
sees the partition as the asset's latest materialization; then opens `drift_report`, follows the
`report` metadata link of its latest materialization, served over HTTP by the report server, to the
Evidently HTML report and sees it rendered with the numbers of the report's JSON summary. Screenshots
of every step are kept under $FA_TEST_ARTIFACTS/test_ui_browser (or the test's tmp_path); the test prints where.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from financial_assets.runs.stages import BARS_JOB
from financial_assets_tests.fixtures.deploy.services import (
    BIN,
    CHROMIUM,
    CHROMIUM_FLAGS,
    ROOT,
    Services,
    free_port,
    graphql,
    location_loaded,
    require,
)
from financial_assets_tests.synthetic_bars import planted_edge_files

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

DATE, TICKER = "2013-02-04", "ARA"
#: two tickers whose bars carry a planted mean-reverting edge (a folder source) and a champion before the last date,
#: fast: one logistic model per ticker and year end, untuned. From 2011-01-03 the 2011-12-30 models have 205
#: out-of-fold rows, under FA_MIN_CHAMPION_OOS_ROWS, so they fail the promotion gate; the 2012-12-31 ones (410 rows,
#: 497 training rows: enough reference to calibrate every drift threshold) find the edge, pass the gate and are the
#: champions predicting 2013, and drift is reported at the run's last date only (2013-03-01). About 35 s on 2 cores.
RUN_START, RUN_END, RUN_TICKERS = "2011-01-03", "2013-03-01", "ARA,ARB"
RUN_SETTINGS = {"FA_SOURCE": "folder", "FA_BENCHMARK_TICKER": "ARA", "FA_HISTORY_END": RUN_END,
                "FA_RETRAIN_CALENDAR": "year_end", "FA_MODEL_TYPES": "logistic", "FA_TUNING_TRIALS": "0",
                "FA_MIN_CHAMPION_OOS_ROWS": "300", "FA_DRIFT_CALENDAR": "last"}
PARTITION = f"{DATE}|{TICKER}"
UI_RUNS = """query($partition: String!) { runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition},
  {key: "dagster/from_ui", value: "true"}]}) { ... on Runs { results { runId status jobName } } } }"""


@pytest.fixture
def artifacts(tmp_path, request) -> Path:
    root = os.environ.get("FA_TEST_ARTIFACTS")
    folder = Path(root) / "test_ui_browser" if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    request.node.user_properties.append(("screenshots", str(folder)))
    return folder


@pytest.fixture
def ui(tmp_path):
    """`dagster dev` on loopback over an instance `financial-assets run` filled with every stage for RUN_TICKERS."""
    require(CHROMIUM.exists(), "Chromium", "apt-get install -y chromium")
    require(importlib.util.find_spec("playwright"), "Playwright for Python", "pip install -e '.[test]'")
    reports_url = f"http://127.0.0.1:{free_port()}"
    bars = planted_edge_files(tmp_path / "bars", RUN_TICKERS.split(","), "2009-06-01", RUN_END)  # with warm-up bars
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "FA_DATA_DIR": str(tmp_path / "data"),
           "FA_ARTIFACTS_URL": reports_url, "FA_SOURCE_DIR": str(bars), **RUN_SETTINGS}
    done = subprocess.run([str(BIN / "financial-assets"), "run", "--tickers", RUN_TICKERS, "--start", RUN_START],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # each ticker's champion, then a drift report per ticker at the last date comparing with it
    assert all(re.search(rf"^\s+{t}: champion logistic ", done.stdout, re.M) for t in RUN_TICKERS.split(",")), \
        done.stdout[-3000:]
    reports = re.search(r"^\s+drift_report\s+(\d+)$", done.stdout, re.M)
    assert reports and int(reports.group(1)) == len(RUN_TICKERS.split(",")), done.stdout[-3000:]
    # and the summary names each ticker's champion and its newest drift report's level and drifted features
    drift = done.stdout.split("\ndrift (newest report per ticker):\n", 1)[-1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in drift] == RUN_TICKERS.split(","), done.stdout[-3000:]
    assert all(re.match(r"^\s+[A-Z]+ 2013-03-01: (OK|WARN|ERROR)\b.*: drifted ", line) for line in drift), drift
    services = Services(tmp_path / "logs")
    services.start("report_server", [str(BIN / "python"), "-m", "financial_assets.defs.drift.report_server",
                                     "--port", reports_url.rsplit(":", 1)[1]], env, cwd=tmp_path)
    port = free_port()
    services.start("dagster_dev", [str(BIN / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"),
                                   "-h", "127.0.0.1", "-p", str(port)], env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        services.wait_for("the UI with the code location loaded", lambda: location_loaded(base), timeout_s=180)
        yield base, services, tmp_path / "data"
    finally:
        services.stop_all()


def _ui_run(base: str, prefix: str) -> dict | None:
    runs = graphql(base, UI_RUNS, {"partition": PARTITION})["runsOrError"]["results"]
    return next((r for r in runs if r["runId"].startswith(prefix)), None)


def _finished(base: str, prefix: str) -> dict | None:
    run = _ui_run(base, prefix)
    return run if run and run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None


def test_a_user_launches_one_partition_of_validated_bars_from_the_ui_and_it_succeeds(ui, artifacts):
    from playwright.sync_api import expect, sync_playwright

    base, services, data = ui
    shots = iter(range(1, 100))

    def shot(page, name: str) -> None:
        page.screenshot(path=str(artifacts / f"{next(shots):02d}_{name}.png"), full_page=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(30_000)
            # the community sign-up dialog of a first visit, whenever it covers the page
            page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())

            # the asset graph of the `bars` group: raw_bars feeds validated_bars and quarantined_bars
            page.goto(f"{base}/locations/financial_assets/asset-groups/bars")
            for asset in ("raw_bars", "validated_bars", "quarantined_bars"):
                expect(page.get_by_text(asset, exact=True).first).to_be_visible()
            shot(page, "asset_graph_bars")
            page.get_by_text("validated_bars", exact=True).first.click()
            expect(page.get_by_role("link", name="View in Asset Catalog")).to_be_visible()
            shot(page, "graph_validated_bars_selected")
            page.get_by_role("link", name="View in Asset Catalog").click()
            expect(page).to_have_url(re.compile(r"/assets/validated_bars"))
            expect(page.get_by_text("Latest materialization")).to_be_visible()
            shot(page, "validated_bars")

            # the Materialize dialog: one date and one ticker
            page.get_by_role("button", name="Materialize…").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("Launch runs to materialize validated_bars")).to_be_visible()
            date = dialog.get_by_placeholder(re.compile(r"^ex: "))
            date.fill(DATE)
            date.press("Enter")
            dialog.get_by_text("Select a partition or create one").click()
            page.get_by_text(TICKER, exact=True).filter(visible=True).last.click()
            page.keyboard.press("Escape")
            expect(page.get_by_placeholder("Filter partitions")).to_be_hidden()
            expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
            shot(page, "materialize_dialog_one_partition")
            dialog.get_by_role("button", name="Launch 1 run").click()

            toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
            expect(toast).to_be_visible()
            prefix = re.search(r"[0-9a-f]{8}", toast.inner_text()).group(0)
            shot(page, "run_launched")

            # queued, dequeued by the daemon, run: wait for its end through the API the UI reads
            run = services.wait_for(f"run {prefix}", lambda: _finished(base, prefix), timeout_s=180, interval_s=1)
            assert run["status"] == "SUCCESS", services.failure()
            # the UI launched it in the asset's stage job (listed under it), not in Dagster's implicit asset job
            assert run["jobName"] == BARS_JOB
            page.goto(f"{base}/runs/{run['runId']}")
            expect(page.get_by_text("Success", exact=True).first).to_be_visible()
            expect(page.get_by_text(re.compile("Loading run logs"))).to_be_hidden()
            expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
            shot(page, "run_succeeded")

            # the asset's latest materialization is now that partition
            page.goto(f"{base}/assets/validated_bars")
            expect(page.get_by_text(PARTITION, exact=True).first).to_be_visible()
            shot(page, "validated_bars_latest_partition")

            # drift_report: its latest materialization's `report` metadata links the Evidently HTML report
            page.goto(f"{base}/assets/drift_report")
            expect(page.get_by_text("Latest materialization")).to_be_visible()
            latest = page.locator('a[href*="view=partitions&partition="]').first
            expect(latest).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}\|[A-Z]+$"))
            date, ticker = latest.inner_text().split("|")
            row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="report", exact=True))
            link = row.get_by_role("link").first
            expect(link).to_be_visible()
            folder = data / "artifacts" / "drift_report" / ticker / date
            assert re.fullmatch(rf"http://127\.0\.0\.1:\d+/drift_report/{ticker}/{date}/report\.html",
                                link.get_attribute("href"))
            shot(page, "drift_report_latest_materialization")

            # the link is served over HTTP: clicking it opens the report (rendered now if the run did not)
            errors: list[str] = []
            with page.context.expect_page(timeout=120_000) as opened:
                link.click()
            report = opened.value
            report.on("pageerror", lambda error: errors.append(str(error)))
            report.set_viewport_size({"width": 1600, "height": 1000})
            expect(report.get_by_text("Dataset Drift", exact=True).first).to_be_visible()
            expect(report.get_by_text("Data Drift Summary", exact=True)).to_be_visible()
            # the numbers Evidently renders are the report's own, as its JSON summary beside it has them
            summary = json.loads((folder / "report.json").read_text())
            assert (summary["ticker"], summary["as_of"]) == (ticker, date)
            line = report.get_by_text(re.compile(r"Drift is detected for .* of columns \(\d+ out of \d+\)"))
            expect(line).to_be_visible()
            drifted, total = map(int, re.search(r"\((\d+) out of (\d+)\)", line.inner_text()).groups())
            assert (drifted, total) == (len(summary["drifted_columns"]), len(summary["columns"])), summary
            assert errors == []
            report.screenshot(path=str(artifacts / f"{next(shots):02d}_drift_report_evidently.png"), full_page=True)
            report.close()
        finally:
            browser.close()
    assert sorted(p.name for p in artifacts.glob("*.png"))[0].startswith("01_")
