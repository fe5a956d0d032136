"""Errors that name the ticker, the date and the rule that failed."""

from __future__ import annotations


class BarDataError(ValueError):
    """Input bars broke a rule; the message names the rule, and the ticker and date where they apply."""

    def __init__(self, rule: str, detail: str, ticker: str | None = None, date: object = None):
        self.rule = rule
        self.ticker = ticker
        self.date = date
        where = [f"ticker={ticker!r}"] * (ticker is not None) + [f"date={date}"] * (date is not None)
        super().__init__(" ".join([f"[{rule}]", *where]) + f": {detail}")
