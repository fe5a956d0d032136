"""Metrics of the lake for DVC: one small JSON file per pipeline stage, read by `dvc metrics show / diff`.

`dvc.yaml` runs `python -m financial_assets.app.dvc_metrics <stage> --out metrics/<stage>.json`
after each stage's `financial-assets materialize`. Every value is computed from the Parquet lake
alone (not from Dagster's instance), so the numbers describe exactly the data DVC versions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from financial_assets.backtest.track_record import HISTORY
from financial_assets.settings import env
from financial_assets.storage.lake import ParquetLake

STAGES = ("ingest", "validate", "features", "labels", "sql", "train", "backtest")
_KEYS = ("ticker", "date")


def _span(frame: pd.DataFrame) -> dict[str, object]:
    if not len(frame):
        return {"rows": 0, "tickers": 0, "first_date": None, "last_date": None}
    return {"rows": int(len(frame)), "tickers": int(frame["ticker"].nunique()),
            "first_date": frame["date"].min().date().isoformat(), "last_date": frame["date"].max().date().isoformat()}


def _null_share(frame: pd.DataFrame) -> float:
    values = frame.drop(columns=[c for c in frame.columns if c in _KEYS])
    return round(float(values.isna().to_numpy().mean()), 6) if values.size else 0.0


def ingest_metrics(lake: ParquetLake) -> dict[str, object]:
    """Raw bars per ticker, their span and how many source files were rejected."""
    raw = lake.read("raw_bars")
    rejected = lake.read("source_rejections")
    return {**_span(raw), "bars_by_ticker": raw.groupby("ticker").size().astype(int).to_dict() if len(raw) else {},
            "source_rejections": int(len(rejected))}


def validate_metrics(lake: ParquetLake) -> dict[str, object]:
    """Validated rows, the rejected share and the quarantine records by severity and rule."""
    raw = lake.read("raw_bars", columns=["ticker", "date"])
    good = lake.read("validated_bars")
    bad = lake.read("quarantined_bars")
    severity = bad["severity"].value_counts().to_dict() if len(bad) else {}
    return {
        **_span(good),
        "raw_rows": int(len(raw)),
        "rejected_share": round(1 - len(good) / len(raw), 6) if len(raw) else 0.0,
        "quarantine_records": int(len(bad)),
        "quarantine_error": int(severity.get("ERROR", 0)),
        "quarantine_warn": int(severity.get("WARN", 0)),
        "quarantine_by_rule": bad["rule"].value_counts().astype(int).to_dict() if len(bad) else {},
        "corporate_actions": int(good["corporate_action"].sum()) if "corporate_action" in good else 0,
    }


def features_metrics(lake: ParquetLake) -> dict[str, object]:
    """The features' span, how many there are and their null share."""
    frame = lake.read("features")
    return {**_span(frame), "features": int(len([c for c in frame.columns if c not in _KEYS])),
            "null_share": _null_share(frame)}


def labels_metrics(lake: ParquetLake) -> dict[str, object]:
    """The labels' span, null share and the up share of each direction label."""
    frame = lake.read("labels")
    out: dict[str, object] = {**_span(frame), "null_share": _null_share(frame)}
    for column in sorted(c for c in frame.columns if c.startswith("dir_")):
        known = frame[column].dropna()
        out[f"{column}_up_share"] = round(float((known > 0).mean()), 6) if len(known) else None
    return out


def sql_metrics(lake: ParquetLake) -> dict[str, object]:
    """The SQL models' sizes: the training table's span, columns and null share, and the other tables' rows."""
    table = lake.read("training_table")
    universe = lake.read("universe_daily")
    return {"training_table": {**_span(table), "columns": int(len(table.columns)), "null_share": _null_share(table)},
            "universe_daily_rows": int(len(universe)),
            "cross_asset_features_rows": int(len(lake.read("cross_asset_features")))}


def _rounded(row: pd.Series, columns: tuple[str, ...]) -> dict[str, object]:
    return {c: (round(float(row[c]), 6) if pd.notna(row[c]) else None) for c in columns if c in row.index}


