"""The drift_report asset: feature drift, prediction drift and performance decay of the champion in force at D."""

import json
import time

import dagster as dg
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.defs.drift.inputs import DriftInputs, Tables, partition_inputs
from financial_assets.defs.drift.resources import DriftResource
from financial_assets.defs.partitions import bar_key
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.defs.ticker_date import TickerDates, Written, ticker_date_asset
from financial_assets.drift import DriftConfig, DriftResult, PerformanceDecay, performance_decay, score_drift
from financial_assets.drift.report import Calibration, calibrate
from financial_assets.drift.rules import decayed_beyond_interval
from financial_assets.tracking.store import mlflow_run_url

ASSET = "drift_report"
#: the summary row of a partition in the lake table drift_report
SUMMARY_COLUMNS = (
    "ticker", "date", "level", "reasons", "registered_model", "model_version", "model_as_of", "reference_rows",
    "reference_matches_training", "current_rows", "monitored_columns", "unmonitored", "drifted_share",
    "dataset_drift", "drifted_features", "unusual_features", "most_drifted", "prediction_score",
    "prediction_threshold", "prediction_drift", "matured_labels", "realized_auc", "realized_auc_ci_low",
    "realized_auc_ci_high", "realized_accuracy", "oos_auc", "oos_auc_ci_low", "oos_auc_ci_high", "performance_decay",
    "report_url", "report_json_url", "html_rendered", "champion_run_url", "seconds")
#: levels whose HTML report is rendered with the run (what alerts and retraining act on); the others' is rendered when
#: first opened (report_server): warn flags 5-8% of drift-free windows (README), and a report costs seconds
RENDERED = ("error",)
NAN = float("nan")
#: a run's calibrations, by champion, window rows and columns: every date a champion served shares its reference
CalibrationKey = tuple[str, int, int, tuple[str, ...]]


def level(result: DriftResult | None, decay: PerformanceDecay) -> str:
    """error: a feature drifted beyond its reference's own windows (family-wise) or decay beyond the OOS interval;
    warn: a feature beyond the family-wise warn level, or the predicted probabilities drifted; unmonitored: no
    column could be compared (the champion's reference is too short to calibrate); else ok."""
    if decay.decayed or (result is not None and result.dataset_drift):
        return "error"
    if result is None:
        return "unmonitored"
    if result.unusual_columns or (result.prediction is not None and result.prediction.drifted):
        return "warn"
    return "ok"


def _decay(inputs: DriftInputs, ticker: str, day: pd.Timestamp, window: int) -> PerformanceDecay:
    champion = inputs.champion
    decay = performance_decay(inputs.outcomes, as_of=day, oos_auc=champion["oos_auc"],
                              oos_auc_ci=(champion["oos_auc_ci_low"], champion["oos_auc_ci_high"]), window=window,
                              ticker=ticker)
    return decayed_beyond_interval(decay)


def _report(inputs: DriftInputs, decay: PerformanceDecay, ticker: str, day: pd.Timestamp, config: DriftConfig,
            calibrations: dict[CalibrationKey, Calibration]) -> DriftResult | None:
    """The scored report, or None when no column can be compared; calibrations are reused across the run's dates."""
    if inputs.current.columns.empty:
        return None
    columns = list(inputs.current.columns)
    champion = inputs.champion
    key = (str(champion["registered_model"]), int(champion["model_version"]), len(inputs.current), tuple(columns))
    if key not in calibrations:
        calibrations[key] = calibrate(inputs.reference, columns, len(inputs.current), config, memory=inputs.memory,
                                      reference_predictions=inputs.reference_predictions, ticker=ticker, as_of=day)
    return score_drift(inputs.reference, inputs.current, columns, config, memory=inputs.memory, ticker=ticker,
                       as_of=day, reference_predictions=inputs.reference_predictions,
                       current_predictions=inputs.current_predictions, performance=decay, calibration=calibrations[key])


def _reasons(result: DriftResult | None, decay: PerformanceDecay) -> list[str]:
    if result is None:
        return ["performance_decay"] if decay.decayed else []
    return list(result.alarms)


