"""Partitioned checks on validated_bars: pandera (ERROR, blocking) and Great Expectations (WARN)."""


import dagster as dg
import pandas as pd

from financial_assets.defs.bars.assets import CONTEXT_BARS
from financial_assets.defs.partitions import bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.storage.lake import ParquetLake
from financial_assets.core.calendar import trading_sessions
from financial_assets.validation.gx_suite import run_gx_suite
from financial_assets.validation.pandera_schema import pandera_failures

MAX_LISTED = 20


def _rows_of_run(lake: ParquetLake, asset: str, keys: list, context_bars: int = 0,
                 sessions: pd.DatetimeIndex | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Rows of `asset` for the run's partitions (plus `context_bars` earlier bars), and a mask of the run's own rows."""
    frames, masks = [], []
    for ticker, dates in dates_by_ticker(keys).items():
        start = dates.min()
        if context_bars and sessions is not None:
            start = sessions[max(sessions.searchsorted(start) - context_bars, 0)]
        rows = lake.read(asset, [ticker], start=start, end=dates.max())
        frames.append(rows)
        masks.append(rows["date"].isin(dates) if len(rows) else pd.Series([], dtype=bool))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(), pd.Series([], dtype=bool)
    return pd.concat(frames, ignore_index=True), pd.concat(masks, ignore_index=True)


@dg.asset_check(
    asset="validated_bars",
    partitions_def=bar_partitions,
    blocking=True,
    description="pandera schema of bars (types, no nulls, prices > 0, volume >= 0, low <= open/close <= high, "
    "unique increasing dates) on the raw bars of each partition. A partition whose bar was rejected fails "
    "with ERROR and blocks downstream assets of the run.",
)
def bars_schema_pandera(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    raw, _ = _rows_of_run(lake.lake, "raw_bars", context.partition_keys)
    validated, _ = _rows_of_run(lake.lake, "validated_bars", context.partition_keys)
    raw_failures = pandera_failures(raw) if len(raw) else pd.DataFrame(columns=["index", "rule", "column"])
    stored_failures = pandera_failures(validated[raw.columns.intersection(validated.columns)]) if len(validated) else raw_failures.iloc[:0]
    listed = raw.loc[raw_failures["index"].to_numpy(), ["ticker", "date"]].reset_index(drop=True) if len(raw_failures) else None
    metadata: dict[str, dg.MetadataValue] = {
        "partitions_checked": dg.MetadataValue.int(len(context.partition_keys)),
        "raw_bars_checked": dg.MetadataValue.int(len(raw)),
        "rejected_bars": dg.MetadataValue.int(int(raw_failures["index"].nunique()) if len(raw_failures) else 0),
        "invalid_stored_rows": dg.MetadataValue.int(len(stored_failures)),
    }
    if listed is not None:
        table = pd.concat([listed, raw_failures[["rule", "column"]].reset_index(drop=True)], axis=1)
        metadata["failures"] = dg.MetadataValue.md(table.head(MAX_LISTED).to_markdown(index=False))
    return dg.AssetCheckResult(
        passed=bool(len(raw_failures) == 0 and len(stored_failures) == 0),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


@dg.asset_check(
    asset="validated_bars",
    partitions_def=bar_partitions,
    blocking=False,
    description="Great Expectations suite: the same hard rules plus distribution checks (extreme returns, "
    "stale prices, runs of zero volume) on the validated bars. Failures are WARN: they never block.",
)
def bars_suite_great_expectations(
    context: dg.AssetCheckExecutionContext, lake: LakeResource, market: MarketResource
) -> dg.AssetCheckResult:
    sessions = trading_sessions(market.calendar, market.history_start)
    rows, own = _rows_of_run(lake.lake, "validated_bars", context.partition_keys, CONTEXT_BARS, sessions)
    outcomes = run_gx_suite(rows, own) if len(rows) else []
    failed = [o for o in outcomes if not o.success]
    table = pd.DataFrame(
        [{"expectation": o.expectation, "column": o.column, "unexpected": o.unexpected_count,
          "sample": ", ".join(o.sample)} for o in failed]
    )
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "expectations": dg.MetadataValue.int(len(outcomes)),
            "failed_expectations": dg.MetadataValue.int(len(failed)),
            "rows_checked": dg.MetadataValue.int(int(own.sum()) if len(own) else 0),
            "failures": dg.MetadataValue.md(table.to_markdown(index=False) if len(table) else "_none_"),
        },
    )
