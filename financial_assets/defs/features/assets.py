"""The features asset: the registry's indicators per ticker and date, from bars at or before that date."""

import dagster as dg
import pandas as pd

from financial_assets.defs.bars.holdback import tickers_going_on
from financial_assets.defs.history import adjusted_history, keep_run_rows
from financial_assets.defs.metadata import column_summary, partition_metadata, require_upstream
from financial_assets.defs.partitions import bar_key, bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.features import compute_features_panel, registry_table, resolve_feature_names
from financial_assets.runs.internals import planned_partitions, report_partitions


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["validated_bars"],
    group_name="features",
    kinds={"python", "parquet"},
    description="Technical, volatility, volume, trend and calendar features computed from the split-adjusted prices "
    "of validated_bars (adj_* = raw price x the source's adjusted close / close, so splits do not look like crashes). "
    "Every value at date D uses bars at or before D; bars before the first partition warm the indicators up. "
    "Held-back tickers are not materialized.",
    metadata={"feature_registry": dg.MetadataValue.md(registry_table().to_markdown(index=False))},
)
def features(context: dg.AssetExecutionContext, lake: LakeResource, market: MarketResource) -> None:
    wanted = dates_by_ticker(planned_partitions(context))
    require_upstream(context, "validated_bars", wanted)
    going, held = tickers_going_on(lake, market, wanted)
    names = resolve_feature_names(market.feature_names())
    frame = pd.DataFrame(columns=["ticker", "date"])
    if going:
        history = adjusted_history(lake, list(going), max(d[-1] for d in going.values()))
        if len(history):
            frame = keep_run_rows(compute_features_panel(history, names, calendar_code=market.calendar), going)
    lake.write("features", frame, dict(going))
    for ticker, reason in held.items():
        context.log.warning(f"features: {ticker} held back: {reason}")
    if len(frame):
        summary = column_summary(frame)
        context.log.info(f"features of the run, per column:\n{summary['column_summary'].value}")
    nulls = frame.set_index(["ticker", "date"]).isna().sum(axis=1) if len(frame) else pd.Series(dtype="int64")
    extra = {bar_key(d, t): {"null_features": dg.MetadataValue.int(int(n))} for (t, d), n in nulls.items()}
    report_partitions(context, "features", partition_metadata(frame, going, extra))
