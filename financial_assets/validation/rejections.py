"""Rejections found before a bar becomes a partition, and the rule that holds a ticker back.

A file that cannot be read, or a bar on a day without a session, never reaches `raw_bars` as a
partition row; it is recorded here with the same columns as the bar rules' records, so the
quarantine names every rejected bar and file with ticker, date, rule and value.
"""

from __future__ import annotations

import pandas as pd

from financial_assets.core.errors import BarDataError
from financial_assets.validation.rules import ERROR, FILE_RULES, QUARANTINE_COLUMNS, SEVERITY


def records(rows: list[dict]) -> pd.DataFrame:
    """Quarantine records from dicts with the QUARANTINE_COLUMNS keys (severity from the rule)."""
    frame = pd.DataFrame([{**row, "severity": SEVERITY.get(row["rule"], ERROR)} for row in rows],
                         columns=list(QUARANTINE_COLUMNS))
    return frame.astype({"date": "datetime64[ns]", "source_row": "int64", "value": str})


def file_rejection(err: BarDataError, ticker: str, date: pd.Timestamp, file: str) -> pd.DataFrame:
    """The record of a file-level error, dated on the run's last `date` (the partition the next night's run rewrites, so
    a fixed file clears it): the whole file is rejected for the run.

    The offending date (a future bar, say) can lie outside every partition; the error text in
    `detail` names it.
    """
    return records([{"ticker": ticker, "date": pd.Timestamp(date).normalize(), "rule": err.rule, "column": "file",
                     "value": file, "detail": str(err), "source_row": -1}])


def off_calendar(bars: pd.DataFrame, sessions: pd.DatetimeIndex, calendar: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `bars` into bars on sessions and `trading_session` records for the others."""
    outside = ~bars["date"].isin(sessions)
    hit = bars.loc[outside]
    found = records([{"ticker": t, "date": d, "rule": "trading_session", "column": "date",
                      "value": d.date().isoformat(), "detail": f"the {calendar} calendar has no session on this day",
                      "source_row": int(r)}
                     for t, d, r in zip(hit["ticker"], hit["date"], hit["source_row"], strict=True)])
    return bars.loc[~outside].reset_index(drop=True), found


def held_back(quarantine: pd.DataFrame, raw_rows: dict[str, int], max_rejected_share: float) -> dict[str, str]:
    """Tickers kept out of downstream assets, with the reason: a rejected file, or too many rejected bars.

    The share is the run's rejected bars of the ticker (distinct source rows with an ERROR record)
    over its raw bars in the run; a ticker at or under `max_rejected_share` goes on without the
    rejected bars.
    """
    reasons: dict[str, str] = {}
    errors = quarantine.loc[quarantine["severity"] == ERROR] if len(quarantine) else quarantine
    for ticker, found in errors.groupby("ticker") if len(errors) else []:
        files = found.loc[found["rule"].isin(FILE_RULES)]
        if len(files):
            first = files.iloc[0]
            reasons[ticker] = f"[{first['rule']}] {first['value']}: {first['detail']}"
            continue
        rejected = found.loc[found["source_row"] >= 0, "source_row"].nunique()
        total = raw_rows.get(ticker, 0)
        if total and rejected / total > max_rejected_share:
            rules = ", ".join(sorted(found["rule"].unique()))
            reasons[ticker] = (f"{rejected} of {total} bars rejected ({rejected / total:.1%} > "
                               f"{max_rejected_share:.1%}; rules {rules})")
    return reasons
