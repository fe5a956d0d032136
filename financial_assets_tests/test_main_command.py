"""End to end: the README's commands as real processes, with good data, broken data and wrong arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from financial_assets.core.calendar import trading_sessions
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.conftest import clean_bars, write_bar_files

BIN = Path(sys.executable).parent


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
def test_one_broken_file_among_good_ones_gives_complete_good_tickers_a_summary_and_a_non_zero_exit(tmp_path):
    dates = [d.date().isoformat() for d in trading_sessions("XNYS", "2012-06-01", "2013-03-01")]
    folder = write_bar_files(tmp_path / "bars", {"GOOD": clean_bars(dates), "ALSO": clean_bars(dates, 70.0)})
    broken = clean_bars(dates, 80.0)
    broken.loc[100, ["high", "low"]] = [10.0, 20.0]
    write_bar_files(folder, {"BROKEN": broken, "A B.csv": clean_bars(dates)})
    out = _cli(tmp_path, "run", FA_SOURCE="folder", FA_SOURCE_DIR=str(folder), FA_BENCHMARK_TICKER="GOOD",
               FA_HISTORY_START="2012-06-01")
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    summary = out.stdout.split("rejected data:")[1]
    assert "BROKEN: 1 bar(s) rejected, the ticker went on without them" in summary
    assert f"{dates[100]} high_ge_low high=10.0 low=20.0" in summary
    assert "'A B.csv'" in summary and "ticker_safe_identifier" in summary
    assert "Traceback" not in out.stdout + out.stderr
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
    "reversed dates": (["materialize", "--select", "raw_bars", "--partition-range", "2013-01-31|AAPL...2013-01-02|AAPL"],
                       "first date 2013-01-31 is after the last date 2013-01-02"),
    "reversed tickers": (["materialize", "--select", "raw_bars", "--partition-range", "2013-01-02|IBM...2013-01-03|AAPL"],
                         "ticker IBM comes after AAPL"),
    "holiday": (["materialize", "--select", "raw_bars", "--partition", "2013-01-01|AAPL"],
                "'2013-01-01' is not a date partition"),
    "unregistered ticker": (["materialize", "--select", "raw_bars", "--partition", "2013-01-02|ACME"],
                            "financial-assets tickers ACME"),
    "unknown asset": (["materialize", "--select", "raw_bar", "--partition", "2013-01-02|AAPL"], "no asset named raw_bar"),
    "slashed start": (["run", "--start", "2010/06/01"], "'2010/06/01' is not a date"),
    "month 13": (["run", "--start", "2010-13-01"], "'2010-13-01' is not a date"),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_arguments_are_refused_before_any_run_with_one_line_saying_what_is_wrong(tmp_path, case):
    args, message = WRONG[case]
    subprocess.run([str(BIN / "financial-assets"), "tickers", "AAPL", "IBM"], env=_env(tmp_path), check=True,
                   capture_output=True)
    out = _cli(tmp_path, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "data" / "lake").exists()
