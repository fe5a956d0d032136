"""Asset metadata every materialization shows: rows, date span, a small preview."""

from __future__ import annotations

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 5


def frame_metadata(frame: pd.DataFrame, path: str) -> dict[str, dg.MetadataValue]:
    """Row count, date span, tickers, storage path and a markdown preview of `frame`."""
    meta: dict[str, dg.MetadataValue] = {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "storage": dg.MetadataValue.path(path),
    }
    if len(frame) and "date" in frame.columns:
        meta["first_date"] = dg.MetadataValue.text(str(frame["date"].min().date()))
        meta["last_date"] = dg.MetadataValue.text(str(frame["date"].max().date()))
    if "ticker" in frame.columns:
        meta["tickers"] = dg.MetadataValue.int(int(frame["ticker"].nunique()))
    preview = frame.head(PREVIEW_ROWS)
    meta["preview"] = dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "_no rows_")
    return meta
