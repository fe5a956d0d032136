"""Reading a ticker's whole adjusted history, so results never depend on how a run was batched."""

from __future__ import annotations

import pandas as pd

from financial_assets.defs.resources import LakeResource

ADJUSTED_AS_OHLCV = {"adj_open": "open", "adj_high": "high", "adj_low": "low", "adj_close": "close",
                     "adj_volume": "volume"}
#: validated bars before the first partition date, kept for indicator warm-up only (never partitions)
WARMUP_ASSET = "warmup_bars"


def adjusted_history(lake: LakeResource, tickers: list[str], end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Split-adjusted bars of `tickers` from their first bar (warm-up included) up to `end`.

    Columns ticker/date/open/high/low/close/volume. Recursive indicators (EMA, RSI, OBV) are seeded
    at the first bar, so every run reads from there: the value at date D is the same whichever
    partitions were materialized together.
    """
    columns = ["ticker", "date", *ADJUSTED_AS_OHLCV]
    frames = [lake.read(asset, tickers, end=end, columns=columns) for asset in (WARMUP_ASSET, "validated_bars")]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["ticker", "date", *ADJUSTED_AS_OHLCV.values()])
    frame = pd.concat(frames, ignore_index=True).sort_values(["ticker", "date"], kind="stable")
    return frame.reset_index(drop=True).rename(columns=ADJUSTED_AS_OHLCV)


def keep_run_rows(frame: pd.DataFrame, wanted: dict[str, pd.DatetimeIndex]) -> pd.DataFrame:
    """Rows of `frame` whose (ticker, date) is one of the run's partitions."""
    keys = pd.MultiIndex.from_tuples([(t, d) for t, dates in wanted.items() for d in dates], names=["ticker", "date"])
    index = pd.MultiIndex.from_frame(frame[["ticker", "date"]])
    return frame.loc[index.isin(keys)].reset_index(drop=True)