def _row(ticker: str, day: pd.Timestamp, inputs: DriftInputs, decay: PerformanceDecay, result: DriftResult | None,
         links: dict[str, str], rendered: bool, seconds: float) -> dict:
    champion, prediction = inputs.champion, result.prediction if result else None
    top = [{"column": c.column, "stattest": c.stattest, "score": c.score, "warn_threshold": c.warn_threshold,
            "threshold": c.threshold, "drifted": c.drifted} for c in (result.most_drifted if result else ())]
    return {
        "ticker": ticker, "date": day, "level": level(result, decay), "reasons": ",".join(_reasons(result, decay)),
        "registered_model": champion["registered_model"], "model_version": int(champion["model_version"]),
        "model_as_of": champion["date"], "reference_rows": len(inputs.reference),
        "reference_matches_training": inputs.reference_matches_training, "current_rows": len(inputs.current),
        "monitored_columns": len(inputs.current.columns), "unmonitored": json.dumps(inputs.unmonitored),
        "drifted_share": result.drifted_share if result else NAN,
        "dataset_drift": result.dataset_drift if result else None,
        "drifted_features": ",".join(result.drifted_columns) if result else "",
        "unusual_features": ",".join(result.unusual_columns) if result else "", "most_drifted": json.dumps(top),
        "prediction_score": prediction.score if prediction else NAN,
        "prediction_threshold": prediction.threshold if prediction else NAN,
        "prediction_drift": prediction.drifted if prediction else None, "matured_labels": decay.n_matured,
        "realized_auc": decay.realized_auc, "realized_auc_ci_low": decay.realized_auc_ci[0],
        "realized_auc_ci_high": decay.realized_auc_ci[1], "realized_accuracy": decay.realized_accuracy,
        "oos_auc": decay.oos_auc, "oos_auc_ci_low": decay.oos_auc_ci[0], "oos_auc_ci_high": decay.oos_auc_ci[1],
        "performance_decay": decay.decayed, "report_url": links.get("report", ""),
        "report_json_url": links["report_json"], "html_rendered": rendered,
        "champion_run_url": links.get("champion_run", ""), "seconds": seconds,
    }


def _metadata(row: dict, result: DriftResult | None, decay: PerformanceDecay) -> dict[str, dg.MetadataValue]:
    meta = {
        "dagster/row_count": dg.MetadataValue.int(1),
        "level": dg.MetadataValue.text(row["level"]),
        "reasons": dg.MetadataValue.text(row["reasons"] or "none"),
        "performance": dg.MetadataValue.md(decay.markdown() + " Decay is flagged when the realized AUC's 95% CI high "
                                           "lies below the OOS CI low."),
        "champion": dg.MetadataValue.text(f"{row['registered_model']} v{row['model_version']} as of "
                                          f"{row['model_as_of']:%Y-%m-%d} ({row['reference_rows']} training rows)"),
        "report_json": dg.MetadataValue.url(row["report_json_url"]),
        "seconds": dg.MetadataValue.float(row["seconds"]),
    }
    if row["champion_run_url"]:
        meta["champion_mlflow_run"] = dg.MetadataValue.url(row["champion_run_url"])
    if json.loads(row["unmonitored"]):
        meta["unmonitored"] = dg.MetadataValue.json(json.loads(row["unmonitored"]))
    if result is None:
        return meta
    top = pd.DataFrame([{"column": c.column, "distance": c.score, "warn at": c.warn_threshold,
                         "drift at": c.threshold, "drifted": c.drifted} for c in result.most_drifted])
    meta |= {
        "drifted_share": dg.MetadataValue.float(result.drifted_share),
        "dataset_drift": dg.MetadataValue.bool(result.dataset_drift),
        "drifted_features": dg.MetadataValue.text(row["drifted_features"] or "none"),
        "unusual_features": dg.MetadataValue.text(row["unusual_features"] or "none"),
        "most_drifted": dg.MetadataValue.md(top.to_markdown(index=False, floatfmt=".4g")),
        "report": dg.MetadataValue.url(row["report_url"]),
        "summary": dg.MetadataValue.md(result.markdown()),
    }
    if result.prediction is not None:
        meta["prediction_drift"] = dg.MetadataValue.text(result.prediction.describe())
    return meta


def report_json(ticker: str, day: pd.Timestamp, inputs: DriftInputs, decay: PerformanceDecay,
                result: DriftResult | None) -> str:
    """The partition's JSON summary: the result's numbers (or the decay alone) and the unmonitored columns."""
    summary = (result.to_dict() if result
               else {"ticker": ticker, "as_of": f"{day:%Y-%m-%d}", "performance": decay.to_dict()})
    return json.dumps({**summary, "unmonitored": inputs.unmonitored}, indent=2)


def _store(lake: LakeResource, drift: DriftResource, ticker: str, day: pd.Timestamp, inputs: DriftInputs,
           decay: PerformanceDecay, result: DriftResult | None, render: bool) -> dict[str, str]:
    """Store the JSON summary (and Evidently's HTML when `render`); the URLs a browser opens them at."""
    root = lake.artifacts.root
    links = {"report_json": drift.artifact_url(lake.store_artifact(ASSET, ticker, day, "report.json", report_json(
        ticker, day, inputs, decay, result)).relative_to(root))}
    if result is not None:
        html = lake.artifacts.path(ASSET, ticker, day, "report.html")
        if render:
            lake.store_artifact(ASSET, ticker, day, "report.html", result.html())
        else:
            html.unlink(missing_ok=True)  # a report of an earlier run of the partition is stale
        links["report"] = drift.artifact_url(html.relative_to(root))
    if isinstance(inputs.champion.get("mlflow_run_id"), str):
        links["champion_run"] = mlflow_run_url(drift.mlflow_ui_url, inputs.champion["mlflow_run_id"])
    return links


