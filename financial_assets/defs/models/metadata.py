"""The per-partition metadata of cv_folds and trained_model: the data a model read, its folds, its numbers and
promotion decisions, and its report with the plots inline."""

from __future__ import annotations

import base64

import dagster as dg
import pandas as pd

from financial_assets.defs.models.ledger import METRICS
from financial_assets.defs.partitions import bar_key
from financial_assets.models import DataDescription, TrainingResult
from financial_assets.models.folds import AsOfFolds
from financial_assets.tracking.store import mlflow_run_url


def data_metadata(data: DataDescription) -> dict[str, dg.MetadataValue]:
    """Which rows a model read: tickers, first and last sample date, rows and their hash."""
    facts = data.as_metadata()
    return {"data_tickers": dg.MetadataValue.text(facts["tickers"]),
            "data_first_date": dg.MetadataValue.text(facts["first_date"]),
            "data_last_date": dg.MetadataValue.text(facts["last_date"]),
            "data_rows": dg.MetadataValue.int(facts["rows"]), "data_hash": dg.MetadataValue.text(facts["data_hash"])}


def fold_metadata(folds: AsOfFolds, tickers: list[str]) -> dict[str, dict[str, dg.MetadataValue]]:
    """Per partition of cv_folds with folds: its rows, the folds' summary and the data they split."""
    counts = folds.table["ticker"].value_counts()
    summary = dg.MetadataValue.md(folds.summary.to_markdown())
    return {bar_key(folds.table["date"].iloc[0], t): {"dagster/row_count": dg.MetadataValue.int(int(counts[t])),
                                                      "fold_summary": summary, **data_metadata(folds.data)}
            for t in tickers if t in counts.index}


def _png(name: str, png: bytes) -> str:
    """Markdown showing a PNG inline: the UI renders images embedded as data URIs."""
    return f"![{name}](data:image/png;base64,{base64.b64encode(png).decode()})"


def model_metadata(results: list[TrainingResult], rows: pd.DataFrame,
                   mlflow_ui_url: str) -> dict[str, dict[str, dg.MetadataValue]]:
    """Per partition written: the data read, one line per model trained with its numbers and promotion decision, what
    serves after the decisions ("no champion" when nothing passed the gate) and why, a link to each model's MLflow run,
    and the report with its plots."""
    table = rows[["ticker", "model_type", "model_version", "alias", "gate_passed", "promotion_decision",
                  "serving_version", *METRICS, "baseline_majority_auc", "baseline_previous_sign_auc", "trials"]]
    report = "\n\n".join(r.report + "\n" + "\n".join(_png(n, png) for n, png in r.images.items()) for r in results)
    out = {}
    for ticker, mine in table.groupby("ticker"):
        decided = rows.loc[rows["ticker"] == ticker]
        last = decided.iloc[-1]
        meta = {"dagster/row_count": dg.MetadataValue.int(len(mine)), **data_metadata(results[0].data),
                "models": dg.MetadataValue.md(mine.drop(columns="ticker").to_markdown(index=False, floatfmt=".4f")),
                "serving": dg.MetadataValue.text("no champion" if pd.isna(last["serving_version"])
                                                 else f"v{last['serving_version']}"),
                "promotion": dg.MetadataValue.md("\n".join(
                    f"- v{r.model_version} ({r.model_type}): **{r.promotion_decision}**: {r.promotion_reason}"
                    for r in decided.itertuples())),
                "mlflow_run_ids": dg.MetadataValue.text(", ".join(decided["mlflow_run_id"])),
                "report": dg.MetadataValue.md(report)}
        meta |= {f"oos_auc_{m.model_type}": dg.MetadataValue.float(m.oos_auc) for m in mine.itertuples()}
        if mlflow_ui_url:
            meta |= {f"mlflow_run_{r.model_type}": dg.MetadataValue.url(mlflow_run_url(mlflow_ui_url, r.mlflow_run_id))
                     for r in decided.itertuples()}
        out[bar_key(results[0].data.as_of, ticker)] = meta
    return out
