"""The models stage end to end: retrain dates, MLflow runs and aliases, promotion decisions, as-of predictions.

The bars are a folder of three synthetic tickers: EDGE has a planted mean-reverting edge (AR(1) returns with
phi = -0.5, so the next bar's direction is predictable from the last one, and a model far out-ranks the previous
bar's sign, which bets on continuation), NOISE and QUIET are random walks. Logistic regression on dir_1, retrained
each quarter end, with a maximum champion age of 120 sessions: EDGE's models pass the gate and each champion is
replaced by a newer one after two quarters; NOISE's never pass, so no champion serves it and its predictions are
only in shadow.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import pytest

from financial_assets.app.runner import StageRun, run_range
from financial_assets.core.calendar import retrain_sessions, trading_sessions
from financial_assets.definitions import defs
from financial_assets.models.champions import CHAMPION, chain_of, prior_champion, sessions_between, summary_lines
from financial_assets.models.promotion import AGE, FIRST_CHAMPION, NO_CHAMPION
from financial_assets.runs.stages import BARS_JOB, MODELS_JOB, SQL_MODELS_JOB
from financial_assets.settings import DEFAULTS
from financial_assets.sources.synthetic import SyntheticSource
from financial_assets.storage.artifacts import ArtifactStore
from financial_assets.storage.lake import ParquetLake
from financial_assets.tracking import SERVING_VERSION, MlflowStore, mlflow_uris
from financial_assets.tracking.store import mlflow_run_url
from financial_assets_tests.dagster_helpers import (
    check_results,
    materialized,
    module_settings,
    partition_metadata,
    run_stage,
)

#: the models' stage holds the families downstream of them too: only the models run here
MODEL_ASSETS = ["cv_folds", "trained_model", "predictions"]
TICKERS = ["EDGE", "NOISE", "QUIET"]  # registered in this order: a range EDGE...NOISE leaves QUIET out
MODELLED = TICKERS[:2]
START, END = "2009-01-02", "2010-12-31"
SINGLE_DATE, POOLED_DATE = "2010-08-16", "2010-11-15"  # neither is a quarter end
MAX_AGE = 120
LOAD_TIME = {"FA_SOURCE": "folder", "FA_HISTORY_START": START}
pytestmark = pytest.mark.code_location(**LOAD_TIME)
SETTINGS = {**LOAD_TIME, "FA_BENCHMARK_TICKER": "EDGE",
            "FA_MODEL_LABEL": "dir_1", "FA_MODEL_TYPES": "logistic", "FA_TUNING_TRIALS": "0",
            "FA_RETRAIN_CALENDAR": "quarter_end", "FA_MIN_CHAMPION_OOS_ROWS": "100",  # short test histories
            "FA_MAX_CHAMPION_AGE": str(MAX_AGE)}
QUARTER_ENDS = retrain_sessions(trading_sessions("XNYS", START, "2011-03-31"), "quarter_end")
#: 2009-03-31 has about 55 labelled rows, fewer than training needs: the first model is as of 2009-06-30
TRAINED = QUARTER_ENDS[(QUARTER_ENDS > "2009-03-31") & (QUARTER_ENDS <= END)]
BAR_COLUMNS = ["date", "open", "high", "low", "close", "volume", "adj_close"]


def write_bars(folder: Path, end: str) -> Path:
    """EDGE (AR(1) returns, phi -0.5), NOISE and QUIET (random walks) up to `end`, as the folder source reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    edge = SyntheticSource(1, seed=7, ar1=-0.5, start="2008-01-02", end=end).load("SYN000")
    walks = SyntheticSource(3, seed=7, start="2008-01-02", end=end)
    for ticker, bars in (("EDGE", edge), ("NOISE", walks.load("SYN001")), ("QUIET", walks.load("SYN002"))):
        bars[BAR_COLUMNS].to_parquet(folder / f"{ticker}.parquet", index=False)
    return folder


def _keys(dates: pd.DatetimeIndex, tickers: list[str]) -> list[str]:
    return sorted(f"{d:%Y-%m-%d}|{t}" for d in dates for t in tickers)


