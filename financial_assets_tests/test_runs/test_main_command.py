"""End to end: the README's commands as real processes, with good data, broken data and wrong arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from financial_assets.app import catalog, cli
from financial_assets.core.calendar import trading_sessions
from financial_assets.definitions import defs
from financial_assets.runs.stages import BARS_JOB, SQL_MODELS_JOB
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.conftest import clean_bars, write_bar_files
from financial_assets_tests.synthetic_bars import random_bars

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module", autouse=True)
def stage_cache(tmp_path_factory) -> Iterator[Path]:
    """A private cache folder for the commands of this module, holding this code's asset stages (`app.catalog`), as
    any earlier command leaves it."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        catalog.remember(defs)
        yield folder


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FA_")}
    return {**clean, "DAGSTER_HOME": str(tmp_path / "home"), "FA_DATA_DIR": str(tmp_path / "data"), **extra}


def _cli(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "financial-assets"), *args], env=_env(tmp_path, **extra), capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
def test_main_command_on_a_slice_of_the_default_data(tmp_path):
    out = _cli(tmp_path, "run", "--tickers", "AAPL,IBM,MSFT", "--start", "2013-02-01")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "sessions 2013-02-01 .. 2013-03-01" in out.stdout
    assert "validated_bars" in out.stdout and "training_table" in out.stdout
    assert " 0 failed" in out.stdout and "rejected data: none" in out.stdout
    lake = ParquetLake(tmp_path / "data" / "lake")
    assert len(lake.read("validated_bars")) == len(lake.read("training_table")) == 3 * 20
    # the UI hint works from any directory: absolute paths only
    hint = next(line for line in out.stdout.splitlines() if line.startswith("UI: "))
    assert f"DAGSTER_HOME={tmp_path / 'home'}" in hint and f"{BIN / 'dagster'} dev -w /" in hint


