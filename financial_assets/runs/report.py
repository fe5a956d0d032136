"""What went wrong per ticker in a range: rejected files and bars, read back from the quarantine."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from financial_assets.defs.resources import LakeResource, MarketResource
from financial_assets.validation.rejections import held_back
from financial_assets.validation.rules import ERROR, FILE_RULES

#: rejected bars named per ticker before "and N more"
LISTED_BARS = 5
#: what makes two quarantine records the same rejection
IDENTITY = ["ticker", "date", "rule", "column", "value"]


@dataclass(frozen=True)
class TickerProblem:
    """One ticker's ERROR rejections in the range, and whether they held it back."""

    ticker: str
    held_back: str      # the reason, or "" when the ticker went on without its rejected bars
    rejections: pd.DataFrame  # date, rule, column, value, detail

    def line(self) -> str:
        """One line naming the ticker, the dates, the rules and the values."""
        files = self.rejections.loc[self.rejections["rule"].isin(FILE_RULES)]
        if len(files):
            first = files.iloc[0]
            return f"{self.ticker}: file rejected, ticker held back: {first['detail']} (file {first['value']})"
        shown = "; ".join(f"{r.date.date()} {r.rule} {r.value if '=' in r.value else f'{r.column}={r.value}'}"
                          for r in self.rejections.head(LISTED_BARS).itertuples())
        more = f"; and {len(self.rejections) - LISTED_BARS} more" if len(self.rejections) > LISTED_BARS else ""
        bars = self.rejections["date"].nunique()
        state = f"held back: {self.held_back}" if self.held_back else "the ticker went on without them"
        return f"{self.ticker}: {bars} bar(s) rejected, {state}: {shown}{more}"


def ticker_problems(lake: LakeResource, market: MarketResource, tickers: list[str], start: str,
                    end: str) -> list[TickerProblem]:
    """Every ticker of the range with ERROR rejections, in ticker order: in the quarantine, or found reading the source
    by a run that validated nothing yet."""
    from financial_assets.defs.bars.assets import SOURCE_REJECTIONS_ASSET  # the bars family imports this module

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
    return [TickerProblem(t, held.get(t, ""), found[["date", "rule", "column", "value", "detail"]].reset_index(drop=True))
            for t, found in errors.groupby("ticker")]
