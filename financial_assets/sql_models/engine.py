"""Executing a SQL model with DuckDB over the Parquet lake, every value bound as a query parameter."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd

from financial_assets.lake import ParquetLake
from financial_assets.sql_models.project import SqlModel, render

_PARAMETER = re.compile(r"\$([a-z_]+)")


def lookback_start(start: dt.date, lookback_bars: int) -> dt.date:
    """A calendar date early enough to hold `lookback_bars` trading bars before `start`.

    Trading bars are at most 5 per 7 days; 15 more days cover the longest run of holidays.
    """
    return start - dt.timedelta(days=(lookback_bars * 7) // 5 + 15)


def _quoted(name: str) -> str:
    return f'"{name}"'


def run_model(model: SqlModel, lake: ParquetLake, start: dt.date, end: dt.date, *, benchmark_ticker: str) -> pd.DataFrame:
    """The rows of `model` for dates in [start, end], reading inputs from `lookback_start` on."""
    con = duckdb.connect()
    try:
        for relation in (*model.sources, *model.refs):
            files = [str(p) for p in lake.files(relation)]
            if not files:
                raise ValueError(f"{model.name}: input {relation!r} has no data in the lake")
            # registered through the relation API: no path or value is formatted into SQL text
            con.read_parquet(files, union_by_name=True).create_view(relation)
        sql = render(model.template, ref=_quoted, source=lambda _group, name: _quoted(name))
        values = {
            "start_date": start,
            "end_date": end,
            "lookback_start": lookback_start(start, model.lookback_bars),
            "benchmark_ticker": benchmark_ticker,
        }
        used = set(_PARAMETER.findall(sql))
        unknown = used - set(values)
        if unknown:
            raise ValueError(f"{model.name}: unknown parameters {sorted(unknown)}")
        frame = con.execute(sql, {k: v for k, v in values.items() if k in used}).df()
    finally:
        con.close()
    for column in frame.columns:
        if column == "date" or column == "t1" or column.startswith("t1_") or column.endswith("_t1"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame
