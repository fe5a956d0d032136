"""What went wrong for one ticker in a range, as one line: its ERROR rejections and whether they held it back."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from financial_assets.validation.rules import FILE_RULES

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
