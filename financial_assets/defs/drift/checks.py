"""drift_check: the current drift state of every ticker (its newest drift report), evaluated once per run.

A check's status in the UI is its latest evaluation, so an evaluation over the run's reports alone
turned the check green after a one-ticker run while another ticker was still drifted. This check reads
each ticker's newest drift_report partition, whichever run made it: ERROR while any ticker's newest
report finds drift or decay, WARN while any is at warn. The run's own reports are counted beside it.
Unpartitioned, as every check of the project: a drift_report range covers every date of its run (the
whole history in `make run`: 16,350 partitions), and a partitioned check would plan one row per
partition. The evaluation's `errors` metadata names each ticker at ERROR with its date, champion,
reasons, drifted features and links: the retraining sensor reads it back with `drift_errors`.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from financial_assets.defs.partitions import dates_by_ticker
from financial_assets.defs.resources import LakeResource

ASSET = dg.AssetKey("drift_report")
CHECK_KEY = dg.AssetCheckKey(ASSET, "drift_check")
#: columns of the per-ticker table in the check's metadata
LISTED = ["ticker", "date", "level", "reasons", "drifted_features", "unusual_features", "realized_auc_ci_high",
          "oos_auc_ci_low", "report_url"]
#: the numbers an ERROR entry carries into alerts
NUMBERS = ("drifted_share", "realized_auc", "realized_auc_ci_high", "oos_auc_ci_low")


@dataclass(frozen=True)
class DriftError:
    """One ticker whose newest report is at ERROR: when, under which champion, what fired, and where to look."""

    ticker: str
    date: str
    model: str  # the champion that served the date: `fa_AAPL_dir_5 v3`
    reasons: tuple[str, ...]
    drifted_features: tuple[str, ...]
    report: str  # HTTP URL of the HTML report
    champion_run: str  # HTTP URL of the champion's MLflow run ('' when unknown)
    numbers: dict[str, float]  # drifted share, realized AUC and its CI high, the OOS CI low (those known)


def drift_errors(evaluation: dg.AssetCheckEvaluation) -> list[DriftError]:
    """The tickers at ERROR listed in a drift_check evaluation's metadata."""
    entry = evaluation.metadata.get("errors")
    return [DriftError(e["ticker"], e["date"], e["model"], tuple(e["reasons"]), tuple(e["drifted_features"]),
                       e["report"], e["champion_run"], e["numbers"])
            for e in (entry.value if entry is not None else [])]


def newest_partitions(instance: dg.DagsterInstance) -> dict[str, str]:
    """Each ticker's newest materialized drift_report date (ISO)."""
    newest: dict[str, str] = {}
    for key in instance.get_materialized_partitions(ASSET):
        day, _, ticker = str(key).partition("|")
        newest[ticker] = max(day, newest.get(ticker, day))
    return newest


def current_reports(lake: LakeResource, newest: Mapping[str, str]) -> pd.DataFrame:
    """The drift_report rows of each ticker's newest partition, read one date at a time."""
    by_day: dict[str, list[str]] = {}
    for ticker, day in newest.items():
        by_day.setdefault(day, []).append(ticker)
    frames = [lake.read(ASSET.path[-1], sorted(tickers), start=day, end=day) for day, tickers in sorted(by_day.items())]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LISTED)


def _run_levels(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dict[str, int]:
    """How many of the run's own reports are at each level (a multi-date run has them at its report dates only)."""
    wanted = dates_by_ticker(context.op_execution_context.partition_keys)
    rows = lake.read_span(ASSET.path[-1], wanted)
    if rows.empty:
        return {}
    keys = pd.MultiIndex.from_tuples([(t, d) for t, dates in wanted.items() for d in dates])
    mine = rows.loc[pd.MultiIndex.from_frame(rows[["ticker", "date"]]).isin(keys)]
    return {str(k): int(v) for k, v in mine["level"].value_counts().items()}


def _error_entry(row: pd.Series) -> dict:
    return {"ticker": row["ticker"], "date": f"{row['date']:%Y-%m-%d}",
            "model": f"{row['registered_model']} v{int(row['model_version'])}", "reasons": row["reasons"].split(","),
            "drifted_features": [f for f in row["drifted_features"].split(",") if f],
            "report": row["report_url"] or row["report_json_url"], "champion_run": row["champion_run_url"],
            "numbers": {k: float(row[k]) for k in NUMBERS if pd.notna(row[k])}}


@dg.asset_check(
    asset="drift_report",
    blocking=False,
    description="Once per run, the current state of every ticker: its newest drift report, whichever run made it. "
    "ERROR while a ticker's newest report finds drift (a feature beyond every one of its reference's own windows, "
    "family-wise) or performance decay beyond the champion's interval (realized AUC CI high below the OOS CI low); "
    "WARN while one is beyond the family-wise warn level or its predicted probabilities drifted. The metadata lists "
    "every ticker's level with its report, `errors` (what the retraining sensor acts on), and the levels of this "
    "run's own reports.",
)
def drift_check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    """Every ticker's newest drift level, whichever run made it: ERROR while one drifted."""
    rows = current_reports(lake, newest_partitions(context.instance))
    flagged = rows.loc[rows["level"].isin(["warn", "error"])]
    errors = flagged.loc[flagged["level"] == "error"]
    table = rows[LISTED].sort_values(["level", "ticker"]) if len(rows) else rows
    return dg.AssetCheckResult(
        passed=flagged.empty,
        severity=dg.AssetCheckSeverity.ERROR if len(errors) else dg.AssetCheckSeverity.WARN,
        metadata={
            "tickers_checked": dg.MetadataValue.int(len(rows)),
            "errors_count": dg.MetadataValue.int(len(errors)),
            "warnings_count": dg.MetadataValue.int(len(flagged) - len(errors)),
            "unmonitored_count": dg.MetadataValue.int(int((rows["level"] == "unmonitored").sum())),
            "errors": dg.MetadataValue.json([_error_entry(r) for _, r in errors.iterrows()]),
            "current_state": dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4f") if len(table)
                                                 else "_no drift report yet_"),
            "this_run_levels": dg.MetadataValue.json(_run_levels(context, lake)),
        },
    )
