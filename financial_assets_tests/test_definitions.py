"""The code location loads, with the assets, checks, jobs and partitions the README promises."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from financial_assets.definitions import defs
from financial_assets.defs.partitions import bar_partitions, ticker_partitions, trading_date_partitions


def test_definitions_load_with_every_asset_check_and_job():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_bars", "validated_bars", "quarantined_bars", "features", "labels",
            "universe_daily", "cross_asset_features", "training_table"} <= keys
    checks = {k.name for k in graph.asset_check_keys}
    assert {"bars_schema_pandera", "bars_suite_great_expectations"} <= checks
    assert defs.resolve_job_def("ticker_assets_job") and defs.resolve_job_def("sql_models_job")
    assert defs.resolve_sensor_def("ticker_registration_sensor")


def test_blocking_is_set_on_the_pandera_check_only():
    graph = defs.resolve_asset_graph()
    blocking = {k.name: graph.get_check_spec(k).blocking for k in graph.asset_check_keys if k.asset_key.path == ["validated_bars"]}
    assert blocking == {"bars_schema_pandera": True, "bars_suite_great_expectations": False}


def test_dates_are_exchange_sessions_and_tickers_are_dynamic():
    keys = set(trading_date_partitions.get_partition_keys())
    assert "2013-01-22" in keys
    assert "2013-01-21" not in keys  # Martin Luther King Jr. Day
    assert "2013-01-19" not in keys  # a Saturday
    assert "2012-10-29" not in keys  # exchange closed for hurricane Sandy
    assert isinstance(ticker_partitions, dg.DynamicPartitionsDefinition)
    assert {d.name for d in bar_partitions.partitions_defs} == {"date", "ticker"}


def test_every_ticker_asset_backfills_as_a_single_run():
    graph = defs.resolve_asset_graph()
    for name in ("raw_bars", "validated_bars", "quarantined_bars", "features", "labels", "training_table"):
        node = graph.get(dg.AssetKey(name))
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), name


def test_feature_registry_is_shown_on_the_features_asset():
    spec = defs.resolve_asset_graph().get(dg.AssetKey("features"))
    assert "rsi_14" in spec.metadata["feature_registry"].value


def test_crypto_calendar_has_weekend_partitions():
    code = "from financial_assets.defs.partitions import trading_date_partitions as p; print('2013-01-19' in p.get_partition_keys())"
    out = subprocess.run([sys.executable, "-c", code], env={"FA_CALENDAR": "24/7", "FA_HISTORY_START": "2013-01-01",
                         "PATH": ""}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
