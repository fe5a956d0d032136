"""The labels asset: forward returns, directions and triple-barrier outcomes, each with its end time t1."""

import dagster as dg
import pandas as pd

from financial_assets.defs.history import adjusted_history, keep_run_rows
from financial_assets.defs.partitions import bar_key
from financial_assets.defs.resources import LakeResource
from financial_assets.defs.ticker_date import TickerDates, Written, ticker_date_asset
from financial_assets.labels.compute import compute_labels


@ticker_date_asset(
    on_validated_bars=True,
    group="labels",
    description="Forward-looking by definition: fixed-horizon (1, 5, 20 bars) returns and directions and "
    "triple-barrier labels on split-adjusted prices. Each row stores t1, the last date its information comes from, "
    "for purging. Labels whose horizon runs past the last bar are null until later bars arrive. Held-back tickers "
    "are not materialized.",
)
def labels(run: TickerDates, lake: LakeResource) -> Written:
    """The labels of the run's partitions, from each ticker's whole adjusted history."""
    history = adjusted_history(lake, run.tickers) if run.wanted else pd.DataFrame(columns=["ticker", "date"])
    parts = []
    for ticker, bars in history.groupby("ticker", sort=True):
        out = compute_labels(bars.reset_index(drop=True))
        out.insert(0, "ticker", ticker)
        parts.append(out)
    computed = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["ticker", "date"])
    frame = keep_run_rows(computed, run.wanted) if len(computed) else computed
    known = frame.set_index(["ticker", "date"])["t1"].notna() if len(frame) else pd.Series(dtype=bool)
    return Written(frame, metadata={bar_key(d, t): {"label_known": dg.MetadataValue.bool(bool(k))}
                                    for (t, d), k in known.items()})
