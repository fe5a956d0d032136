"""The models stage end to end on synthetic random walks: retrain dates, MLflow runs and aliases, as-of predictions."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import pytest

from financial_assets.core.calendar import retrain_sessions, trading_sessions
from financial_assets.definitions import defs
from financial_assets.models.champions import CHAMPION, chain_of, prior_champion
from financial_assets.models.honesty import auc_ceiling
from financial_assets.runs.runner import StageRun, run_range
from financial_assets.runs.stages import plan_stages
from financial_assets.settings import DEFAULTS
from financial_assets.sources import make_source
from financial_assets.storage.artifacts import ArtifactStore
from financial_assets.storage.lake import ParquetLake
from financial_assets.tracking import MlflowStore, mlflow_uris
from financial_assets_tests.dagster_helpers import (SQL_JOB, TICKER_JOB, check_results, materialized,
                                                    module_settings, partition_metadata, run_stage)

#: the stage holding the models (families downstream of it land there too: only the models run here)
MODELS_JOB = next(s.job_name for s in plan_stages(defs) if dg.AssetKey("trained_model") in s.asset_keys)
MODEL_ASSETS = ["cv_folds", "trained_model", "predictions"]
TICKERS = ["SYN000", "SYN001"]
START, END = "2009-01-02", "2010-12-31"
SINGLE_DATE, POOLED_DATE = "2010-08-16", "2010-11-15"  # neither is a quarter end
SETTINGS = {"FA_SOURCE": "synthetic", "FA_SYNTHETIC_TICKERS": "2", "FA_RETRAIN_CALENDAR": "quarter_end",
            "FA_TUNING_TRIALS": "0", "FA_MIN_CHAMPION_OOS_ROWS": "40"}  # short test histories
QUARTER_ENDS = retrain_sessions(trading_sessions("XNYS", START, "2011-03-31"), "quarter_end")
#: 2009-03-31 has about 55 labelled rows, fewer than training needs: the first model is as of 2009-06-30
TRAINED = QUARTER_ENDS[(QUARTER_ENDS > "2009-03-31") & (QUARTER_ENDS <= END)]
LABEL = DEFAULTS["FA_MODEL_LABEL"]  # the per-ticker runs keep the default label


def _keys(dates: pd.DatetimeIndex, tickers: list[str]) -> list[str]:
    return sorted(f"{d:%Y-%m-%d}|{t}" for d in dates for t in tickers)


def _build(instance: dg.DagsterInstance, end: str) -> StageRun:
    """Bars to training table for TICKERS from START to `end`, then the models over the same range."""
    summary = run_range(defs, instance, TICKERS, START, end, jobs={TICKER_JOB, SQL_JOB})
    assert summary.success, [run.error for run in summary.runs]
    return run_stage(MODELS_JOB, f"{START}|{TICKERS[0]}", f"{end}|{TICKERS[-1]}", instance, assets=MODEL_ASSETS)


@dataclass(frozen=True)
class Built:
    """One data folder and instance after the stages ran over the range, then a single date, then a pooled date."""

    instance: dg.DagsterInstance
    range_run: StageRun
    single_run: StageRun
    pooled_run: StageRun
    lake: ParquetLake
    artifacts: ArtifactStore
    store: MlflowStore


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("models_family") / "data"
    with module_settings(data_dir, SETTINGS) as patch:
        instance = dg.DagsterInstance.ephemeral()
        models = _build(instance, END)
        single = run_stage(MODELS_JOB, f"{SINGLE_DATE}|SYN000", f"{SINGLE_DATE}|SYN000", instance,
                           assets=MODEL_ASSETS)
        patch.setenv("FA_POOLED_MODEL", "true")
        patch.setenv("FA_MODEL_LABEL", "dir_1")  # one-bar labels do not overlap: a tight interval for the honest number
        pooled = run_stage(MODELS_JOB, f"{POOLED_DATE}|SYN000", f"{POOLED_DATE}|SYN001", instance,
                           assets=["cv_folds", "trained_model"])
        yield Built(instance, models, single, pooled, ParquetLake(data_dir / "lake"),
                    ArtifactStore(data_dir / "artifacts"), mlflow_uris(data_dir))
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_a_range_run_trains_only_at_retrain_dates_and_a_single_date_run_at_that_date(built: Built):
    assert built.range_run.status == "SUCCESS", built.range_run.error
    for asset in ("cv_folds", "trained_model"):
        assert materialized(built.instance, built.range_run, asset) == _keys(TRAINED, TICKERS), asset
    assert built.single_run.status == "SUCCESS", built.single_run.error
    for asset in ("cv_folds", "trained_model", "predictions"):
        assert materialized(built.instance, built.single_run, asset) == [f"{SINGLE_DATE}|SYN000"], asset
    trained = built.lake.read("trained_model")
    per_ticker = trained.loc[trained["unit"] != "pooled"]
    assert sorted(per_ticker.loc[per_ticker["ticker"] == "SYN000", "date"].unique()) == sorted(
        [*TRAINED, pd.Timestamp(SINGLE_DATE)])
    # every model read only rows whose label had ended by its as-of date
    assert (per_ticker["data_last_date"] <= per_ticker["date"]).all()
    # random walks: no interval lies above its label's leakage ceiling, so the alarm stays silent
    assert (trained["oos_auc_ci_low"] < trained["label"].map(auc_ceiling)).all()
    assert check_results(built.range_run) == {"trained_model_auc_below_leakage_alarm": (True, "WARN"),
                                              "predictions_are_one_probability_per_partition": (True, "ERROR")}


def test_a_nightly_run_over_a_date_off_the_retrain_calendar_trains_nothing(built: Built):
    from financial_assets.runs.internals import launch_in_process
    from financial_assets.runs.runner import RANGE_END_TAG, RANGE_START_TAG
    from financial_assets.runs.stages import NIGHTLY_TAG

    day = "2010-09-15"  # not a quarter end
    assert pd.Timestamp(day) not in QUARTER_ENDS
    partition = f"{day}|SYN000"
    run = launch_in_process(built.instance, MODELS_JOB, {RANGE_START_TAG: partition, RANGE_END_TAG: partition,
                                                         NIGHTLY_TAG: day},
                            asset_selection=frozenset(dg.AssetKey(a) for a in ("cv_folds", "trained_model")))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    found = built.instance.get_asset_partitions_for_run(run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert not found.get(dg.AssetKey("trained_model")) and not found.get(dg.AssetKey("cv_folds"))
    assert pd.Timestamp(day) not in set(built.lake.read("trained_model", ["SYN000"])["date"])


def test_the_stored_folds_are_the_folds_evaluated_and_the_metadata_shows_the_data_and_the_report(built: Built):
    as_of, ticker = TRAINED[-1], "SYN001"
    folds = built.lake.read("cv_folds", [ticker], start=as_of, end=as_of)
    oof = built.lake.read("oof_predictions", [ticker], start=as_of, end=as_of)
    tested = folds.loc[folds["role"] == "test"].sort_values(["sample_date", "fold"])
    assert tested[["sample_date", "fold"]].to_numpy().tolist() == oof[["sample_date", "fold"]].to_numpy().tolist()
    assert (folds["sample_date"] <= as_of).all() and (folds["t1"] <= as_of).all()
    meta = partition_metadata(built.instance, "trained_model", f"{as_of:%Y-%m-%d}|{ticker}")
    row = built.lake.read("trained_model", [ticker], start=as_of, end=as_of).iloc[0]
    assert (meta["data_rows"], meta["data_hash"], meta["data_last_date"]) == (
        row["data_rows"], row["data_hash"], f"{row['data_last_date']:%Y-%m-%d}")
    assert meta["report"].count("data:image/png;base64,") == 2 and "Out-of-fold metrics" in meta["report"]
    assert "n_purged" in partition_metadata(built.instance, "cv_folds", f"{as_of:%Y-%m-%d}|{ticker}")["fold_summary"]


def test_every_training_is_a_finished_mlflow_run_with_the_named_metrics_and_tags(built: Built):
    runs = built.store.client().search_runs([built.store.experiment_id], max_results=1000)
    trained = built.lake.read("trained_model").drop_duplicates("mlflow_run_id")
    assert {r.info.run_id for r in runs} == set(trained["mlflow_run_id"])
    assert {r.info.status for r in runs} == {"FINISHED"}
    named = {"oos_auc", "oos_auc_ci_low", "oos_auc_ci_high", "oos_balanced_accuracy", "oos_accuracy", "oos_log_loss",
             "baseline_majority_accuracy"}
    for run in runs:
        assert named <= set(run.data.metrics), run.info.run_id
        assert {"ticker", "as_of", "model_type", "label", "dagster_run_id"} <= set(run.data.tags)
    assert trained.loc[trained["unit"] == "pooled", "registered_model"].tolist() == ["fa_pooled_dir_1"]


def test_the_registry_aliases_follow_the_chain_and_the_champion_loads_by_alias_and_predicts(built: Built):
    client = built.store.client()
    trained = built.lake.read("trained_model")
    for ticker in TICKERS:
        name = f"fa_{ticker}_{LABEL}"
        chain = chain_of(trained, name)
        newest = prior_champion(chain, chain["date"].max())
        assert str(client.get_registered_model(name).aliases[CHAMPION]) == str(newest["model_version"])
        assert client.get_model_version(name, str(newest["model_version"])).tags["promotion_rule"]
    name = f"fa_SYN000_{LABEL}"
    newest = prior_champion(chain_of(trained, name), trained["date"].max())
    features = built.lake.read("training_table").query("ticker == 'SYN000'").tail(30)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    predictor = pickle.loads(built.artifacts.read("trained_model", "SYN000", newest["date"], "xgboost.pkl"))
    np.testing.assert_allclose(np.asarray(loaded.predict(features)), predictor.predict_proba(features))


def test_a_prediction_uses_a_model_trained_before_its_date_and_no_date_before_the_first_champion_has_one(built: Built):
    predictions = built.lake.read("predictions")
    assert (predictions["model_as_of"] < predictions["date"]).all()
    shadow = predictions["challenger_as_of"].notna()
    assert shadow.any() and (predictions.loc[shadow, "challenger_as_of"] < predictions.loc[shadow, "date"]).all()
    assert predictions["probability"].between(0, 1).all()
    first = TRAINED[0]
    assert predictions.groupby("ticker")["date"].min().tolist() == [trading_sessions("XNYS", "2009-07-01")[0]] * 2
    done = built.instance.get_materialized_partitions(dg.AssetKey("predictions"))
    assert not [k for k in done if k.split("|")[0] <= f"{first:%Y-%m-%d}"]
    assert len(done) == len(predictions)
    single = predictions.loc[(predictions["ticker"] == "SYN000") & (predictions["date"] == SINGLE_DATE)].iloc[0]
    serving = prior_champion(chain_of(built.lake.read("trained_model"), f"fa_SYN000_{LABEL}"),
                             pd.Timestamp(SINGLE_DATE) - pd.Timedelta(days=1))  # not the model trained that day
    assert (single["model_as_of"], single["model_version"]) == (serving["date"], serving["model_version"])


def test_random_walks_score_chance_out_of_fold(built: Built):
    pooled = built.lake.read("trained_model", start=POOLED_DATE, end=POOLED_DATE).drop_duplicates("mlflow_run_id")
    (model,) = pooled.itertuples()
    assert (model.registered_model, model.data_tickers, model.label) == ("fa_pooled_dir_1", "SYN000,SYN001", "dir_1")
    assert model.oos_rows > 700
    assert 0.45 <= model.oos_auc <= 0.55
    assert model.oos_auc_ci_low < 0.5 < model.oos_auc_ci_high
    assert abs(model.oos_accuracy - model.baseline_majority_accuracy) < 0.05


def test_perturbing_bars_after_a_date_leaves_every_model_and_prediction_up_to_it_unchanged(
        built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cut, end = pd.Timestamp("2009-10-09"), "2009-10-30"
    rng = np.random.default_rng(0)
    folder = tmp_path / "bars"
    folder.mkdir()
    for ticker in TICKERS:
        bars = make_source("synthetic", n_synthetic=2).load(ticker)
        bars = bars.loc[bars["date"] <= end, ["date", "open", "high", "low", "close", "volume", "adj_close"]]
        after = (bars["date"] > cut).to_numpy()
        prices = ["open", "high", "low", "close", "adj_close"]
        bars.loc[after, prices] = bars.loc[after, prices].to_numpy() * np.exp(
            np.cumsum(rng.normal(0.0, 0.02, after.sum())))[:, None]
        bars.to_parquet(folder / f"{ticker}.parquet", index=False)
    for name, value in {**SETTINGS, "FA_SOURCE": "folder", "FA_SOURCE_DIR": str(folder),
                        "FA_BENCHMARK_TICKER": "SYN000"}.items():
        monkeypatch.setenv(name, value)
    run = _build(dg.DagsterInstance.ephemeral(), end)
    assert run.status == "SUCCESS", run.error
    perturbed = ParquetLake(tmp_path / "data" / "lake")
    columns = ["ticker", "date", "model_version", "model_as_of", "probability", "challenger_version",
               "challenger_probability"]
    before = built.lake.read("predictions", end=cut)[columns]
    assert len(before) > 50
    pd.testing.assert_frame_equal(perturbed.read("predictions", end=cut)[columns], before)
    models = ["ticker", "date", "model_version", "alias", "data_hash", "oos_auc"]
    known = built.lake.read("trained_model", end=cut)
    pd.testing.assert_frame_equal(perturbed.read("trained_model", end=cut)[models],
                                  known.loc[known["unit"] != "pooled", models].reset_index(drop=True))
    # the perturbation did reach the data: features after the cut differ
    after = ["ticker", "date", "rsi_14"]
    changed = perturbed.read("training_table", start=cut + pd.Timedelta(days=1), end=end)[after]
    assert not changed.equals(built.lake.read("training_table", start=cut + pd.Timedelta(days=1), end=end)[after])
