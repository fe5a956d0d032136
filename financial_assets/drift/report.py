"""Build the Evidently 0.7 drift report of a current feature window against the champion's reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset

from financial_assets.core.errors import BarDataError
from financial_assets.drift.calibration import calibrated_threshold
from financial_assets.drift.config import DriftConfig
from financial_assets.drift.performance import PerformanceDecay
from financial_assets.drift.result import ColumnDrift, DriftResult

#: Name of the predicted-probability column in the Evidently report.
PREDICTION_COLUMN = "predicted_proba"


#: a column whose values span less than this, relative to their size, is constant (floating-point noise):
#: Evidently's histograms cannot cut such a range into finite bins and would fail the whole report
NEAR_CONSTANT = 1e-9


def settle_near_constant(reference: pd.DataFrame, current: pd.DataFrame, columns: Sequence[str]) -> None:
    """Set columns that are constant up to floating-point noise to one value, in both frames (in place)."""
    for column in columns:
        values = pd.concat([reference[column], current[column]]).dropna()
        if values.empty:
            continue
        span, size = values.max() - values.min(), max(1.0, values.abs().max())
        if 0 < span < NEAR_CONSTANT * size:
            reference[column] = reference[column].where(reference[column].isna(), values.median())
            current[column] = current[column].where(current[column].isna(), values.median())


def build_drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str],
    config: DriftConfig = DriftConfig(),
    *,
    ticker: str | None = None,
    as_of: object = None,
    reference_predictions: Sequence[float] | np.ndarray | None = None,
    current_predictions: Sequence[float] | np.ndarray | None = None,
    performance: PerformanceDecay | None = None,
) -> DriftResult:
    """Compare `current` (e.g. the 20 sessions up to `as_of`) with `reference` (the champion's training window).

    Runs `Report([DataDriftPreset(...)], include_tests=True)` over `columns`, plus a ValueDrift of the
    champion's predicted probabilities when both prediction arrays are given (one per row of each
    frame). Thresholds follow `config` (see `financial_assets.drift.config` for why). `performance`,
    from `performance_decay`, is attached as is. Errors name the ticker, `as_of` and the rule.
    """
    columns = list(columns)
    when = None if as_of is None else pd.Timestamp(as_of).strftime("%Y-%m-%d")
    ref = _numeric(reference, columns, "reference", ticker, when)
    cur = _numeric(current, columns, "current", ticker, when)
    monitored = list(columns)
    if (reference_predictions is None) != (current_predictions is None):
        raise BarDataError("drift_predictions", "pass both reference_predictions and current_predictions, or neither",
                           ticker, when)
    if reference_predictions is not None:
        if PREDICTION_COLUMN in columns:
            raise BarDataError("drift_predictions", f"a feature is named {PREDICTION_COLUMN!r}", ticker, when)
        ref[PREDICTION_COLUMN] = _aligned(reference_predictions, ref, "reference", ticker, when)
        cur[PREDICTION_COLUMN] = _aligned(current_predictions, cur, "current", ticker, when)
        monitored.append(PREDICTION_COLUMN)

    settle_near_constant(ref, cur, monitored)
    calibrated = config.stattest_threshold is None
    thresholds = {c: _threshold(ref[c], cur[c], config, c, ticker, when) for c in monitored}
    metrics: list = [DataDriftPreset(
        columns=columns,
        method=config.stattest,
        per_column_threshold={c: thresholds[c] for c in columns},
        drift_share=config.drift_share,
    )]
    if PREDICTION_COLUMN in monitored:
        metrics.append(ValueDrift(column=PREDICTION_COLUMN, method=config.stattest,
                                  threshold=thresholds[PREDICTION_COLUMN]))
    definition = DataDefinition(numerical_columns=monitored)
    snapshot = Report(metrics, include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    share, dataset_drift, drifts = _read(snapshot.dict(), config)
    by_column = {d.column: d for d in drifts}
    return DriftResult(
        ticker=ticker,
        as_of=when,
        config=config,
        calibrated=calibrated,
        n_reference=len(ref),
        n_current=len(cur),
        columns=tuple(sorted((by_column[c] for c in columns), key=lambda d: d.ratio, reverse=True)),
        drifted_share=share,
        dataset_drift=dataset_drift,
        prediction=by_column.get(PREDICTION_COLUMN),
        performance=performance,
        snapshot=snapshot,
    )


def _numeric(frame: pd.DataFrame, columns: list[str], which: str, ticker: str | None, when: str | None) -> pd.DataFrame:
    """`frame[columns]` as float with a fresh index; errors name the rule that failed."""
    if not columns:
        raise BarDataError("drift_columns", "no columns to monitor", ticker, when)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BarDataError("drift_columns", f"{which} window lacks columns {missing}", ticker, when)
    try:
        out = frame[columns].astype(float).reset_index(drop=True)
    except (TypeError, ValueError) as error:
        raise BarDataError("drift_numeric", f"{which} window has non-numeric columns: {error}", ticker, when) from error
    empty = [c for c in columns if out[c].notna().sum() == 0]
    if empty:
        raise BarDataError("drift_columns", f"{which} window has no values in columns {empty}", ticker, when)
    return out


def _aligned(values: Sequence[float] | np.ndarray, frame: pd.DataFrame, which: str, ticker: str | None,
             when: str | None) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if len(array) != len(frame):
        raise BarDataError("drift_predictions", f"{len(array)} {which} predictions for {len(frame)} {which} rows",
                           ticker, when)
    return array


def _threshold(reference: pd.Series, current: pd.Series, config: DriftConfig, column: str, ticker: str | None,
               when: str | None) -> float:
    if config.stattest_threshold is not None:
        return float(config.stattest_threshold)
    window = int(current.notna().sum())
    return calibrated_threshold(reference.dropna().to_numpy(), window, config, column=column, ticker=ticker, as_of=when)


def _read(report: dict, config: DriftConfig) -> tuple[float, bool, list[ColumnDrift]]:
    """Drifted share, the dataset-drift verdict and per-column results from `Snapshot.dict()`."""
    failed = {t["metric_config"]["metric_id"]: t["status"] == "FAIL" for t in report["tests"]}
    share, dataset_drift, drifts = 0.0, False, []
    for metric in report["metrics"]:
        kind = metric["config"]["type"]
        if kind.endswith(":DriftedColumnsCount"):
            share, dataset_drift = float(metric["value"]["share"]), failed[metric["id"]]
        elif kind.endswith(":ValueDrift"):
            drifts.append(ColumnDrift(
                column=metric["config"]["column"],
                stattest=config.stattest,
                score=float(metric["value"]),
                threshold=float(metric["config"]["threshold"]),
                score_is_p_value=config.score_is_p_value,
                drifted=failed[metric["id"]],
            ))
    return share, dataset_drift, drifts