@pytest.mark.slow
def test_broken_files_among_good_ones_give_complete_good_tickers_a_summary_alerts_and_exit_3(tmp_path):
    dates = [d.date().isoformat() for d in trading_sessions("XNYS", "2012-06-01", "2013-03-01")]
    walks = {name: random_bars(len(dates), seed).assign(date=dates)
             for seed, name in enumerate(["GOOD", "ALSO", "BROKEN"])}
    walks["BROKEN"].loc[100, ["high", "low"]] = [10.0, 20.0]
    folder = write_bar_files(tmp_path / "bars", {**walks, "A B.csv": clean_bars(dates), "EMPTY": ""})
    # --end alone: the start comes from the files, and the empty one must not stop the others
    out = _cli(tmp_path, "run", "--end", dates[-1], FA_SOURCE="folder", FA_SOURCE_DIR=str(folder),
               FA_BENCHMARK_TICKER="GOOD", FA_HISTORY_START="2012-06-01", FA_DAGSTER_URL="http://127.0.0.1:3456",
               FA_RETRAIN_CALENDAR="year_end", FA_TUNING_TRIALS="1")
    assert out.returncode == cli.EXIT_REJECTED, out.stdout[-3000:] + out.stderr[-3000:]
    summary = out.stdout.split("rejected data:")[1]
    assert "BROKEN: 1 bar(s) rejected, the ticker went on without them" in summary
    assert f"{dates[100]} high_ge_low high=10.0 low=20.0" in summary
    assert "'A B.csv'" in summary and "ticker_safe_identifier" in summary
    assert " FAILURE " not in out.stdout and " SKIPPED " not in out.stdout  # the held-back ticker stops nothing
    assert "EMPTY: file rejected, ticker held back: [non_empty] ticker='EMPTY': EMPTY.csv is empty" in summary
    # nine months of bars give models too few out-of-fold rows to pass the gate: the summary says none serves
    models = out.stdout.split("\nmodels (out of sample; serving at the end of the range):")[1].split("\n\n")[0]
    for ticker in ("ALSO", "BROKEN", "GOOD"):
        assert f"  {ticker}: no champion (fa_{ticker}_dir_1, " in models, models
    assert "out-of-fold rows < 500" in models
    assert "Traceback" not in out.stdout + out.stderr
    alerts = [json.loads(line) for line in (tmp_path / "data" / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert sorted((a["kind"], a["ticker"], a["severity"]) for a in alerts) == [
        ("data_quality", "BROKEN", "warning"), ("data_quality", "EMPTY", "critical")]
    # the UI hint serves the configured URL
    hint = next(line for line in out.stdout.splitlines() if line.startswith("UI: "))
    assert hint.endswith(" dev -w " + str(Path(cli.__file__).resolve().parents[2] / "workspace.yaml")
                         + " -h 127.0.0.1 -p 3456  ->  http://127.0.0.1:3456")
    lake = ParquetLake(tmp_path / "data" / "lake")
    training = lake.read("training_table")
    assert training.groupby("ticker").size().to_dict() == {"ALSO": len(dates), "BROKEN": len(dates) - 1,
                                                           "GOOD": len(dates)}
    # features complete after warm-up for the good tickers: the 20-bar RSI exists from the 22nd bar on
    good = lake.read("features").query("ticker == 'GOOD'")
    assert good["rsi_21"].iloc[21:].notna().all()


@pytest.mark.slow
def test_dagster_cli_materializes_one_partition_and_a_range(tmp_path):
    env = _env(tmp_path)
    subprocess.run([str(BIN / "financial-assets"), "tickers", "AAPL", "IBM"], env=env, check=True, capture_output=True)
    base = [str(BIN / "dagster"), "asset", "materialize", "-m", "financial_assets.definitions"]
    for selection in ("raw_bars", "validated_bars"):  # the README's one-partition examples, in order
        one = subprocess.run([*base, "--select", selection, "--partition", "2013-01-02|AAPL"],
                             env=env, capture_output=True, text=True, timeout=300)
        assert one.returncode == 0, one.stderr[-3000:]
    assert len(ParquetLake(tmp_path / "data" / "lake").read("validated_bars")) == 1
    ranged = _cli(tmp_path, "materialize", "--select", "raw_bars,validated_bars,quarantined_bars",
                  "--partition-range", "2013-01-02|AAPL...2013-01-31|IBM")
    assert ranged.returncode == 0, ranged.stdout[-3000:] + ranged.stderr[-3000:]
    validated = ParquetLake(tmp_path / "data" / "lake").read("validated_bars")
    assert validated.groupby("ticker").size().to_dict() == {"AAPL": 21, "IBM": 21}


WRONG = {
    "reversed dates": (["materialize", "--select", "raw_bars",
                        "--partition-range", "2013-01-31|AAPL...2013-01-02|AAPL"],
                       "first date 2013-01-31 is after the last date 2013-01-02"),
    "reversed tickers": (["materialize", "--select", "raw_bars",
                          "--partition-range", "2013-01-02|IBM...2013-01-03|AAPL"],
                         "ticker IBM comes after AAPL"),
    "holiday": (["materialize", "--select", "raw_bars", "--partition", "2013-01-01|AAPL"],
                "'2013-01-01' is not a date partition"),
    "unregistered ticker": (["materialize", "--select", "raw_bars", "--partition", "2013-01-02|ACME"],
                            "financial-assets tickers ACME"),
    "unknown asset": (["materialize", "--select", "raw_bar", "--partition", "2013-01-02|AAPL"],
                      "no asset named raw_bar"),
    "two stages": (["materialize", "--select", "raw_bars,training_table", "--partition", "2013-01-02|AAPL"],
                   "belong to different stages"),
    "after the data": (["materialize", "--select", "raw_bars", "--partition", "2013-03-04|AAPL"],
                       "'2013-03-04' is not a date partition"),
    "date key for a ticker stage": (["materialize", "--select", "raw_bars", "--partition", "2013-01-02"],
                                    "is not DATE|TICKER"),
    "reversed window": (["run", "--start", "2013-03-01", "--end", "2013-01-02"], "the start is after the end"),
    "slashed start": (["run", "--start", "2010/06/01"], "'2010/06/01' is not a date"),
    "month 13": (["run", "--start", "2010-13-01"], "'2010-13-01' is not a date"),
}


#: runs the command line, then names the heavy modules it imported: a wrong argument must be refused without them
PROBE = """import sys
from financial_assets.app.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:  # argparse refuses a malformed argument this way
    code = stop.code
heavy = ("financial_assets.definitions", "great_expectations", "evidently", "mlflow", "torch", "xgboost", "talib")
print("heavy:", [m for m in heavy if m in sys.modules])
sys.exit(code)"""


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_arguments_are_refused_before_loading_anything_heavy_with_one_line_saying_what_is_wrong(tmp_path, case):
    args, message = WRONG[case]
    subprocess.run([str(BIN / "financial-assets"), "tickers", "AAPL", "IBM"], env=_env(tmp_path), check=True,
                   capture_output=True)
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=_env(tmp_path), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == cli.EXIT_USAGE, out.stdout + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert "ticker=?" not in out.stderr and "date=n/a" not in out.stderr  # only the parts that apply
    assert "heavy: []" in out.stdout
    assert not (tmp_path / "data" / "lake").exists()


def test_the_exit_codes_are_documented_in_the_help():
    for command in ([], ["run"], ["materialize"]):
        text = cli.parser().format_help() if not command else cli.parser()._subparsers._group_actions[0].choices[
            command[0]].format_help()
        assert "exit codes:" in text and "3  every run succeeded but files or bars were rejected" in text


def test_the_stage_cache_follows_the_code(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stale = tmp_path / "financial_assets" / "stages-0.json"
    stale.parent.mkdir()
    stale.write_text('{"ghost": {"job": "x", "index": 9, "by_ticker": true}}')
    stages = catalog.remember(defs)
    assert not stale.exists()  # another code version's cache is removed
    assert catalog.asset_stages() == stages == catalog.stages_of(defs)
    assert stages["raw_bars"] == catalog.AssetStage(BARS_JOB, 1, True)
    assert stages["training_table"] == catalog.AssetStage(SQL_MODELS_JOB, 2, False)
