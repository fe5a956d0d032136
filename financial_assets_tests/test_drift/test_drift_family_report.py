"""drift_report and drift_check on the real graph's stage job, over models-family tables written by the fixture.

Two tickers share one champion shape: trained as of 2012-06-29 on six features, OOS AUC 0.58
[0.55, 0.61], predicting daily since. STEADY keeps its feature distribution and its predictions
stay informative; SHIFTED moves three of its six features by 2.5 reference standard deviations
from 2013-01-02 and its predictions turn against the outcomes, so it drifts and decays. SHORT's
champion was trained as of 2010-03-31 on too few rows to calibrate any threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from financial_assets.definitions import defs
from financial_assets.defs.drift.checks import CHECK_KEY
from financial_assets.drift import performance_decay
from financial_assets.drift.rules import decayed_beyond_interval
from financial_assets.models import TrainingConfig, build_dataset
from financial_assets.runs.stages import MODELS_JOB
from financial_assets.storage.lake import ParquetLake
from financial_assets_tests.dagster_helpers import check_results, materialized, partition_metadata, run_stage

STEADY, SHIFTED, SHORT, NO_CHAMPION = "STEADY", "SHIFTED", "SHORT", "NOCHAMP"
FEATURES = [f"f{i}" for i in range(6)]
AS_OF = {STEADY: pd.Timestamp("2012-06-29"), SHIFTED: pd.Timestamp("2012-06-29"), SHORT: pd.Timestamp("2010-03-31")}
SHIFT_FROM = pd.Timestamp("2013-01-02")
SESSIONS = pd.DatetimeIndex([pd.Timestamp(k) for k in defs.resolve_asset_graph().get(dg.AssetKey("drift_report"))
                             .partitions_def.get_partitions_def_for_dimension("date").get_partition_keys()])


def _history(ticker: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """training_table rows 2010-2013 (AR(1) features, dir_5 labels) and the champion's daily probabilities."""
    rng = np.random.default_rng(seed)
    dates = SESSIONS[(SESSIONS >= "2010-01-04") & (SESSIONS <= "2013-02-28")]
    n = len(dates)
    values = np.zeros((n, len(FEATURES)))
    for t in range(1, n):
        values[t] = 0.8 * values[t - 1] + rng.normal(0, 0.6, len(FEATURES))
    score = values[:, 0] + rng.normal(0, 2.0, n)  # the label leans on f0
    label = (score > 0).astype(float)
    late = dates >= SHIFT_FROM
    if ticker == SHIFTED:
        values[late, :3] += 2.5
    frame = pd.DataFrame(values, columns=FEATURES).assign(ticker=ticker, date=dates)
    ends = pd.Series(dates).shift(-5)
    frame["dir_5"], frame["t1_5"] = np.where(ends.isna(), np.nan, label), ends.to_numpy()
    proba = 1 / (1 + np.exp(-0.8 * values[:, 0]))
    if ticker == SHIFTED:
        proba[late] = np.where(label[late] == 1, 0.3, 0.7) + rng.normal(0, 0.05, late.sum())
    served = pd.DataFrame({"ticker": ticker, "date": dates, "probability": proba.clip(0.01, 0.99)})
    served = served.loc[served["date"] > AS_OF.get(ticker, dates[-1])]
    return frame[["ticker", "date", *FEATURES, "dir_5", "t1_5"]], served


