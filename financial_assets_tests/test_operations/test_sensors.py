"""The ticker registration sensor turns a new file in the source folder into a new ticker partition."""

from __future__ import annotations

import dagster as dg
import pytest

from financial_assets.defs.bars.sensors import ticker_registration_sensor
from financial_assets.defs.resources import RESOURCES
from financial_assets_tests.conftest import clean_bars, write_bar_files


def _tick(instance: dg.DagsterInstance) -> list[str]:
    with dg.build_sensor_context(instance=instance, resources={"bar_source": RESOURCES["bar_source"]}) as context:
        result = ticker_registration_sensor(context)
    added = []
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        added += list(request.partition_keys)
    return added


@pytest.mark.code_location(FA_SOURCE="folder")
def test_new_files_become_ticker_partitions_once(tmp_path, monkeypatch):
    monkeypatch.setenv("FA_SOURCE_DIR", str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    write_bar_files(tmp_path, {"AAA": clean_bars(["2013-01-02"]), "BBB": clean_bars(["2013-01-02"])})
    assert _tick(instance) == ["AAA", "BBB"]
    assert _tick(instance) == []
    write_bar_files(tmp_path, {"CCC": clean_bars(["2013-01-02"]), "C C.csv": clean_bars(["2013-01-02"])})
    assert _tick(instance) == ["CCC"]  # a badly named file is reported, never a partition
    assert instance.get_dynamic_partitions("tickers") == ["AAA", "BBB", "CCC"]
