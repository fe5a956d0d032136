"""The drift_report asset: feature drift, prediction drift and performance decay of the champion in force at D."""

import json
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.defs.drift.inputs import DriftInputs, Tables, partition_inputs
from financial_assets.defs.drift.resources import DriftResource
from financial_assets.defs.partitions import bar_key, bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.drift import DriftConfig, DriftResult, PerformanceDecay, build_drift_report, performance_decay
from financial_assets.drift.rules import decayed_beyond_interval
from financial_assets.runs.internals import planned_partitions, report_partitions

ASSET = "drift_report"
#: the summary row of a partition in the lake table drift_report
SUMMARY_COLUMNS = (
    "ticker", "date", "level", "reasons", "registered_model", "model_version", "model_as_of", "reference_rows",
    "reference_matches_training", "current_rows", "monitored_columns", "unmonitored", "drifted_share",
    "dataset_drift", "drifted_features", "most_drifted", "prediction_score", "prediction_threshold",
    "prediction_drift", "matured_labels", "realized_auc", "realized_auc_ci_low", "realized_auc_ci_high",
    "realized_accuracy", "oos_auc", "oos_auc_ci_low", "oos_auc_ci_high", "performance_decay", "report_html",
    "report_json", "seconds")
NAN = float("nan")


def level(result: DriftResult | None, decay: PerformanceDecay) -> str:
    """error: dataset drift or decay beyond the OOS interval; warn: some column or the predictions drifted;
    unmonitored: no column could be compared (the champion's reference is too short to calibrate); else ok."""
    if decay.decayed or (result is not None and result.dataset_drift):
        return "error"
    if result is None:
        return "unmonitored"
    if result.drifted_columns or (result.prediction is not None and result.prediction.drifted):
        return "warn"
    return "ok"


def _decay(inputs: DriftInputs, ticker: str, day: pd.Timestamp, window: int) -> PerformanceDecay:
    champion = inputs.champion
    decay = performance_decay(inputs.outcomes, as_of=day, oos_auc=champion["oos_auc"],
                              oos_auc_ci=(champion["oos_auc_ci_low"], champion["oos_auc_ci_high"]), window=window,
                              ticker=ticker)
    return decayed_beyond_interval(decay)


def _report(inputs: DriftInputs, decay: PerformanceDecay, ticker: str, day: pd.Timestamp,
            config: DriftConfig) -> DriftResult | None:
    """The Evidently report, or None when no column can be compared."""
    if inputs.current.columns.empty:
        return None
    return build_drift_report(inputs.reference, inputs.current, list(inputs.current.columns), config, ticker=ticker,
                              as_of=day, reference_predictions=inputs.reference_predictions,
                              current_predictions=inputs.current_predictions, performance=decay)


def _row(ticker: str, day: pd.Timestamp, inputs: DriftInputs, decay: PerformanceDecay, result: DriftResult | None,
         files: tuple[str, str], seconds: float) -> dict:
    champion, prediction = inputs.champion, result.prediction if result else None
    top = [{"column": c.column, "stattest": c.stattest, "score": c.score, "threshold": c.threshold,
            "drifted": c.drifted} for c in (result.most_drifted if result else ())]
    reasons = [*(result.alarms if result else ("performance_decay",) if decay.decayed else ()),
               *(["feature_drift"] if result and result.drifted_columns and not result.dataset_drift else [])]
    return {
        "ticker": ticker, "date": day, "level": level(result, decay), "reasons": ",".join(reasons),
        "registered_model": champion["registered_model"], "model_version": int(champion["model_version"]),
        "model_as_of": champion["date"], "reference_rows": len(inputs.reference),
        "reference_matches_training": inputs.reference_matches_training, "current_rows": len(inputs.current),
        "monitored_columns": len(inputs.current.columns), "unmonitored": json.dumps(inputs.unmonitored),
        "drifted_share": result.drifted_share if result else NAN,
        "dataset_drift": result.dataset_drift if result else None,
        "drifted_features": ",".join(result.drifted_columns) if result else "", "most_drifted": json.dumps(top),
        "prediction_score": prediction.score if prediction else NAN,
        "prediction_threshold": prediction.threshold if prediction else NAN,
        "prediction_drift": prediction.drifted if prediction else None, "matured_labels": decay.n_matured,
        "realized_auc": decay.realized_auc, "realized_auc_ci_low": decay.realized_auc_ci[0],
        "realized_auc_ci_high": decay.realized_auc_ci[1], "realized_accuracy": decay.realized_accuracy,
        "oos_auc": decay.oos_auc, "oos_auc_ci_low": decay.oos_auc_ci[0], "oos_auc_ci_high": decay.oos_auc_ci[1],
        "performance_decay": decay.decayed, "report_html": files[0], "report_json": files[1], "seconds": seconds,
    }


