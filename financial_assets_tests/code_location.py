"""A pytest plugin: a test marked `code_location(FA_SOURCE="folder", ...)` runs in a code location loaded with those
load-time settings.

Load-time settings are read once, when `financial_assets.definitions` is imported, so a test can't change them with
`monkeypatch`. When this interpreter's code location was loaded with other settings, the marked tests of a module
(those sharing the same settings) run together in a fresh `python -m pytest` whose environment holds the settings
before anything is imported; each test here passes, fails with the child's report, or skips as it did there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from financial_assets.settings import DEFAULTS

#: where a child run writes its test reports, one JSON line each (set only in the child's environment)
REPORT = "FINANCIAL_ASSETS_TESTS_REPORT"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "code_location(**settings): the load-time FA_* settings the test's code "
                                       "location is loaded with; it runs in a fresh interpreter if this one differs")


def _loaded_with(settings: Mapping[str, str]) -> bool:
    """Whether this interpreter's code location was loaded with the defaults and `settings`."""
    from financial_assets.defs.load_time import LOAD
    from financial_assets.load_settings import load_settings

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**DEFAULTS, **settings}.items():
            patch.setenv(name, value)
        return load_settings() == LOAD


class _Child:
    """The marked tests of one module with one set of settings, run once in a fresh interpreter when the first asks."""

    def __init__(self, config: pytest.Config, settings: dict[str, str]) -> None:
        self.config, self.settings, self.nodeids = config, settings, []
        self.reports: dict[str, list[dict]] | None = None
        self.output = ""

    def run(self) -> dict[str, list[dict]]:
        if self.reports is None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "reports.jsonl"
                env = {**os.environ, **DEFAULTS, **self.settings, REPORT: str(path)}
                done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *self.nodeids],
                                      env=env, cwd=self.config.rootpath, capture_output=True, text=True)
                self.output = done.stdout + done.stderr
                lines = path.read_text().splitlines() if path.exists() else []
            self.reports = {}
            for line in lines:
                report = json.loads(line)
                self.reports.setdefault(report["nodeid"], []).append(report)
        return self.reports


class ChildFailed(Exception):
    """A test failed in its fresh interpreter; the message is the child's report."""


class InCodeLocation(pytest.Item):
    """Stands for a marked test: its outcome is the outcome of the same test run in the child."""

    def __init__(self, *, child: _Child, location: tuple, **kwargs) -> None:
        super().__init__(**kwargs)
        self.child, self._location = child, location

    def runtest(self) -> None:
        reports = self.child.run().get(self.nodeid)
        settings = ", ".join(f"{k}={v}" for k, v in self.child.settings.items())
        if not reports:
            raise ChildFailed(f"no report from the fresh interpreter loaded with {settings}; its output:\n"
                              f"{self.child.output[-20_000:]}")
        for report in reports:
            if report["outcome"] == "failed":
                raise ChildFailed(f"failed ({report['when']}) in a fresh interpreter loaded with {settings}:\n"
                                  f"{report['longrepr']}\n{report['sections']}")
        skipped = [r for r in reports if r["outcome"] == "skipped"]
        if skipped:
            pytest.skip(f"skipped in the fresh interpreter: {skipped[0]['longrepr']}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, ChildFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple:
        return self._location


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    children: dict[tuple, _Child] = {}
    for index, item in enumerate(items):
        marker = item.get_closest_marker("code_location")
        if marker is None or _loaded_with(marker.kwargs):
            continue
        if os.environ.get(REPORT):  # a child that is not loaded as asked would start children forever
            raise pytest.UsageError(f"{item.nodeid}: the fresh interpreter was not loaded with {marker.kwargs}")
        key = (item.path, tuple(sorted(marker.kwargs.items())))
        child = children.setdefault(key, _Child(config, dict(marker.kwargs)))
        child.nodeids.append(item.nodeid)
        stand_in = InCodeLocation.from_parent(item.parent, name=item.name, child=child, location=item.reportinfo())
        stand_in.own_markers = [pytest.mark.timeout(0).mark, *item.own_markers]  # the child's tests have their own
        stand_in.keywords.update(item.keywords)
        items[index] = stand_in


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if os.environ.get(REPORT) and (report.when == "call" or report.outcome != "passed"):
        with open(os.environ[REPORT], "a") as out:
            out.write(json.dumps({"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                                  "longrepr": report.longreprtext,
                                  "sections": "\n".join(f"--- {t}\n{c}" for t, c in report.sections)}) + "\n")
