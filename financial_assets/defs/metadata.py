"""Metadata of a run's partitions (each describes its own partition) and the guard for missing upstream data."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.defs.partitions import bar_key

#: partitions named in an error message before "and N more"
LISTED = 5


def partition_metadata(frame: pd.DataFrame, wanted: Mapping[str, pd.DatetimeIndex],
                       extra: Mapping[str, Mapping[str, dg.MetadataValue]] | None = None
                       ) -> dict[str, dict[str, dg.MetadataValue]]:
    """{partition key: metadata} for every (ticker, date) of `wanted`: its own row count plus `extra`."""
    counts = frame.groupby(["ticker", "date"]).size() if len(frame) else pd.Series(dtype="int64")
    lookup = {bar_key(d, t): int(n) for (t, d), n in counts.items()}
    out: dict[str, dict[str, dg.MetadataValue]] = {}
    for ticker, dates in wanted.items():
        for day in dates:
            key = bar_key(day, ticker)
            out[key] = {"dagster/row_count": dg.MetadataValue.int(lookup.get(key, 0)), **(extra or {}).get(key, {})}
    return out


def date_metadata(frame: pd.DataFrame, dates: pd.DatetimeIndex) -> dict[str, dict[str, dg.MetadataValue]]:
    """{date key: metadata} for date-only partitions: the row count and, for per-ticker tables, the tickers."""
    rows = frame.groupby("date").size() if len(frame) else pd.Series(dtype="int64")
    tickers = frame.groupby("date")["ticker"].nunique() if len(frame) and "ticker" in frame.columns else None
    out = {}
    for day in dates:
        meta = {"dagster/row_count": dg.MetadataValue.int(int(rows.get(day, 0)))}
        if tickers is not None:
            meta["tickers"] = dg.MetadataValue.int(int(tickers.get(day, 0)))
        out[day.date().isoformat()] = meta
    return out


def column_summary(frame: pd.DataFrame, newest: int = 5) -> dict[str, dg.MetadataValue]:
    """Run-level summary of a table: per numeric column non-null share, min and max, and the newest rows."""
    numeric = frame.select_dtypes("number")
    stats = pd.DataFrame({"non_null_share": numeric.notna().mean(), "min": numeric.min(), "max": numeric.max()})
    newest_rows = frame.sort_values("date").tail(newest) if "date" in frame.columns else frame.tail(newest)
    return {
        "column_summary": dg.MetadataValue.md(stats.round(6).to_markdown() if len(stats) else "_no numeric columns_"),
        "newest_rows": dg.MetadataValue.md(newest_rows.to_markdown(index=False) if len(frame) else "_no rows_"),
    }


def require_upstream(context: dg.AssetExecutionContext, upstream: str, wanted: Mapping[str, pd.DatetimeIndex]) -> None:
    """Fail unless every partition of `wanted` of `upstream` was materialized (or is built in this run)."""
    key = dg.AssetKey.from_user_string(upstream)
    in_run = context.run.asset_selection
    if key in context.job_def.asset_layer.executable_asset_keys and (in_run is None or key in in_run):
        return
    done = context.instance.get_materialized_partitions(key)
    missing = [bar_key(d, t) for t, dates in wanted.items() for d in dates if bar_key(d, t) not in done]
    if missing:
        more = f" and {len(missing) - LISTED} more" if len(missing) > LISTED else ""
        raise BarDataError("upstream_materialized", f"{upstream} was never materialized for {len(missing)} of the "
                           f"run's partitions: {', '.join(missing[:LISTED])}{more}; materialize {upstream} for them "
                           "first", ticker=missing[0].split("|")[1], date=missing[0].split("|")[0])
