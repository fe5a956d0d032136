"""Which tickers of a run go on to downstream assets: the same rule validate_bars applied, read back from the lake."""

from __future__ import annotations

import pandas as pd

from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.validation.rejections import held_back


def tickers_going_on(lake: LakeResource, market: MarketResource, wanted: dict[str, pd.DatetimeIndex]
                     ) -> tuple[dict[str, pd.DatetimeIndex], dict[str, str]]:
    """The run's partitions of tickers that go on, and {held-back ticker: reason}."""
    first, last = min(d[0] for d in wanted.values()), max(d[-1] for d in wanted.values())
    quarantine = lake.read("quarantined_bars", list(wanted), start=first, end=last)
    raw = lake.read("raw_bars", list(wanted), start=first, end=last, columns=["ticker", "date"])
    raw_rows = ({t: int(raw.loc[raw["ticker"] == t, "date"].isin(d).sum()) for t, d in wanted.items()}
                if len(raw) else {})
    held = held_back(quarantine, raw_rows, market.max_rejected_share)
    return {t: d for t, d in wanted.items() if t not in held}, held