def _metadata(row: dict, result: DriftResult | None, decay: PerformanceDecay) -> dict[str, dg.MetadataValue]:
    meta = {
        "dagster/row_count": dg.MetadataValue.int(1),
        "level": dg.MetadataValue.text(row["level"]),
        "performance": dg.MetadataValue.md(decay.markdown() + " Decay is flagged when the realized AUC's 95% CI high "
                                           "lies below the OOS CI low."),
        "champion": dg.MetadataValue.text(f"{row['registered_model']} v{row['model_version']} as of "
                                          f"{row['model_as_of']:%Y-%m-%d} ({row['reference_rows']} training rows)"),
        "report_json": dg.MetadataValue.path(row["report_json"]),
        "seconds": dg.MetadataValue.float(row["seconds"]),
    }
    if json.loads(row["unmonitored"]):
        meta["unmonitored"] = dg.MetadataValue.json(json.loads(row["unmonitored"]))
    if result is None:
        return meta
    top = pd.DataFrame([{"column": c.column, "statistic": f"{c.stattest} {'p-value' if c.score_is_p_value else 'distance'}",
                         "score": c.score, "threshold": c.threshold, "drifted": c.drifted}
                        for c in result.most_drifted])
    meta |= {
        "drifted_share": dg.MetadataValue.float(result.drifted_share),
        "dataset_drift": dg.MetadataValue.bool(result.dataset_drift),
        "drifted_features": dg.MetadataValue.text(row["drifted_features"] or "none"),
        "most_drifted": dg.MetadataValue.md(top.to_markdown(index=False, floatfmt=".4g")),
        "report": dg.MetadataValue.url(Path(row["report_html"]).as_uri()),
        "summary": dg.MetadataValue.md(result.markdown()),
    }
    if result.prediction is not None:
        meta["prediction_drift"] = dg.MetadataValue.text(result.prediction.describe())
    return meta


def _store(lake: LakeResource, ticker: str, day: pd.Timestamp, inputs: DriftInputs, decay: PerformanceDecay,
           result: DriftResult | None) -> tuple[str, str]:
    """The HTML report ('' without one) and the JSON summary as artefacts of the partition."""
    summary = (result.to_dict() if result
               else {"ticker": ticker, "as_of": f"{day:%Y-%m-%d}", "performance": decay.to_dict()})
    report_json = lake.store_artifact(ASSET, ticker, day, "report.json",
                                      json.dumps({**summary, "unmonitored": inputs.unmonitored}, indent=2))
    if result is None:
        return "", str(report_json)
    html = lake.store_artifact(ASSET, ticker, day, "report.html", result.snapshot.get_html_str(as_iframe=False))
    return str(html), str(report_json)


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep("predictions"), dg.AssetDep("trained_model", partition_mapping=dg.AllPartitionMapping()),
          dg.AssetDep("training_table", partition_mapping=dg.AllPartitionMapping())],
    group_name="drift",
    kinds={"python", "evidently", "parquet"},
    description="Partition D|T compares T's features over the FA_DRIFT_WINDOW sessions ending at D (default 20) with "
    "the training rows of the champion that predicted D (its data description's rows, rebuilt as of its as-of date), "
    "with Evidently's DataDriftPreset; the champion's out-of-fold probabilities with the window's predicted ones; and "
    "its realized AUC and accuracy over its last FA_DRIFT_PERFORMANCE_WINDOW matured labels with its OOS AUC. Each "
    "column is scored with the Wasserstein distance against a threshold calibrated on the reference's own 20-row "
    "windows (5% false alarms), not Evidently's automatic test: above 1,000 reference rows that is a Wasserstein "
    "distance with a fixed 0.1, which 20 current rows exceed on every drift-free window, and a K-S p-value, which "
    "flags 65-90% of drift-free windows of autocorrelated features (see financial_assets/drift/config.py); "
    "calibrating needs about 410 reference values per column, and a column with fewer is listed as unmonitored. "
    "Dataset drift at 25% of the columns; decay when the realized AUC's 95% CI high is below the OOS CI low. HTML and "
    "JSON reports are artefacts (metadata `report`), a summary row per partition is the lake table drift_report. A run "
    "over several dates reports only the last session of each FA_DRIFT_CALENDAR period and its last date (4-6 s "
    "a report); a run over one date reports it. Dates without a champion's prediction are not materialized.",
)
def drift_report(context: dg.AssetExecutionContext, lake: LakeResource, market: MarketResource,
                 drift: DriftResource) -> None:
    wanted = dates_by_ticker(planned_partitions(context))
    run = pd.DatetimeIndex(sorted(set().union(*wanted.values())))
    dates = drift.report_dates(run, market.sessions())
    scope = {ticker: days[days.isin(dates)] for ticker, days in wanted.items()}
    tables = Tables.read(lake, list(wanted), run.max())
    config, rows, metadata = DriftConfig(), [], {}
    for ticker, days in scope.items():
        for day in days:
            began = time.perf_counter()
            try:
                inputs = partition_inputs(tables, ticker, day, drift.window, config)
                if inputs is None:
                    continue
                decay = _decay(inputs, ticker, day, drift.performance_window)
                result = _report(inputs, decay, ticker, day, config)
            except BarDataError as error:
                context.log.warning(f"drift_report: no report: {error}")
                continue
            files = _store(lake, ticker, day, inputs, decay, result)
            rows.append(_row(ticker, day, inputs, decay, result, files, time.perf_counter() - began))
            metadata[bar_key(day, ticker)] = _metadata(rows[-1], result, decay)
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    lake.write(ASSET, frame, scope)
    if rows:
        context.log.info(f"drift_report: {len(rows)} reports on {len(dates)} of the run's {len(run)} dates in "
                         f"{frame['seconds'].sum():.1f} s ({frame['seconds'].mean():.2f} s each); levels "
                         f"{frame['level'].value_counts().to_dict()}")
    report_partitions(context, ASSET, metadata)
