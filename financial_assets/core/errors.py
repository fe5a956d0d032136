"""Errors that name the ticker, the date and the rule that failed."""

from __future__ import annotations


class BarDataError(ValueError):
    """Input bars broke a rule; the message names ticker, date and rule so the user can find it."""

    def __init__(self, rule: str, detail: str, ticker: str | None = None, date: object = None):
        self.rule = rule
        self.ticker = ticker
        self.date = date
        where = f"ticker={ticker!r}" if ticker is not None else "ticker=?"
        when = f"date={date}" if date is not None else "date=n/a"
        super().__init__(f"[{rule}] {where} {when}: {detail}")
