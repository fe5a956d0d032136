"""score_drift: verdicts on windows whose answer is known, Evidently's report agreeing with them, files and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from financial_assets.core.errors import BarDataError
from financial_assets.drift import PREDICTION_COLUMN, DriftConfig, performance_decay, score_drift
from financial_assets.drift.report import calibrate

COLUMNS = [f"f{i}" for i in range(8)]
SHIFTED = COLUMNS[:3]


def _windows(seed: int, shift: float = 0.0, n_ref: int = 2000, n_cur: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current feature frames from one normal distribution; `shift` sigmas added to SHIFTED."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(rng.normal(size=(n_ref, len(COLUMNS))), columns=COLUMNS)
    current = pd.DataFrame(rng.normal(size=(n_cur, len(COLUMNS))), columns=COLUMNS)
    current[SHIFTED] += shift
    return reference, current


def test_a_one_sigma_shift_in_three_of_eight_features_drifts_and_they_lead():
    results = [score_drift(*_windows(seed, shift=1.0), COLUMNS) for seed in range(5)]
    assert sum(r.dataset_drift for r in results) >= 4
    top = [c.column for r in results for c in r.most_drifted[:3]]
    assert sum(c in SHIFTED for c in top) >= 0.8 * len(top)
    assert all(r.n_current == 20 and r.n_reference == 2000 and r.n_windows == 300 for r in results)


def test_the_same_distribution_rarely_drifts_or_warns():
    """Drift means beyond every one of the reference's own windows: about 1% of drift-free windows (README)."""
    results = [score_drift(*_windows(seed), COLUMNS) for seed in range(100, 120)]
    assert sum(r.dataset_drift for r in results) <= 1
    assert sum(bool(r.unusual_columns) for r in results) <= 4
    assert all(1 <= r.warn_multiplier <= r.drift_multiplier for r in results)


def test_evidentlys_report_reaches_the_same_verdicts():
    """The HTML report is Evidently's, run with each column's drift threshold: its tests say what the result says."""
    for shift in (0.0, 1.0):
        result = score_drift(*_windows(11, shift=shift), COLUMNS)
        snapshot = result.evidently_report().dict()
        failed = {t["metric_config"]["metric_id"]: t["status"] == "FAIL" for t in snapshot["tests"]}
        verdicts, dataset = {}, None
        for metric in snapshot["metrics"]:
            kind = metric["config"]["type"]
            if kind.endswith(":ValueDrift"):
                verdicts[metric["config"]["column"]] = (float(metric["value"]), failed[metric["id"]])
            elif kind.endswith(":DriftedColumnsCount"):
                dataset = failed[metric["id"]]
        assert dataset == result.dataset_drift
        for column in result.columns:
            score, drifted = verdicts[column.column]
            assert score == pytest.approx(column.score, rel=1e-12) and drifted == column.drifted
    assert result.dataset_drift  # the shifted case


def test_result_carries_predictions_performance_and_saves_json_and_html(tmp_path: Path):
    reference, current = _windows(7, shift=1.5)
    rng = np.random.default_rng(7)
    dates = pd.bdate_range("2023-01-02", periods=300)
    outcomes = pd.DataFrame({"date": dates, "t1": dates + pd.Timedelta(days=7),
                             "label": rng.integers(0, 2, 300), "proba": rng.uniform(size=300)})
    decay = performance_decay(outcomes, as_of=dates[-1], oos_auc=0.56, oos_auc_ci=(0.53, 0.59))
    result = score_drift(reference, current, COLUMNS, ticker="AAPL", as_of="2024-01-02",
                         reference_predictions=rng.beta(5, 5, size=2000), current_predictions=rng.beta(8, 4, size=20),
                         performance=decay)
    assert result.dataset_drift and set(result.drifted_columns[:3]) == set(SHIFTED)
    assert result.prediction is not None and result.prediction.column == PREDICTION_COLUMN and result.prediction.drifted
    assert result.alarms == ("dataset_drift", "prediction_drift", "performance_decay")
    top = result.most_drifted[0]
    assert top.drifted and top.score > top.threshold > top.warn_threshold and top.ratio > 1

    saved = json.loads(result.save_json(tmp_path / "drift.json").read_text())
    assert saved["ticker"] == "AAPL" and saved["as_of"] == "2024-01-02" and saved["dataset_drift"] is True
    assert len(saved["columns"]) == len(COLUMNS) and saved["prediction"]["drifted"] is True
    assert saved["performance"]["decayed"] is True and saved["n_windows"] == 300
    html = result.html()
    assert len(html) > 10_000 and "f0" in html and PREDICTION_COLUMN in html
    text = result.markdown()
    assert "**DRIFT**" in text and "| f" in text and "Prediction drift: **yes**" in text and "decayed" in text


