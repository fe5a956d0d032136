"""The labels asset: forward returns, directions and triple-barrier outcomes, each with its end time t1."""

import dagster as dg
import pandas as pd

from financial_assets.defs.bars.holdback import tickers_going_on
from financial_assets.defs.history import adjusted_history, keep_run_rows
from financial_assets.defs.metadata import partition_metadata, require_upstream
from financial_assets.defs.partitions import bar_key, bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.labels.compute import compute_labels
from financial_assets.runs.internals import planned_partitions, report_partitions


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["validated_bars"],
    group_name="labels",
    kinds={"python", "parquet"},
    description="Forward-looking by definition: fixed-horizon (1, 5, 20 bars) returns and directions and "
    "triple-barrier labels on split-adjusted prices. Each row stores t1, the last date its information comes from, "
    "for purging. Labels whose horizon runs past the last bar are null until later bars arrive. Held-back tickers "
    "are not materialized.",
)
def labels(context: dg.AssetExecutionContext, lake: LakeResource, market: MarketResource) -> None:
    wanted = dates_by_ticker(planned_partitions(context))
    require_upstream(context, "validated_bars", wanted)
    going, held = tickers_going_on(lake, market, wanted)
    history = adjusted_history(lake, list(going)) if going else pd.DataFrame(columns=["ticker", "date"])
    parts = []
    for ticker, bars in history.groupby("ticker", sort=True):
        out = compute_labels(bars.reset_index(drop=True))
        out.insert(0, "ticker", ticker)
        parts.append(out)
    computed = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["ticker", "date"])
    frame = keep_run_rows(computed, going) if len(computed) else computed
    lake.write("labels", frame, dict(going))
    for ticker, reason in held.items():
        context.log.warning(f"labels: {ticker} held back: {reason}")
    known = frame.set_index(["ticker", "date"])["t1"].notna() if len(frame) else pd.Series(dtype=bool)
    extra = {bar_key(d, t): {"label_known": dg.MetadataValue.bool(bool(k))} for (t, d), k in known.items()}
    report_partitions(context, "labels", partition_metadata(frame, going, extra))
