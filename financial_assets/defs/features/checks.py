"""A check on features, once per run: no feature column is null for every bar of a ticker with enough history.

Its metadata is the run's view of the table in the UI: per-column non-null share, min and max, and
the newest rows (the first rows of a history are warm-up nulls by design).
"""

import dagster as dg
import pandas as pd

from financial_assets.defs.metadata import column_summary
from financial_assets.defs.partitions import dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.features import FEATURE_REGISTRY, resolve_feature_names
from financial_assets.features.compute import computable


@dg.asset_check(asset="features", blocking=False,
                description="WARN when a feature is null in every row of a ticker that has more rows in the run "
                "than the feature's lookback (a feature that never computes); the metadata summarises every column.")
def features_complete(context: dg.AssetCheckExecutionContext, lake: LakeResource,
                      market: MarketResource) -> dg.AssetCheckResult:
    """WARN on a feature null in every row of a ticker long enough to compute it."""
    wanted = dates_by_ticker(context.op_execution_context.partition_keys)
    frame = lake.read_span("features", wanted)
    names = [n for n in computable(resolve_feature_names(market.feature_names())) if n in frame.columns]
    never = pd.DataFrame([{"ticker": t, "feature": n, "rows": len(rows)}
                          for t, rows in frame.groupby("ticker") for n in names
                          if len(rows) > FEATURE_REGISTRY[n].lookback and rows[n].isna().all()],
                         columns=["ticker", "feature", "rows"])
    metadata = {**(column_summary(frame) if len(frame) else {}),
                "never_computed": dg.MetadataValue.md(never.to_markdown(index=False) if len(never) else "_none_")}
    return dg.AssetCheckResult(passed=never.empty, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)
