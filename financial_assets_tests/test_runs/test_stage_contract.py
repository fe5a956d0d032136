"""The asset contract, stage by stage: every asset reports exactly the partitions it wrote, each with its row count.

One ticker with a planted edge (AR(1) returns, phi -0.5, so a logistic model passes the promotion gate and
serves) and one session without a bar (a WARN record in quarantined_bars, and partitions reported with no rows)
is built from 2009 to the end of 2010; then each stage job runs for that ticker over a few dates
across a quarter end (a retrain date), and for every asset of the stage the partitions the run reported are
compared with the rows the lake holds for the run's partitions: a partition with rows that was not reported, a
reported partition whose row count differs from the lake's, a partition reported twice or one outside the run
fails. An asset that wrote nothing over the run fails too, so a family that silently stops writing is caught.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from financial_assets.app.runner import StageRun, run_range
from financial_assets.core.calendar import trading_sessions
from financial_assets.definitions import defs
from financial_assets.runs.stages import BARS_JOB, SQL_MODELS_JOB, Stage, plan_stages
from financial_assets.sources.synthetic import SyntheticSource
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.dagster_helpers import module_settings, run_stage

TICKER = "EDGE"
START, BUILT = "2009-01-02", "2010-12-23"
#: the dates each stage runs over: across the quarter end 2010-12-31, so the models retrain and then predict
DATES = [d.date().isoformat() for d in trading_sessions("XNYS", "2010-12-27", "2011-01-07")]
MISSING = DATES[2]
LOAD_TIME = {"FA_SOURCE": "folder", "FA_HISTORY_START": START}
pytestmark = pytest.mark.code_location(**LOAD_TIME)
SETTINGS = {**LOAD_TIME, "FA_BENCHMARK_TICKER": TICKER,
            "FA_MODEL_LABEL": "dir_1", "FA_MODEL_TYPES": "logistic", "FA_TUNING_TRIALS": "0",
            "FA_RETRAIN_CALENDAR": "quarter_end", "FA_MIN_CHAMPION_OOS_ROWS": "100"}
STAGES = plan_stages(defs)


def _write_bars(folder: Path) -> None:
    """The ticker's bars as the folder source reads them, without the bar of MISSING."""
    folder.mkdir(parents=True, exist_ok=True)
    bars = SyntheticSource(1, seed=7, ar1=-0.5, start="2008-01-02", end=DATES[-1]).load("SYN000")
    bars = bars.loc[bars["date"] != pd.Timestamp(MISSING)]
    bars[["date", "open", "high", "low", "close", "volume", "adj_close"]].to_parquet(folder / f"{TICKER}.parquet",
                                                                                   index=False)


@pytest.fixture(scope="module")
def stage_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dg.DagsterInstance, dict[int, StageRun], Path]:
    """The history built up to BUILT, then one run of each stage over DATES: {stage index: run}."""
    data_dir = tmp_path_factory.mktemp("stage_contract") / "data"
    _write_bars(data_dir.parent / "bars")
    with module_settings(data_dir, {**SETTINGS, "FA_SOURCE_DIR": str(data_dir.parent / "bars")}):
        instance = dg.DagsterInstance.ephemeral()
        assert run_range(defs, instance, [TICKER], START, BUILT, jobs={BARS_JOB, SQL_MODELS_JOB}).success
        runs = {}
        for stage in STAGES:
            ticker_date = isinstance(stage.partitions_def, dg.MultiPartitionsDefinition)
            first, last = (f"{DATES[0]}|{TICKER}", f"{DATES[-1]}|{TICKER}") if ticker_date else (DATES[0], DATES[-1])
            runs[stage.index] = run_stage(stage.job_name, first, last, instance)
            assert runs[stage.index].status == "SUCCESS", runs[stage.index].error
        yield instance, runs, data_dir


def _reported(instance: dg.DagsterInstance, run_id: str, asset: str) -> list[tuple[str, int]]:
    """(partition, row count) of every materialization of `asset` the run recorded."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset)), limit=10_000)
    return [(r.partition_key, r.asset_materialization.metadata["dagster/row_count"].value)
            for r in records.records if r.run_id == run_id]


def _written(lake: ParquetLake, asset: str, stage: Stage) -> Counter:
    """Rows of `asset` in the lake per partition key of the run (DATE|TICKER, or DATE for date-only assets)."""
    rows = lake.read(asset, start=DATES[0], end=DATES[-1])
    if rows.empty:
        return Counter()
    dates = rows["date"].dt.strftime("%Y-%m-%d")
    keys = dates + "|" + rows["ticker"] if isinstance(stage.partitions_def, dg.MultiPartitionsDefinition) else dates
    return Counter(k for k in keys if k.split("|")[0] in DATES)


@pytest.mark.parametrize("stage", STAGES, ids=[s.job_name for s in STAGES])
def test_every_asset_of_the_stage_reports_exactly_the_partitions_it_wrote(stage_runs, stage):
    instance, runs, data_dir = stage_runs
    lake = ParquetLake(data_dir / "lake")
    ticker_date = isinstance(stage.partitions_def, dg.MultiPartitionsDefinition)
    run_keys = {f"{d}|{TICKER}" if ticker_date else d for d in DATES}
    for key in stage.asset_keys:
        asset = key.to_user_string()
        reported = _reported(instance, runs[stage.index].run_id, asset)
        counts = dict(reported)
        written = _written(lake, asset, stage)
        assert len(counts) == len(reported), f"{asset}: a partition reported twice: {reported}"
        assert set(counts) <= run_keys, f"{asset}: reports partitions outside the run: {set(counts) - run_keys}"
        assert set(written) <= set(counts), f"{asset}: wrote partitions it did not report: {set(written) - set(counts)}"
        assert {k: n for k, n in counts.items() if n} == dict(written), f"{asset}: reported row counts differ"
        assert written, f"{asset}: wrote nothing over {DATES[0]}...{DATES[-1]}"
