"""The features asset: the registry's indicators per ticker and date, from bars at or before that date."""


import dagster as dg

from financial_assets.defs.history import adjusted_history, keep_run_rows
from financial_assets.defs.metadata import frame_metadata
from financial_assets.defs.partitions import bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.features import compute_features_panel, registry_table, resolve_feature_names


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["validated_bars"],
    group_name="features",
    kinds={"python", "parquet"},
    description="Technical, volatility, volume, trend and calendar features on split-adjusted prices. "
    "Every value at date D is computed from bars at or before D; warm-up rows are null.",
    metadata={"feature_registry": dg.MetadataValue.md(registry_table().to_markdown(index=False))},
)
def features(context: dg.AssetExecutionContext, lake: LakeResource, market: MarketResource) -> dg.MaterializeResult:
    wanted = dates_by_ticker(context.partition_keys)
    names = resolve_feature_names(market.feature_names())
    end = max(dates.max() for dates in wanted.values())
    history = adjusted_history(lake.lake, list(wanted), end)
    computed = compute_features_panel(history, names, calendar_code=market.calendar) if len(history) else history
    frame = keep_run_rows(computed, wanted) if len(computed) else computed
    lake.lake.write("features", frame, dict(wanted))
    meta = frame_metadata(frame, str(lake.lake.asset_dir("features")))
    meta["feature_count"] = dg.MetadataValue.int(len([c for c in frame.columns if c not in ("ticker", "date")]))
    return dg.MaterializeResult(metadata=meta)
