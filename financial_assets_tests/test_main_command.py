"""End to end: the README's main command and the `dagster asset materialize` examples, as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from financial_assets.storage.lake import ParquetLake

BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "FA_DATA_DIR": str(tmp_path / "data"),
            "FA_SOURCE": "embedded"}


@pytest.mark.slow
def test_main_command_on_a_slice_of_the_default_data(tmp_path):
    (tmp_path / "home").mkdir()
    out = subprocess.run([str(BIN / "financial-assets"), "run", "--tickers", "AAPL,MSFT", "--start", "2013-02-01"],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "sessions 2013-02-01 .. 2013-03-01" in out.stdout
    assert "validated_bars" in out.stdout and "training_table" in out.stdout
    assert " 0 failed" in out.stdout
    lake = ParquetLake(tmp_path / "data" / "lake")
    assert len(lake.read("validated_bars")) == 2 * 20
    assert len(lake.read("training_table")) == 2 * 20


@pytest.mark.slow
def test_dagster_cli_materializes_one_partition_and_a_range(tmp_path):
    env = _env(tmp_path)
    (tmp_path / "home").mkdir()
    subprocess.run([str(BIN / "financial-assets"), "tickers", "AAPL", "IBM"], env=env, check=True, capture_output=True)
    base = [str(BIN / "dagster"), "asset", "materialize", "-m", "financial_assets.definitions"]
    for selection in ("raw_bars", "validated_bars"):  # the README's one-partition examples, in order
        one = subprocess.run([*base, "--select", selection, "--partition", "2013-01-02|AAPL"],
                             env=env, capture_output=True, text=True, timeout=300)
        assert one.returncode == 0, one.stderr[-3000:]
    assert len(ParquetLake(tmp_path / "data" / "lake").read("validated_bars")) == 1
    ranged = subprocess.run([*base, "--select", "raw_bars,validated_bars,quarantined_bars",
                             "--partition-range", "2013-01-02|AAPL...2013-01-31|IBM"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert ranged.returncode == 0, ranged.stderr[-3000:]
    validated = ParquetLake(tmp_path / "data" / "lake").read("validated_bars")
    assert validated.groupby("ticker").size().to_dict() == {"AAPL": 21, "IBM": 21}
