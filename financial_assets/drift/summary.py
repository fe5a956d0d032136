"""The command line's drift summary: per ticker, its newest drift report's level and what drifted."""

from __future__ import annotations

import pandas as pd


def summary_lines(reports: pd.DataFrame) -> list[str]:
    """Per ticker, its newest report: level and reasons, drifted features and share, prediction drift, realized AUC
    beside the champion's out-of-sample interval, and the report's URL."""
    if reports.empty:
        return []
    lines = []
    for row in reports.sort_values(["ticker", "date"]).groupby("ticker").tail(1).itertuples():
        drifted = row.drifted_features or "no feature"
        share = "" if pd.isna(row.drifted_share) else f" ({row.drifted_share:.0%} of {row.monitored_columns})"
        auc = ("realized AUC n/a" if pd.isna(row.realized_auc) else
               f"realized AUC {row.realized_auc:.3f} over {row.matured_labels} labels")
        predicted = "yes" if pd.notna(row.prediction_drift) and row.prediction_drift else "no"
        lines.append(f"{row.ticker} {row.date:%Y-%m-%d}: {row.level.upper()}"
                     f"{' (' + row.reasons + ')' if row.reasons else ''}: drifted {drifted}{share}; prediction drift "
                     f"{predicted}; {auc} vs OOS [{row.oos_auc_ci_low:.3f}, "
                     f"{row.oos_auc_ci_high:.3f}]; champion {row.registered_model} v{row.model_version}"
                     + (f"; report {row.report_url}" if row.report_url else ""))
    return lines
