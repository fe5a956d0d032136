"""Reading a ticker's whole adjusted history, so results never depend on how a run was batched."""

from __future__ import annotations

import pandas as pd

from financial_assets.storage.lake import ParquetLake

ADJUSTED_AS_OHLCV = {"adj_open": "open", "adj_high": "high", "adj_low": "low", "adj_close": "close", "adj_volume": "volume"}


def adjusted_history(lake: ParquetLake, tickers: list[str], end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Split-adjusted bars of `tickers` from their first bar up to `end`, as ticker/date/open/high/low/close/volume.

    Recursive indicators (EMA, RSI, OBV) are seeded at the first bar, so every run reads from
    there: the value at date D is the same whichever partitions were materialized together.
    """
    columns = ["ticker", "date", *ADJUSTED_AS_OHLCV]
    frame = lake.read("validated_bars", tickers, end=end, columns=columns)
    if frame.empty:
        return pd.DataFrame(columns=["ticker", "date", *ADJUSTED_AS_OHLCV.values()])
    return frame.rename(columns=ADJUSTED_AS_OHLCV)


def keep_run_rows(frame: pd.DataFrame, wanted: dict[str, pd.DatetimeIndex]) -> pd.DataFrame:
    """Rows of `frame` whose (ticker, date) is one of the run's partitions."""
    keys = pd.MultiIndex.from_tuples([(t, d) for t, dates in wanted.items() for d in dates], names=["ticker", "date"])
    index = pd.MultiIndex.from_frame(frame[["ticker", "date"]])
    return frame.loc[index.isin(keys)].reset_index(drop=True)