def test_a_calibration_is_reused_for_windows_of_its_size_only():
    reference, current = _windows(5, shift=1.0)
    calibration = calibrate(reference, COLUMNS, 20)
    assert score_drift(reference, current, COLUMNS, calibration=calibration) == score_drift(reference, current, COLUMNS)
    with pytest.raises(BarDataError, match=r"\[drift_calibration\]: .*20-row windows of 8 columns, not 19 rows"):
        score_drift(reference, current.head(19), COLUMNS, calibration=calibration)


def test_nan_rows_are_dropped_per_column():
    reference, current = _windows(4)
    reference.loc[:50, "f0"] = np.nan
    current.loc[:2, "f1"] = np.nan
    result = score_drift(reference, current, ["f0", "f1"])
    assert {c.column for c in result.columns} == {"f0", "f1"}
    assert all(np.isfinite(c.score) and np.isfinite(c.threshold) for c in result.columns)


@pytest.mark.parametrize(
    "change, rule",
    [
        (lambda ref, cur: (ref, cur.drop(columns="f1")),
         r"\[drift_columns\] ticker='MSFT' date=2024-03-01: current window lacks columns \['f1'\]"),
        (lambda ref, cur: (ref, cur.assign(f0=np.nan)), r"\[drift_columns\] .*no values in columns \['f0'\]"),
        (lambda ref, cur: (ref, cur.assign(f0="x")), r"\[drift_numeric\] ticker='MSFT'"),
        (lambda ref, cur: (ref.head(150), cur),
         r"\[drift_reference_length\] ticker='MSFT' date=2024-03-01: column 'f0'"),
    ],
)
def test_bad_input_names_ticker_date_and_rule(change, rule: str):
    reference, current = change(*_windows(5))
    with pytest.raises(BarDataError, match=rule):
        score_drift(reference, current, ["f0", "f1"], ticker="MSFT", as_of="2024-03-01")


def test_predictions_must_match_rows():
    reference, current = _windows(6)
    with pytest.raises(BarDataError, match=r"\[drift_predictions\]: .*19 current predictions for 20 current rows"):
        score_drift(reference, current, ["f0"], reference_predictions=np.zeros(2000), current_predictions=np.zeros(19))
    with pytest.raises(BarDataError, match="both"):
        score_drift(reference, current, ["f0"], reference_predictions=np.zeros(2000))


def test_config_rejects_impossible_settings():
    with pytest.raises(ValueError, match="false_alarm_rate"):
        DriftConfig(false_alarm_rate=0.7)
    with pytest.raises(ValueError, match="max_windows"):
        DriftConfig(max_windows=5)


def test_a_column_constant_up_to_rounding_noise_neither_drifts_nor_fails_the_report():
    rng = np.random.default_rng(3)
    ulps = np.array([0.5, np.nextafter(0.5, 1.0), np.nextafter(np.nextafter(0.5, 1.0), 1.0)])  # a constant model
    reference = pd.DataFrame({"x": rng.normal(size=600), "flat": rng.choice(ulps, 600)})
    current = pd.DataFrame({"x": rng.normal(size=20), "flat": rng.choice(ulps, 20)})
    result = score_drift(reference, current, ["x", "flat"])
    assert not {c.column: c for c in result.columns}["flat"].drifted
    assert "flat" in result.html()
    moved = score_drift(reference, current.assign(flat=0.6), ["x", "flat"])
    assert moved.drifted_columns == ("flat",)
