"""What went wrong per ticker in a range: rejected files and bars, read back from the quarantine."""

from __future__ import annotations

import pandas as pd

from financial_assets.defs.bars.assets import SOURCE_REJECTIONS_ASSET
from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.validation.problems import IDENTITY, TickerProblem
from financial_assets.validation.rejections import held_back
from financial_assets.validation.rules import ERROR


def ticker_problems(lake: LakeResource, market: MarketResource, tickers: list[str], start: str,
                    end: str) -> list[TickerProblem]:
    """Every ticker of the range with ERROR rejections, in ticker order: in the quarantine, or found reading the source
    by a run that validated nothing yet."""
    frames = [lake.read(asset, tickers, start=start, end=end)
              for asset in ("quarantined_bars", SOURCE_REJECTIONS_ASSET)]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return []
    quarantine = pd.concat(frames, ignore_index=True).drop_duplicates(IDENTITY)
    errors = quarantine.loc[quarantine["severity"] == ERROR]
    raw = lake.read("raw_bars", tickers, start=start, end=end, columns=["ticker", "date"])
    counts = raw.groupby("ticker").size().to_dict() if len(raw) else {}
    held = held_back(errors, counts, market.max_rejected_share)
    columns = ["date", "rule", "column", "value", "detail"]
    return [TickerProblem(t, held.get(t, ""), found[columns].reset_index(drop=True))
            for t, found in errors.groupby("ticker")]