def _build(instance: dg.DagsterInstance, end: str) -> StageRun:
    """Bars to training table for TICKERS from START to `end`, then the models of EDGE and NOISE over the range."""
    summary = run_range(defs, instance, TICKERS, START, end, jobs={BARS_JOB, SQL_MODELS_JOB})
    assert summary.success, [run.error for run in summary.runs]
    return run_stage(MODELS_JOB, f"{START}|{MODELLED[0]}", f"{end}|{MODELLED[-1]}", instance, assets=MODEL_ASSETS)


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
    root = tmp_path_factory.mktemp("models_family")
    folder = write_bars(root / "bars", END)
    with module_settings(root / "data", {**SETTINGS, "FA_SOURCE_DIR": str(folder)}) as patch:
        instance = dg.DagsterInstance.ephemeral()
        models = _build(instance, END)
        single = run_stage(MODELS_JOB, f"{SINGLE_DATE}|EDGE", f"{SINGLE_DATE}|EDGE", instance, assets=MODEL_ASSETS)
        patch.setenv("FA_POOLED_MODEL", "true")  # one model over the two random walks
        pooled = run_stage(MODELS_JOB, f"{POOLED_DATE}|NOISE", f"{POOLED_DATE}|QUIET", instance,
                           assets=["cv_folds", "trained_model"])
        yield Built(instance, models, single, pooled, ParquetLake(root / "data" / "lake"),
                    ArtifactStore(root / "data" / "artifacts"), mlflow_uris(root / "data"))
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_a_range_run_trains_only_at_retrain_dates_and_a_single_date_run_at_that_date(built: Built):
    assert built.range_run.status == "SUCCESS", built.range_run.error
    for asset in ("cv_folds", "trained_model"):
        assert materialized(built.instance, built.range_run, asset) == _keys(TRAINED, MODELLED), asset
    assert built.single_run.status == "SUCCESS", built.single_run.error
    for asset in ("cv_folds", "trained_model", "predictions"):
        assert materialized(built.instance, built.single_run, asset) == [f"{SINGLE_DATE}|EDGE"], asset
    trained = built.lake.read("trained_model")
    per_ticker = trained.loc[trained["unit"] != "pooled"]
    assert sorted(per_ticker.loc[per_ticker["ticker"] == "EDGE", "date"].unique()) == sorted(
        [*TRAINED, pd.Timestamp(SINGLE_DATE)])
    # every model read only rows whose label had ended by its as-of date
    assert (per_ticker["data_last_date"] <= per_ticker["date"]).all()
    checks = check_results(built.range_run)
    assert "trained_model_auc_below_leakage_alarm" in checks
    # a date without a champion stores no champion probability, only the shadow one: still a valid partition
    assert checks["predictions_are_one_probability_per_partition"] == (True, "ERROR")


