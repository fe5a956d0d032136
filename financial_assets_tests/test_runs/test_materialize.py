"""In-process materializations of the real graph on the embedded bars: one partition, ranges, reruns."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from financial_assets.runs.stages import BARS_JOB, SQL_MODELS_JOB
from financial_assets.sources import make_source
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.dagster_helpers import check_results, materialized, partition_metadata, run_stage

SESSIONS = pd.bdate_range("2013-01-02", "2013-02-28").drop(pd.to_datetime(["2013-01-21", "2013-02-18"]))


def test_one_partition_materializes_one_validated_bar_equal_to_the_source(data_dir, instance):
    run = run_stage(BARS_JOB, "2013-01-02|AAPL", "2013-01-02|AAPL", instance, ["AAPL"])
    assert run.status == "SUCCESS"
    assert materialized(instance, run, "validated_bars") == ["2013-01-02|AAPL"]
    stored = ParquetLake(data_dir / "lake").read("validated_bars")
    source = make_source("embedded").load("AAPL")
    expected = source.loc[source["date"] == "2013-01-02"].iloc[0]
    assert len(stored) == 1
    assert stored.loc[0, ["open", "high", "low", "close", "volume"]].tolist() == \
        expected[["open", "high", "low", "close", "volume"]].tolist()
    assert stored.loc[0, "adj_close"] == pytest.approx(expected["adj_close"])
    assert check_results(run) == {"bars_schema_pandera": (True, "WARN"),
                                  "bars_suite_great_expectations": (True, "WARN"),
                                  "features_complete": (True, "WARN")}


def test_a_range_of_two_tickers_is_one_run_and_every_partition_is_materialized(data_dir, instance):
    run = run_stage(BARS_JOB, "2013-01-02|AAPL", "2013-02-28|MSFT", instance, ["AAPL", "MSFT"])
    assert run.status == "SUCCESS"
    assert len(instance.get_runs()) == 1
    for asset in ("raw_bars", "validated_bars", "quarantined_bars", "features", "labels"):
        assert len(materialized(instance, run, asset)) == 2 * len(SESSIONS), asset
        # the instance API (what the UI reads) sees every partition as materialized
        assert len(instance.get_materialized_partitions(dg.AssetKey(asset))) == 2 * len(SESSIONS), asset
    lake = ParquetLake(data_dir / "lake")
    validated = lake.read("validated_bars")
    assert validated.groupby("ticker").size().to_dict() == {"AAPL": len(SESSIONS), "MSFT": len(SESSIONS)}
    assert len(lake.read("features")) == len(lake.read("labels")) == 2 * len(SESSIONS)


def test_each_partition_carries_its_own_row_count_not_the_runs(data_dir, instance):
    run_stage(BARS_JOB, "2013-01-02|AAPL", "2013-02-28|MSFT", instance, ["AAPL", "MSFT"])
    for asset in ("raw_bars", "validated_bars", "features", "labels"):
        assert partition_metadata(instance, asset, "2013-01-15|MSFT")["dagster/row_count"] == 1, asset
    assert partition_metadata(instance, "quarantined_bars", "2013-01-15|MSFT")["dagster/row_count"] == 0


def test_rerunning_a_range_rewrites_identical_data(data_dir, instance):
    run_stage(BARS_JOB, "2013-02-01|IBM", "2013-02-28|IBM", instance, ["IBM"])
    lake = ParquetLake(data_dir / "lake")
    first = {a: lake.read(a) for a in ("validated_bars", "features", "labels")}
    run_stage(BARS_JOB, "2013-02-01|IBM", "2013-02-28|IBM", instance)
    for asset, frame in first.items():
        pd.testing.assert_frame_equal(lake.read(asset), frame)


def test_features_do_not_depend_on_how_partitions_were_batched(tmp_path, monkeypatch, instance):
    frames = []
    for name, ranges in {"one_run": [("2013-01-02", "2013-02-28")],
                         "two_runs": [("2013-01-02", "2013-01-31"), ("2013-02-01", "2013-02-28")]}.items():
        monkeypatch.setenv("FA_DATA_DIR", str(tmp_path / name))
        for first, last in ranges:
            assert run_stage(BARS_JOB, f"{first}|GOOG", f"{last}|GOOG", instance, ["GOOG"]).status == "SUCCESS"
        frames.append(ParquetLake(tmp_path / name / "lake").read("features"))
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_sql_models_build_the_training_table_for_a_date_range(data_dir, instance):
    tickers = ["AAPL", "IBM", "MSFT"]
    assert run_stage(BARS_JOB, "2013-01-02|AAPL", "2013-02-28|MSFT", instance, tickers).status == "SUCCESS"
    run = run_stage(SQL_MODELS_JOB, "2013-01-02", "2013-02-28", instance)
    assert run.status == "SUCCESS", run.error
    assert len(materialized(instance, run, "training_table")) == len(SESSIONS)
    assert partition_metadata(instance, "training_table", "2013-01-15") == {"dagster/row_count": 3, "tickers": 3}
    lake = ParquetLake(data_dir / "lake")
    assert len(lake.read("training_table")) == len(lake.read("features"))
    assert all(passed for passed, _ in check_results(run).values())


def test_a_partition_whose_upstream_was_never_built_fails_and_names_it(data_dir, instance):
    run = run_stage(BARS_JOB, "2013-01-02|AAPL", "2013-01-04|AAPL", instance, ["AAPL"], assets=["features"])
    assert run.status == "FAILURE"
    assert "[upstream_materialized]" in run.error and "validated_bars" in run.error
    assert "2013-01-02|AAPL" in run.error
    assert not materialized(instance, run, "features")


@pytest.mark.code_location(FA_HISTORY_START="2005-01-03")  # AAPL's embedded bars start in 2000
def test_bars_before_the_first_partition_warm_up_the_features_and_never_become_partitions(data_dir, instance):
    run = run_stage(BARS_JOB, "2005-01-03|AAPL", "2005-01-07|AAPL", instance, ["AAPL"])
    assert run.status == "SUCCESS"
    lake = ParquetLake(data_dir / "lake")
    features = lake.read("features")
    # a 200-bar average is complete on the first partition date, from validated warm-up bars
    assert features["sma_dist_200"].notna().all() and features["rsi_14"].notna().all()
    assert lake.read("validated_bars")["date"].min() == pd.Timestamp("2005-01-03")
    warmup = lake.read("warmup_bars")
    assert warmup["date"].max() < pd.Timestamp("2005-01-03") and len(warmup) >= 2 * 199
    assert materialized(instance, run, "validated_bars")[0] == "2005-01-03|AAPL"
