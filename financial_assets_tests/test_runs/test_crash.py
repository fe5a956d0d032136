"""A materialization killed mid-write leaves no partial partition visible, and a rerun completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from financial_assets.runs.stages import BARS_JOB
from financial_assets.storage.lake import ParquetLake

RANGE = ("2012-01-03", "2012-03-30")

SCRIPT = f"""
import sys, dagster as dg
from financial_assets.app.runner import run_range
from financial_assets.definitions import defs
tickers = ["SYN000", "SYN001", "SYN002", "SYN003"]
summary = run_range(defs, dg.DagsterInstance.ephemeral(), tickers, "{RANGE[0]}", "{RANGE[1]}", jobs={{"{BARS_JOB}"}})
sys.exit(0 if summary.success else 1)
"""


def _launch(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _assert_every_visible_partition_is_whole(lake: ParquetLake, expected: pd.DataFrame) -> int:
    seen = 0
    for path in lake.files("raw_bars"):
        table = pq.read_table(path).to_pandas()  # a torn file would not even parse
        ticker = path.parent.name
        want = expected.loc[(expected["ticker"] == ticker) & (expected["date"].dt.strftime("%Y-%m") == path.stem)]
        # a month file is either absent or holds every bar of its partitions written so far, each whole
        assert set(pd.to_datetime(table["date"])) <= set(want["date"])
        merged = table.assign(date=pd.to_datetime(table["date"])).merge(want, on=["ticker", "date"],
                                                                         suffixes=("", "_src"))
        assert len(merged) == len(table)
        assert (merged["close"] == merged["close_src"]).all()
        seen += len(table)
    return seen


@pytest.mark.slow
def test_killed_run_leaves_no_partial_partition_and_a_rerun_completes(tmp_path: Path):
    env = {**os.environ, "FA_SOURCE": "synthetic", "FA_SYNTHETIC_TICKERS": "4", "FA_DATA_DIR": str(tmp_path / "data"),
           "FA_HISTORY_START": "2012-01-03"}
    lake = ParquetLake(tmp_path / "data" / "lake")
    proc = _launch(env)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not lake.files("raw_bars"):
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    from financial_assets.sources import make_source

    source = make_source("synthetic", n_synthetic=4, start="2012-01-03")
    expected = pd.concat([source.load(t) for t in source.tickers()], ignore_index=True)
    expected = expected.loc[expected["date"].between(*RANGE)]
    _assert_every_visible_partition_is_whole(lake, expected)
    assert not lake.files("labels"), "the kill came after the run had finished"

    rerun = _launch(env)
    assert rerun.wait(timeout=600) == 0
    assert _assert_every_visible_partition_is_whole(lake, expected) == len(expected)
    assert not [p for p in (tmp_path / "data").rglob("*.parquet") if p.name.startswith(".")]