#: per model: its out-of-fold numbers and the majority-class baseline beside them
_MODEL_NUMBERS = ("oos_auc", "oos_auc_ci_low", "oos_auc_ci_high", "oos_balanced_accuracy", "oos_accuracy",
                  "oos_log_loss", "baseline_majority_accuracy", "oos_rows", "trials")


def train_metrics(lake: ParquetLake) -> dict[str, object]:
    """Models trained and predictions made (all, and those a champion served: the others hold only the newest model's
    shadow probability); per ticker and model type, the newest model's numbers, alias and the version serving after
    its promotion decision (null: no champion)."""
    models = lake.read("trained_model")
    predictions = lake.read("predictions")
    newest: dict[str, dict[str, object]] = {}
    if len(models):
        latest = models.sort_values("date").groupby(["ticker", "model_type"]).tail(1)
        for row in latest.sort_values(["ticker", "model_type"]).itertuples(index=False):
            row = pd.Series(row._asdict())
            serving = row.get("serving_version")
            newest[f"{row['ticker']}/{row['model_type']}"] = {
                "as_of": row["date"].date().isoformat(), "alias": row["alias"],
                "serving_version": int(serving) if pd.notna(serving) else None, **_rounded(row, _MODEL_NUMBERS)}
    served = predictions.loc[predictions["probability"].notna()] if len(predictions) else predictions
    return {"models": int(len(models)), "as_of_dates": int(models["date"].nunique()) if len(models) else 0,
            "champions": int((models["alias"] == "champion").sum()) if len(models) else 0,
            "predictions": _span(predictions), "served_predictions": _span(served), "newest_model": newest}


#: per ticker: the strategy's numbers over its whole out-of-sample history, buy-and-hold's beside them
_BACKTEST_NUMBERS = ("n_bars", "total_return", "sharpe", "psr", "deflated_sharpe", "n_trials", "max_drawdown",
                     "turnover", "cost_drag", "pbo", "bh_total_return", "bh_sharpe", "bh_max_drawdown")


def backtest_metrics(lake: ParquetLake) -> dict[str, object]:
    """Ledger rows, and per ticker the newest whole-history metrics beside buy-and-hold."""
    ledger = lake.read("backtest")
    table = lake.read("backtest_metrics")
    history = table.loc[table["period"] == HISTORY].sort_values("date").groupby("ticker").tail(1) \
        if len(table) else table
    return {"ledger": _span(ledger),
            "history": {row["ticker"]: {"last_date": row["date"].date().isoformat(), "model": _traded(row),
                                        **_rounded(row, _BACKTEST_NUMBERS)}
                        for _, row in history.sort_values("ticker").iterrows()}}


def _traded(row: pd.Series) -> str:
    """The model a history row traded (named by its newest champion), or "no champion" (no position)."""
    if pd.isna(row.get("model_version")):
        return "no champion"
    return f"{row['registered_model']} v{int(row['model_version'])}"


METRICS: dict[str, Callable[[ParquetLake], dict[str, object]]] = {
    "ingest": ingest_metrics, "validate": validate_metrics, "features": features_metrics,
    "labels": labels_metrics, "sql": sql_metrics, "train": train_metrics, "backtest": backtest_metrics,
}


def write_metrics(stage: str, lake_root: Path | str, out: Path | str) -> dict[str, object]:
    """Compute the metrics of `stage` from the lake at `lake_root` and write them to `out` as JSON."""
    if stage not in METRICS:
        raise ValueError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    metrics = METRICS[stage](ParquetLake(lake_root))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Write the metrics of one stage to a JSON file, computed from the lake alone."""
    parser = argparse.ArgumentParser(prog="python -m financial_assets.app.dvc_metrics", description=__doc__)
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--lake", help="the lake folder (default: $FA_DATA_DIR/lake)")
    parser.add_argument("--out", required=True, help="the JSON file to write, e.g. metrics/ingest.json")
    args = parser.parse_args(argv)
    lake = Path(args.lake) if args.lake else Path(env("FA_DATA_DIR")) / "lake"
    if not lake.is_dir():
        print(f"error: no lake at {lake}: run the stage's `financial-assets materialize` first", file=sys.stderr)
        return 2
    write_metrics(args.stage, lake, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
