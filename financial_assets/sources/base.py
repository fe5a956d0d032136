"""The source protocol and the one function that turns any tabular input into canonical raw bars."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np
import pandas as pd

from financial_assets.bars import RAW_COLUMNS
from financial_assets.errors import BarDataError
from financial_assets.tickers import normalize_ticker

REQUIRED = ("date", "open", "high", "low", "close", "volume")
NUMERIC = ("open", "high", "low", "close", "volume", "adj_close")
_ALIASES = {"timestamp": "date", "datetime": "date", "adj close": "adj_close", "adjclose": "adj_close",
            "adj_close": "adj_close"}


class BarSource(Protocol):
    """Where raw daily bars come from."""

    name: str

    def tickers(self) -> list[str]: ...

    def load(self, ticker: str, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame: ...


def _canonical_name(column: object) -> str:
    name = str(column).strip().lower()
    return _ALIASES.get(name, name)


def _parse_dates(values: pd.Series, ticker: str) -> pd.Series:
    text = values.astype(str).str.strip()
    offsets = text.str.extract(r"(Z|[+-]\d{2}:?\d{2})$")[0].dropna().unique()
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_localize(None).dt.normalize()
    if len(offsets) > 1:
        raise BarDataError("single_timezone", f"timestamps mix time zones {sorted(offsets)[:3]}", ticker=ticker)
    try:
        parsed = pd.to_datetime(text, utc=False, format="mixed")
    except (ValueError, TypeError) as err:
        raise BarDataError("parseable_dates", f"unparseable date: {err}", ticker=ticker) from err
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        # one zone for the whole file: keep each bar's local calendar date
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().astype("datetime64[ns]")


def standardize_bars(frame: pd.DataFrame, ticker: str, *, today: dt.date | None = None) -> pd.DataFrame:
    """Canonical raw bars (RAW_COLUMNS) from any frame; file-level problems raise BarDataError.

    Row-level problems (NaN, non-positive prices, high < low, duplicate or out-of-order dates)
    pass through untouched, with `source_row`, for validation to quarantine.
    """
    ticker = normalize_ticker(ticker)
    frame = frame.rename(columns=_canonical_name)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise BarDataError("required_columns", f"missing columns {missing}; found {list(frame.columns)}", ticker=ticker)
    if frame.empty:
        raise BarDataError("non_empty", "the source has no rows", ticker=ticker)
    out = pd.DataFrame({"ticker": ticker, "date": _parse_dates(frame["date"].reset_index(drop=True), ticker)})
    for column in NUMERIC:
        raw = frame[column].reset_index(drop=True) if column in frame.columns else pd.Series(np.nan, index=out.index)
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise BarDataError("numeric_values", f"{column} holds {raw.iloc[row]!r}, not a number",
                               ticker=ticker, date=out["date"].iloc[row].date())
        out[column] = values
    future = out["date"].dt.date > (today or dt.date.today())
    if future.any():
        raise BarDataError("date_not_in_future", "the source has a bar dated in the future",
                           ticker=ticker, date=out.loc[future, "date"].iloc[0].date())
    out["source_row"] = np.arange(len(out), dtype="int64")
    return out.sort_values("date", kind="stable").reset_index(drop=True)[list(RAW_COLUMNS)]


def between(bars: pd.DataFrame, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """Rows with start <= date <= end (both inclusive, either may be open)."""
    keep = pd.Series(True, index=bars.index)
    if start is not None:
        keep &= bars["date"] >= pd.Timestamp(start)
    if end is not None:
        keep &= bars["date"] <= pd.Timestamp(end)
    return bars.loc[keep].reset_index(drop=True)