@ticker_date_asset(
    deps=[dg.AssetDep("predictions"), dg.AssetDep("trained_model", partition_mapping=dg.AllPartitionMapping()),
          dg.AssetDep("training_table", partition_mapping=dg.AllPartitionMapping())],
    group="drift",
    kinds={"evidently"},
    description="Partition D|T compares T's features over the FA_DRIFT_WINDOW sessions ending at D (default 20) with "
    "the training rows of the champion that predicted D (its data description's rows, rebuilt as of its as-of date); "
    "the champion's out-of-fold probabilities with the window's predicted ones; and its realized AUC and accuracy over "
    "its last FA_DRIFT_PERFORMANCE_WINDOW matured labels with its OOS AUC. Calendar features are not compared (a "
    "function of the date). Each feature is scored with Evidently's normed Wasserstein distance against thresholds "
    "calibrated on the reference's own 20-row windows, each taken out with a margin of the feature's lookback; the "
    "verdict is family-wise: drift (ERROR) when a feature lies farther than in any of the reference's windows once the "
    "other features' chances are counted, warn beyond the family-wise 95% level (see financial_assets/drift/config.py "
    "and the README for the false-alarm rates measured on random walks and real series). A feature is compared when "
    "the reference holds 10 independent windows of it (window plus twice its lookback each). Decay when the realized "
    "AUC's 95% CI high is below the OOS CI low. The JSON summary and, for error, Evidently's HTML report are "
    "artefacts served over HTTP (metadata `report`, `report_json`; FA_ARTIFACTS_URL; the other partitions' HTML is "
    "rendered when first opened); `champion_mlflow_run` links the champion's MLflow run; a summary row per partition "
    "is the lake table drift_report. A run over several dates reports only the last session of each FA_DRIFT_CALENDAR "
    "period and its last date; a run over one date reports it. Dates without a champion's prediction are not "
    "materialized.",
)
def drift_report(run: TickerDates, lake: LakeResource, market: MarketResource, drift: DriftResource) -> Written:
    """The drift report of each reported date of the run against the champion that predicted it."""
    dates = drift.report_dates(run.dates, market.sessions())
    scope = {ticker: days[days.isin(dates)] for ticker, days in run.wanted.items()}
    tables = Tables.read(lake, run.tickers, run.last)
    config, rows, metadata, calibrations = DriftConfig(), [], {}, {}
    for ticker, days in scope.items():
        for day in days:
            began = time.perf_counter()
            try:
                inputs = partition_inputs(tables, ticker, day, drift.window, config)
                if inputs is None:
                    continue
                decay = _decay(inputs, ticker, day, drift.performance_window)
                result = _report(inputs, decay, ticker, day, config, calibrations)
            except BarDataError as error:
                run.context.log.warning(f"drift_report: no report: {error}")
                continue
            render = level(result, decay) in RENDERED
            links = _store(lake, drift, ticker, day, inputs, decay, result, render)
            rows.append(_row(ticker, day, inputs, decay, result, links, render and result is not None,
                             time.perf_counter() - began))
            metadata[bar_key(day, ticker)] = _metadata(rows[-1], result, decay)
    # nullable verdicts stay boolean in every file, also where a partition had none to give
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)).astype({"dataset_drift": "boolean",
                                                                      "prediction_drift": "boolean"})
    if rows:
        run.context.log.info(f"drift_report: {len(rows)} reports on {len(dates)} of the run's {len(run.dates)} "
                             f"dates in {frame['seconds'].sum():.1f} s ({frame['seconds'].mean():.2f} s each, "
                             f"{int(frame['html_rendered'].sum())} HTML reports rendered); levels "
                             f"{frame['level'].value_counts().to_dict()}")
    return Written.per_metadata(frame, scope, metadata)


def render_html(lake: LakeResource, ticker: str, day: pd.Timestamp, window: int, performance_window: int) -> str | None:
    """Evidently's HTML report of partition day|ticker, recomputed from the lake as drift_report computed it
    (None when the partition has no report to render); what the report server renders on demand."""
    tables = Tables.read(lake, [ticker], day)
    config = DriftConfig()
    inputs = partition_inputs(tables, ticker, day, window, config)
    if inputs is None:
        return None
    decay = _decay(inputs, ticker, day, performance_window)
    result = _report(inputs, decay, ticker, day, config, {})
    return None if result is None else result.html()