def _champion(training: pd.DataFrame, ticker: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trained_model row of the champion and its out-of-fold predictions (its later 80% of rows)."""
    data = build_dataset(training, TrainingConfig(label="dir_5", ticker=ticker), AS_OF[ticker])
    name = f"fa_{ticker}_dir_5"
    row = {"ticker": ticker, "date": AS_OF[ticker], "unit": ticker, "model_type": "xgboost", "label": "dir_5",
           "registered_model": name, "model_version": 1, "alias": "champion", "promotion_reason": "first model",
           "oos_auc": 0.58, "oos_auc_ci_low": 0.55, "oos_auc_ci_high": 0.61, "calibrated": True,
           "data_first_date": data.description.first_date, "data_last_date": data.description.last_date,
           "data_rows": data.description.rows, "data_hash": data.description.data_hash, "data_tickers": ticker,
           "mlflow_run_id": f"run{ticker.lower()}"}
    tested = slice(len(data.rows) // 5, None)
    proba = 1 / (1 + np.exp(-0.8 * data.panel.column("f0")[data.rows][tested]))  # the model the days are served by
    oof = pd.DataFrame({"sample_date": data.t0[tested], "ticker": ticker, "probability": proba, "calibrated": proba,
                        "date": AS_OF[ticker], "registered_model": name, "model_version": 1})
    return pd.DataFrame([row]), oof


@pytest.fixture
def tables(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ParquetLake:
    """The models family's tables for STEADY, SHIFTED, SHORT and NOCHAMP (features but no champion)."""
    monkeypatch.setenv("FA_DRIFT_PERFORMANCE_WINDOW", "30")
    lake = ParquetLake(data_dir / "lake")
    training, trained, oof, predictions = [], [], [], []
    for seed, ticker in enumerate((STEADY, SHIFTED, SHORT, NO_CHAMPION)):
        rows, served = _history(ticker, seed)
        training.append(rows)
        if ticker != NO_CHAMPION:
            model, out_of_fold = _champion(rows, ticker)
            trained.append(model)
            oof.append(out_of_fold)
            predictions.append(served.assign(registered_model=f"fa_{ticker}_dir_5", model_version=1,
                                             model_type="xgboost", model_as_of=AS_OF[ticker]))
    table = pd.concat(training, ignore_index=True)
    lake.write("training_table", table, {None: pd.DatetimeIndex(table["date"].unique())})
    for asset, frames in (("trained_model", trained), ("oof_predictions", oof), ("predictions", predictions)):
        frame = pd.concat(frames, ignore_index=True)
        lake.write(asset, frame, {t: pd.DatetimeIndex(g["date"].unique()) for t, g in frame.groupby("ticker")})
    return lake


def _run(first: str, last: str, instance: dg.DagsterInstance):
    run = run_stage(MODELS_JOB, f"{first}|{STEADY}", f"{last}|{NO_CHAMPION}", instance,
                    [STEADY, SHIFTED, SHORT, NO_CHAMPION], ["drift_report"])
    assert run.status == "SUCCESS", run.error
    return run


def test_a_range_reports_the_drift_calendar_and_its_last_date_and_the_check_fails_the_shifted_ticker(tables):
    instance = dg.DagsterInstance.ephemeral()
    run = _run("2013-01-02", "2013-02-27", instance)
    # month-end calendar: 2013-01-31, plus the run's last date; NOCHAMP has no champion, so no report
    assert materialized(instance, run, "drift_report") == [f"{d}|{t}" for d in ("2013-01-31", "2013-02-27")
                                                           for t in (SHIFTED, SHORT, STEADY)]
    summary = tables.read("drift_report").set_index(["ticker", "date"])
    shifted = summary.loc[(SHIFTED, pd.Timestamp("2013-02-27"))]
    assert shifted["level"] == "error" and shifted["dataset_drift"]
    unusual = set(shifted["unusual_features"].split(","))
    assert set(shifted["drifted_features"].split(",")) <= {"f0", "f1", "f2"} <= unusual
    assert "performance_decay" in shifted["reasons"].split(",")
    assert shifted["realized_auc_ci_high"] < shifted["oos_auc_ci_low"] == 0.55
    assert shifted["reference_matches_training"] and shifted["reference_rows"] > 400
    steady = summary.loc[(STEADY, pd.Timestamp("2013-02-27"))]
    assert not steady["dataset_drift"] and not steady["performance_decay"] and steady["level"] in ("ok", "warn")
    short = summary.loc[(SHORT, pd.Timestamp("2013-02-27"))]  # 56 training rows: nothing to calibrate on
    assert short["level"] == "unmonitored" and short["monitored_columns"] == 0 and short["report_url"] == ""
    assert json.loads(short["unmonitored"])["f0"].startswith("56 reference values, 200 needed to calibrate")
    assert short["matured_labels"] == 30 and not short["performance_decay"]

    meta = partition_metadata(instance, "drift_report", f"2013-02-27|{SHIFTED}")
    assert meta["dataset_drift"] is True and meta["level"] == "error" and "performance_decay" in meta["reasons"]
    assert "f0" in meta["most_drifted"] and "drift at" in meta["most_drifted"]
    page = "drift_report/SHIFTED/2013-02-27/report.html"
    assert meta["report"] == f"http://localhost:3030/{page}"  # FA_ARTIFACTS_URL's default
    assert meta["champion_mlflow_run"] == "http://localhost:5000/#/runs/runshifted"  # FA_MLFLOW_UI_URL's default
    html = tables.root.parent / "artifacts" / page
    assert html.is_file() and html.stat().st_size > 100_000 and "<html" in html.read_text()[:2000].lower()
    report = json.loads((tables.root.parent / "artifacts" / page).with_name("report.json").read_text())
    assert meta["report_json"].endswith("/drift_report/SHIFTED/2013-02-27/report.json")
    assert report["dataset_drift"] is True and report["performance"]["decayed"] is True
    steady_meta = partition_metadata(instance, "drift_report", f"2013-02-27|{STEADY}")
    if steady_meta["level"] == "ok":  # rendered when first opened (report_server), not with the run
        assert not (tables.root.parent / "artifacts" / steady_meta["report"].split("3030/")[1]).exists()

    assert check_results(run)["drift_check"] == (False, "ERROR")
    (record,) = instance.event_log_storage.get_asset_check_execution_history(CHECK_KEY, limit=5)
    errors = record.event.dagster_event.event_specific_data.metadata["errors"].value
    assert [(e["ticker"], e["date"], e["model"]) for e in errors] == [(SHIFTED, "2013-02-27", "fa_SHIFTED_dir_5 v1")]
    assert errors[0]["report"] == meta["report"] and errors[0]["champion_run"] == meta["champion_mlflow_run"]


def test_the_check_reports_every_tickers_newest_report_so_a_run_of_another_ticker_keeps_it_failing(tables):
    instance = dg.DagsterInstance.ephemeral()
    _run("2013-02-27", "2013-02-27", instance)
    steady = run_stage(MODELS_JOB, f"2013-02-28|{STEADY}", f"2013-02-28|{STEADY}", instance, assets=["drift_report"])
    assert steady.status == "SUCCESS", steady.error
    assert check_results(steady)["drift_check"] == (False, "ERROR")  # SHIFTED's newest report is still at ERROR
    record = instance.event_log_storage.get_asset_check_execution_history(CHECK_KEY, limit=1)[0]
    metadata = record.event.dagster_event.event_specific_data.metadata
    assert [(e["ticker"], e["date"]) for e in metadata["errors"].value] == [(SHIFTED, "2013-02-27")]
    assert metadata["tickers_checked"].value == 3 and "2013-02-28" in metadata["current_state"].value
    assert sum(metadata["this_run_levels"].value.values()) == 1


def test_a_single_date_off_the_calendar_is_reported(tables):
    instance = dg.DagsterInstance.ephemeral()
    run = _run("2013-02-20", "2013-02-20", instance)
    assert materialized(instance, run, "drift_report") == [f"2013-02-20|{t}" for t in (SHIFTED, SHORT, STEADY)]


def test_decay_needs_the_whole_realized_interval_below_the_oos_interval():
    dates = pd.bdate_range("2012-01-02", periods=60)
    label = np.tile([0.0, 1.0], 30)

    def decay(proba: np.ndarray):
        outcomes = pd.DataFrame({"date": dates, "t1": dates, "label": label, "proba": proba})
        return performance_decay(outcomes, as_of=dates[-1], oos_auc=0.58, oos_auc_ci=(0.55, 0.61), window=60)

    chance = decay(np.full(60, 0.5))  # AUC 0.5 over 60 labels: below the OOS CI low, but its own CI reaches 0.65
    assert chance.realized_auc == 0.5 and chance.decayed and chance.realized_auc_ci[1] > 0.55
    assert not decayed_beyond_interval(chance).decayed
    wrong = decay(np.where(label == 1, 0.3, 0.7) + np.linspace(-0.25, 0.25, 60))  # mostly backwards
    assert wrong.realized_auc_ci[1] < 0.55 and decayed_beyond_interval(wrong).decayed
