"""The features asset: the registry's indicators per ticker and date, from bars at or before that date."""

import dagster as dg
import pandas as pd

from financial_assets.defs.history import adjusted_history, keep_run_rows
from financial_assets.defs.metadata import column_summary
from financial_assets.defs.partitions import bar_key
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.defs.ticker_date import TickerDates, Written, ticker_date_asset
from financial_assets.features import compute_features_panel, registry_table, resolve_feature_names


@ticker_date_asset(
    on_validated_bars=True,
    group="features",
    description="Technical, volatility, volume, trend and calendar features computed from the split-adjusted prices "
    "of validated_bars (adj_* = raw price x the source's adjusted close / close, so splits do not look like crashes). "
    "Every value at date D uses bars at or before D; bars before the first partition warm the indicators up. "
    "Held-back tickers are not materialized.",
    metadata={"feature_registry": dg.MetadataValue.md(registry_table().to_markdown(index=False))},
)
def features(run: TickerDates, lake: LakeResource, market: MarketResource) -> Written:
    """The configured features of the run's partitions, from each ticker's whole adjusted history."""
    names = resolve_feature_names(market.feature_names())
    frame = pd.DataFrame(columns=["ticker", "date"])
    if run.wanted:
        history = adjusted_history(lake, run.tickers, run.last)
        if len(history):
            frame = keep_run_rows(compute_features_panel(history, names, calendar_code=market.calendar), run.wanted)
    if len(frame):
        summary = column_summary(frame)
        run.context.log.info(f"features of the run, per column:\n{summary['column_summary'].value}")
    nulls = frame.set_index(["ticker", "date"]).isna().sum(axis=1) if len(frame) else pd.Series(dtype="int64")
    return Written(frame, metadata={bar_key(d, t): {"null_features": dg.MetadataValue.int(int(n))}
                                    for (t, d), n in nulls.items()})