def test_a_nightly_run_over_a_date_off_the_retrain_calendar_trains_nothing(built: Built):
    from financial_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
    from financial_assets.runs.internals import launch_in_process
    from financial_assets.runs.stages import NIGHTLY_TAG

    day = "2010-09-15"  # not a quarter end
    assert pd.Timestamp(day) not in QUARTER_ENDS
    partition = f"{day}|EDGE"
    run = launch_in_process(built.instance, MODELS_JOB, {RANGE_START_TAG: partition, RANGE_END_TAG: partition,
                                                         NIGHTLY_TAG: day},
                            asset_selection=frozenset(dg.AssetKey(a) for a in ("cv_folds", "trained_model")))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    found = built.instance.get_asset_partitions_for_run(run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert not found.get(dg.AssetKey("trained_model")) and not found.get(dg.AssetKey("cv_folds"))
    assert pd.Timestamp(day) not in set(built.lake.read("trained_model", ["EDGE"])["date"])


def test_the_stored_folds_are_the_folds_evaluated_and_the_metadata_shows_the_data_and_the_report(built: Built):
    as_of, ticker = TRAINED[-1], "NOISE"
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
    name = "fa_EDGE_dir_1"
    newest = prior_champion(chain_of(trained, name), trained["date"].max())
    model = client.get_registered_model(name)
    assert str(model.aliases[CHAMPION]) == str(newest["model_version"]) == model.tags[SERVING_VERSION]
    tags = client.get_model_version(name, str(newest["model_version"])).tags
    assert tags["promotion_rule"] and tags["promotion_decision"] in (FIRST_CHAMPION, AGE, "paired_win")
    features = built.lake.read("training_table").query("ticker == 'EDGE'").tail(30)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    predictor = pickle.loads(built.artifacts.read("trained_model", "EDGE", newest["date"], "logistic.pkl"))
    np.testing.assert_allclose(np.asarray(loaded.predict(features)), predictor.predict_proba(features))
    # MLflow says when nothing serves: no champion alias, the newest model as challenger, the reason as a tag
    noise = client.get_registered_model("fa_NOISE_dir_1")
    assert CHAMPION not in noise.aliases and noise.tags[SERVING_VERSION] == "none"
    assert noise.tags["serving_reason"].startswith("no champion after the decision on v")
    newest_noise = chain_of(trained, "fa_NOISE_dir_1").iloc[-1]
    assert str(noise.aliases["challenger"]) == str(newest_noise["model_version"])
    tags = client.get_model_version("fa_NOISE_dir_1", str(newest_noise["model_version"])).tags
    assert (tags["serving_version"], tags["promotion_decision"], tags["gate_passed"]) == ("none", NO_CHAMPION, "False")
    assert json.loads(tags["promotion_numbers"])["paired_rows"] == 0


def test_a_second_model_replaces_the_first_at_max_age(built: Built):
    chain = chain_of(built.lake.read("trained_model"), "fa_EDGE_dir_1")
    sessions = trading_sessions("XNYS", START, END)
    first = chain.loc[chain["promotion_decision"] == FIRST_CHAMPION].iloc[0]
    assert first["gate_passed"] and first["oos_auc_ci_low"] > 0.5
    # the first champion serves until the first decision at which it is MAX_AGE sessions old, then a newer one
    replaced = chain.loc[chain["compared_version"].eq(str(first["model_version"]))
                         & chain["serving_version"].ne(first["model_version"])].iloc[0]
    assert replaced["promotion_decision"] == AGE, replaced["promotion_reason"]
    assert replaced["champion_age"] == sessions_between(sessions, first["date"], replaced["date"]) >= MAX_AGE
    assert replaced["serving_version"] > first["model_version"]
    kept = chain.loc[chain["compared_version"].eq(str(first["model_version"])) & (chain["date"] < replaced["date"])]
    assert (kept["serving_version"] == first["model_version"]).all() and (kept["champion_age"] < MAX_AGE).all()
    # every champion of EDGE was replaced that way: none served a date past its next decision at MAX_AGE
    aged = chain.loc[chain["promotion_decision"] == AGE]
    assert len(aged) >= 2 and (aged["champion_age"] >= MAX_AGE).all()
    assert (chain["champion_age"].dropna().loc[chain["promotion_decision"] != AGE] < MAX_AGE).all()
    # the predictions follow: the first champion before the replacement's date, the new one after it
    predictions = built.lake.read("predictions", ["EDGE"])
    before = predictions.loc[(predictions["date"] > first["date"]) & (predictions["date"] <= replaced["date"])]
    after = predictions.loc[predictions["date"] > replaced["date"]].head(20)
    assert len(before) > 100 and (before["model_version"] == first["model_version"]).all()
    assert (after["model_version"] == replaced["serving_version"]).all()


def test_a_model_failing_the_gate_never_serves_and_without_a_champion_only_the_shadow_prediction_is_stored(
        built: Built):
    trained = built.lake.read("trained_model")
    noise = chain_of(trained, "fa_NOISE_dir_1")
    assert len(noise) == len(TRAINED) and not noise["gate_passed"].any()
    assert noise["serving_version"].isna().all() and set(noise["promotion_decision"]) == {NO_CHAMPION}
    predictions = built.lake.read("predictions")
    mine = predictions.loc[predictions["ticker"] == "NOISE"]
    assert len(mine) > 300 and mine["probability"].isna().all() and mine["model_version"].isna().all()
    assert mine["challenger_probability"].between(0, 1).all()  # the newest model's record builds up in shadow
    assert (mine["challenger_as_of"] < mine["date"]).all()
    meta = partition_metadata(built.instance, "predictions", f"{mine['date'].iloc[-1]:%Y-%m-%d}|NOISE")
    assert meta["champion"] == "no champion" and "probability" not in meta and 0 <= meta["challenger_probability"] <= 1
    model_meta = partition_metadata(built.instance, "trained_model", f"{TRAINED[-1]:%Y-%m-%d}|NOISE")
    assert model_meta["serving"] == "no champion"
    # the partition links the model's MLflow run in the MLflow UI (FA_MLFLOW_UI_URL)
    assert model_meta["mlflow_run_logistic"] == mlflow_run_url(DEFAULTS["FA_MLFLOW_UI_URL"],
                                                          noise.iloc[-1]["mlflow_run_id"])
    # no served prediction anywhere comes from a model that failed the gate, or whose interval reaches below 0.5
    served = predictions.loc[predictions["model_version"].notna()]
    models = trained.drop_duplicates(["ticker", "model_version"]).set_index(["ticker", "model_version"])
    makers = models.loc[pd.MultiIndex.from_frame(served[["ticker", "model_version"]].astype({"model_version": int}))]
    assert len(served) > 300 and makers["gate_passed"].all() and (makers["oos_auc_ci_low"] > 0.5).all()
    # and the summary says which serves, or that none does
    edge, noise_line = summary_lines(trained.loc[trained["unit"] != "pooled"], trading_sessions("XNYS", START, END),
                                     pd.Timestamp(END))
    assert edge.startswith("EDGE: champion logistic fa_EDGE_dir_1 v") and " sessions: OOS AUC " in edge
    assert noise_line.startswith("NOISE: no champion (fa_NOISE_dir_1, 7 model(s) trained); newest logistic v7 as of "
                                 "2010-12-31 in shadow: OOS AUC ") and "; no champion: v7 AUC " in noise_line


def test_a_prediction_uses_a_model_trained_before_its_date_and_no_date_before_the_first_model_has_one(built: Built):
    predictions = built.lake.read("predictions")
    served = predictions["model_as_of"].notna()
    assert (predictions.loc[served, "model_as_of"] < predictions.loc[served, "date"]).all()
    shadow = predictions["challenger_as_of"].notna()
    assert shadow.any() and (predictions.loc[shadow, "challenger_as_of"] < predictions.loc[shadow, "date"]).all()
    assert predictions.loc[served, "probability"].between(0, 1).all()
    # the base rate a served probability is compared with is the serving predictor's; none without a champion
    assert predictions.loc[~served, "base_rate"].isna().all()
    for (ticker, as_of), rows in predictions.loc[served].groupby(["ticker", "model_as_of"]):
        predictor = pickle.loads(built.artifacts.read("trained_model", ticker, as_of, "logistic.pkl"))
        np.testing.assert_array_equal(rows["base_rate"], predictor.base_rate)
    assert predictions.loc[served, "base_rate"].between(0.3, 0.7).all()
    first = TRAINED[0]
    assert predictions.groupby("ticker")["date"].min().tolist() == [trading_sessions("XNYS", "2009-07-01")[0]] * 2
    done = built.instance.get_materialized_partitions(dg.AssetKey("predictions"))
    assert not [k for k in done if k.split("|")[0] <= f"{first:%Y-%m-%d}"]
    assert len(done) == len(predictions)
    single = predictions.loc[(predictions["ticker"] == "EDGE") & (predictions["date"] == SINGLE_DATE)].iloc[0]
    serving = prior_champion(chain_of(built.lake.read("trained_model"), "fa_EDGE_dir_1"),
                             pd.Timestamp(SINGLE_DATE) - pd.Timedelta(days=1))  # not the model trained that day
    assert (single["model_as_of"], single["model_version"]) == (serving["date"], serving["model_version"])


def test_random_walks_score_chance_out_of_fold(built: Built):
    pooled = built.lake.read("trained_model", start=POOLED_DATE, end=POOLED_DATE).drop_duplicates("mlflow_run_id")
    (model,) = pooled.itertuples()
    assert (model.registered_model, model.data_tickers, model.label) == ("fa_pooled_dir_1", "NOISE,QUIET", "dir_1")
    assert model.oos_rows > 700
    assert 0.45 <= model.oos_auc <= 0.55
    assert model.oos_auc_ci_low < 0.5 < model.oos_auc_ci_high
    assert abs(model.oos_accuracy - model.baseline_majority_accuracy) < 0.05


def test_perturbing_bars_after_a_date_leaves_every_model_and_prediction_up_to_it_unchanged(
        built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cut, end = pd.Timestamp("2009-10-09"), "2009-10-30"
    rng = np.random.default_rng(0)
    folder = write_bars(tmp_path / "bars", end)
    for ticker in TICKERS:
        bars = pd.read_parquet(folder / f"{ticker}.parquet")
        after = (bars["date"] > cut).to_numpy()
        prices = ["open", "high", "low", "close", "adj_close"]
        bars.loc[after, prices] = bars.loc[after, prices].to_numpy() * np.exp(
            np.cumsum(rng.normal(0.0, 0.02, after.sum())))[:, None]
        bars.to_parquet(folder / f"{ticker}.parquet", index=False)
    for name, value in {**SETTINGS, "FA_SOURCE_DIR": str(folder)}.items():
        monkeypatch.setenv(name, value)
    run = _build(dg.DagsterInstance.ephemeral(), end)
    assert run.status == "SUCCESS", run.error
    perturbed = ParquetLake(tmp_path / "data" / "lake")
    columns = ["ticker", "date", "model_version", "model_as_of", "probability", "base_rate", "challenger_version",
               "challenger_probability"]
    before = built.lake.read("predictions", end=cut)[columns]
    assert len(before) > 50 and before["probability"].notna().any()
    pd.testing.assert_frame_equal(perturbed.read("predictions", end=cut)[columns], before)
    models = ["ticker", "date", "model_version", "alias", "data_hash", "oos_auc", "gate_passed", "promotion_decision",
              "serving_version", "paired_rows", "paired_pvalue"]
    known = built.lake.read("trained_model", end=cut)
    pd.testing.assert_frame_equal(perturbed.read("trained_model", end=cut)[models],
                                  known.loc[known["unit"] != "pooled", models].reset_index(drop=True))
    # the perturbation did reach the data: features after the cut differ
    after = ["ticker", "date", "rsi_14"]
    changed = perturbed.read("training_table", start=cut + pd.Timedelta(days=1), end=end)[after]
    assert not changed.equals(built.lake.read("training_table", start=cut + pd.Timedelta(days=1), end=end)[after])
