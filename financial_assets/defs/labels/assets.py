"""The labels asset: forward returns, directions and triple-barrier outcomes, each with its end time t1."""


import dagster as dg
import pandas as pd

from financial_assets.defs.history import adjusted_history, keep_run_rows
from financial_assets.defs.metadata import frame_metadata
from financial_assets.defs.partitions import bar_partitions, dates_by_ticker
from financial_assets.defs.resources import LakeResource
from financial_assets.labels.compute import compute_labels


@dg.asset(
    partitions_def=bar_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["validated_bars"],
    group_name="labels",
    kinds={"python", "parquet"},
    description="Forward-looking by definition: fixed-horizon (1, 5, 20 bars) returns and directions and "
    "triple-barrier labels. Each row stores t1, the last date its information comes from, for purging. "
    "Labels whose horizon runs past the last bar are null until later bars arrive.",
)
def labels(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    wanted = dates_by_ticker(context.partition_keys)
    history = adjusted_history(lake.lake, list(wanted))
    parts = []
    for ticker, bars in history.groupby("ticker", sort=True):
        out = compute_labels(bars.reset_index(drop=True))
        out.insert(0, "ticker", ticker)
        parts.append(out)
    computed = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["ticker", "date"])
    frame = keep_run_rows(computed, wanted)
    lake.lake.write("labels", frame, dict(wanted))
    meta = frame_metadata(frame, str(lake.lake.asset_dir("labels")))
    if len(frame) and "tb_label" in frame.columns:
        meta["labelled_rows"] = dg.MetadataValue.int(int(frame["tb_label"].notna().sum()))
        meta["tb_up_share"] = dg.MetadataValue.float(float((frame["tb_label"] > 0).mean()))
    return dg.MaterializeResult(metadata=meta)
