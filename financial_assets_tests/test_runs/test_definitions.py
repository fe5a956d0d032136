"""The code location loads from the defs folder with the partitions, jobs and executor the README promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import dagster as dg
import yaml

from financial_assets.definitions import defs
from financial_assets.defs.partitions import bar_partitions, ticker_partitions, trading_date_partitions
from financial_assets.runs.internals import CODE_LOCATION, DEFER_TAG
from financial_assets.runs.stages import STAGE_TAG
from financial_assets_tests.paths import ROOT, SNAPSHOTS

SNAPSHOT = SNAPSHOTS / "asset_specs.json"


def _partitioning(partitions_def: dg.PartitionsDefinition | None) -> str:
    if partitions_def is None:
        return "none"
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return "x".join(d.name for d in partitions_def.partitions_defs)
    return "date"


def asset_spec_snapshot() -> dict:
    """Keys, partitions, deps, checks, kinds and backfill policy of every asset, and the jobs."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        checks = sorted([c.name, graph.get_check_spec(c).blocking]
                        for c in graph.asset_check_keys if c.asset_key == key)
        assets[key.to_user_string()] = {
            "group": node.group_name, "partitions": _partitioning(node.partitions_def),
            "deps": sorted(p.to_user_string() for p in node.parent_keys), "kinds": sorted(node.kinds),
            "single_run_backfill": node.backfill_policy == dg.BackfillPolicy.single_run(), "checks": checks,
        }
    jobs = {j.name: {"stage": j.tags.get(STAGE_TAG), "defers_asset_events": j.tags.get(DEFER_TAG) == "true"}
            for j in defs.jobs}
    return {"assets": assets, "jobs": jobs, "sensors": sorted(s.name for s in defs.sensors),
            "schedules": sorted(s.name for s in defs.schedules)}


def test_asset_specs_match_the_snapshot():
    """Set FA_UPDATE_SNAPSHOT=1 to rewrite the snapshot after an intended change, and review its diff."""
    current = asset_spec_snapshot()
    if os.environ.get("FA_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_shared_resources_are_bound_once_and_runs_use_the_in_process_executor():
    assert {"market", "lake", "bar_source"} <= set(defs.resources)
    assert defs.resources["bar_source"].market is defs.resources["market"]
    for job in defs.jobs:
        assert defs.resolve_job_def(job.name).executor_def.name == "in_process"


def test_no_check_blocks_so_one_ticker_never_stops_the_others():
    graph = defs.resolve_asset_graph()
    assert not [k for k in graph.asset_check_keys if graph.get_check_spec(k).blocking]


def test_dates_are_exchange_sessions_to_the_end_of_the_embedded_data_and_tickers_are_dynamic():
    keys = set(trading_date_partitions.get_partition_keys())
    assert "2013-01-22" in keys
    assert "2013-01-21" not in keys  # Martin Luther King Jr. Day
    assert "2013-01-19" not in keys  # a Saturday
    assert "2012-10-29" not in keys  # exchange closed for hurricane Sandy
    assert trading_date_partitions.get_first_partition_key() == "2000-03-01"
    assert trading_date_partitions.get_last_partition_key() == "2013-03-01"  # the embedded data's last session
    assert isinstance(ticker_partitions, dg.DynamicPartitionsDefinition)
    assert {d.name for d in bar_partitions.partitions_defs} == {"date", "ticker"}


def test_the_code_location_name_is_the_same_everywhere():
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["location_name"] == CODE_LOCATION
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'code_location_name = "{CODE_LOCATION}"' in pyproject


def _partition_keys_under(env: dict[str, str]) -> list[str]:
    code = ("from financial_assets.defs.partitions import trading_date_partitions as p; "
            "print(','.join(p.get_partition_keys()))")
    out = subprocess.run([sys.executable, "-c", code], env={"PATH": "", **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().split(",")


def test_crypto_calendar_has_weekend_partitions_and_fx_has_weekdays_without_holidays():
    january = {"FA_HISTORY_START": "2013-01-01", "FA_HISTORY_END": "2013-01-31"}
    crypto = _partition_keys_under({"FA_CALENDAR": "24/7", **january})
    assert "2013-01-19" in crypto and len(crypto) == 31
    fx = _partition_keys_under({"FA_CALENDAR": "24/5", **january})
    assert "2013-01-21" in fx and "2013-01-19" not in fx and len(fx) == 23


def test_a_live_source_runs_to_the_newest_session_that_has_closed():
    import pandas as pd

    from financial_assets.core.calendar import last_closed_session

    keys = _partition_keys_under({"FA_SOURCE": "synthetic", "FA_HISTORY_START": "2024-01-02"})
    assert keys[-1] == last_closed_session("XNYS", pd.Timestamp.now(tz="UTC"))


def test_a_history_that_starts_on_a_holiday_has_no_partition_on_it():
    keys = _partition_keys_under({"FA_HISTORY_START": "2024-01-01", "FA_HISTORY_END": "2024-12-31",
                                  "FA_SOURCE": "synthetic"})
    assert keys[0] == "2024-01-02" and len(keys) == 252


def test_descriptions_hold_no_bare_angle_brackets_that_the_ui_would_drop():
    """The UI renders descriptions as Markdown, where `fa_<ticker>_<label>` outside backticks shows as `fa__`."""
    graph = defs.resolve_asset_graph()
    texts = {key.to_user_string(): graph.get(key).description for key in graph.get_all_asset_keys()}
    texts |= {str(key): graph.get_check_spec(key).description for key in graph.asset_check_keys}
    texts |= {d.name: d.description for d in [*defs.jobs, *defs.sensors, *defs.schedules]}
    bare = {name: re.findall(r"<\w+>", re.sub(r"`[^`]*`", "", text)) for name, text in texts.items() if text}
    assert {name: tags for name, tags in bare.items() if tags} == {}
