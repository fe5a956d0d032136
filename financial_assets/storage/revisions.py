"""Raw bars are never silently overwritten: a rerun that brings different values archives the old rows."""

from __future__ import annotations

import pandas as pd

from financial_assets.storage.lake import ParquetLake

REVISIONS_ASSET = "raw_bar_revisions"
_VALUES = ["ticker", "date", "open", "high", "low", "close", "volume", "adj_close"]


def replaced_rows(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Rows of `old` that `new` does not contain with the same values (changed or gone)."""
    if old.empty:
        return old
    merged = old.merge(new[_VALUES].drop_duplicates(), on=_VALUES, how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


def archive(lake: ParquetLake, replaced: pd.DataFrame, when: pd.Timestamp) -> int:
    """Append `replaced` to the revisions asset, stamped `replaced_at`; return the rows added."""
    if replaced.empty:
        return 0
    scope = {t: list(g["date"].drop_duplicates()) for t, g in replaced.groupby("ticker")}
    earlier = lake.read(REVISIONS_ASSET, list(scope), start=replaced["date"].min(), end=replaced["date"].max())
    if len(earlier):
        keys = pd.MultiIndex.from_frame(replaced[["ticker", "date"]].drop_duplicates())
        earlier = earlier.loc[pd.MultiIndex.from_frame(earlier[["ticker", "date"]]).isin(keys)]
    rows = pd.concat([earlier, replaced.assign(replaced_at=when.isoformat())], ignore_index=True)
    lake.write(REVISIONS_ASSET, rows, scope)
    return len(replaced)
