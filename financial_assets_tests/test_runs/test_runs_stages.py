"""Stage jobs keep their names by position: a new family joins a stage without renaming any job."""

from __future__ import annotations

import dagster as dg
import pytest

from financial_assets.definitions import defs
from financial_assets.defs.partitions import bar_partitions, trading_date_partitions
from financial_assets.runs.stages import STAGE_JOB_NAMES, plan_stages


def _asset(name: str, group: str, partitions: dg.PartitionsDefinition, deps: list[str]) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name=group, partitions_def=partitions, deps=deps)
    def _built() -> None: ...

    return _built


def _graph(*extra: dg.AssetsDefinition) -> dg.Definitions:
    """bars (ticker x date) -> sql (date) -> models (ticker x date), plus `extra`."""
    return dg.Definitions(assets=[_asset("bars", "bars", bar_partitions, []),
                                  _asset("table", "sql_models", trading_date_partitions, ["bars"]),
                                  _asset("model", "models", bar_partitions, ["table"]), *extra])


def test_the_project_stages_carry_the_stable_names_in_order():
    assert [s.job_name for s in plan_stages(defs)] == list(STAGE_JOB_NAMES)


def test_a_new_family_in_a_stage_renames_no_job():
    before = [s.job_name for s in plan_stages(_graph())]
    regime = _asset("regime", "regime", bar_partitions, ["bars"])
    after = plan_stages(_graph(regime))
    assert [s.job_name for s in after] == before == list(STAGE_JOB_NAMES)
    assert dg.AssetKey("regime") in after[0].asset_keys and "regime" in after[0].groups


def test_a_stage_beyond_the_named_ones_is_a_clear_error():
    extra = _asset("summary", "summary", trading_date_partitions, ["model"])
    (*_, fourth) = plan_stages(_graph(extra))
    with pytest.raises(ValueError, match="stage 4 .summary. has no job name"):
        _ = fourth.job_name


def test_stage_job_names_sort_before_dagsters_implicit_asset_job():
    """The UI's Materialize button takes the first of an asset's jobs in sorted order: the stage's number first sorts
    before Dagster's implicit __ASSET_JOB, so the UI launches the stage job (test_ui_browser.py checks it)."""
    assert [name.split("_", 1)[0] for name in STAGE_JOB_NAMES] == ["1", "2", "3"]
    assert all(name < "__ASSET_JOB" for name in STAGE_JOB_NAMES)
