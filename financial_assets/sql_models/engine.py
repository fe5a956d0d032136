"""Executing a SQL model with DuckDB over the Parquet lake, every value bound as a query parameter.

For a run over the inclusive dates [start, end]:

* each relation the model reads (``source`` or ``ref``) becomes a view over the lake's files of the months from
  ``lookback_start`` to ``end`` holding only rows with ``lookback_start <= date <= end``; views are built
  with DuckDB's relation and expression API, so no path or value is ever written into SQL text;
* the rendered template must be exactly one SELECT; it is executed with the named parameters it
  uses among ``$start_date``, ``$end_date``, ``$lookback_start`` and ``$benchmark_ticker``;
* every output row must have a ``date`` in [start, end], and rows are returned sorted by
  (ticker,) date.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd

from financial_assets.sql_models.project import SqlModel, render
from financial_assets.storage.lake import ParquetLake

#: The parameters a model may use, besides which it may not bind anything.
PARAMETERS = ("start_date", "end_date", "lookback_start", "benchmark_ticker")
#: Calendar days added to the bars-to-days conversion, for holidays and market closures.
LOOKBACK_SLACK_DAYS = 15


def lookback_days(lookback_bars: int) -> int:
    """Calendar days that hold `lookback_bars` trading bars: ceil(bars * 7 / 5) + 15.

    At most 5 trading bars fall in any 7 calendar days; 15 more days cover holiday clusters.
    """
    return math.ceil(lookback_bars * 7 / 5) + LOOKBACK_SLACK_DAYS


def lookback_start(start: dt.date, lookback_bars: int) -> dt.date:
    """The first date a run starting at `start` reads: ``start - lookback_days(lookback_bars)``."""
    return start - dt.timedelta(days=lookback_days(lookback_bars))


def _as_date(value: object, what: str) -> dt.date:
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return pd.Timestamp(value).date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"{what} must be a date, got {value!r}")


def _quoted(name: str) -> str:
    """A view name in double quotes; names are safe identifiers (checked by the project loader)."""
    return '"' + name + '"'


def _register_views(con: duckdb.DuckDBPyConnection, model: SqlModel, lake: ParquetLake,
                    first: dt.date, last: dt.date) -> None:
    window = duckdb.ColumnExpression("date").between(duckdb.ConstantExpression(first),
                                                     duckdb.ConstantExpression(last))
    for relation in dict.fromkeys((*model.sources, *model.refs)):
        # only the months of the window: a nightly date opens a few files per ticker, not the whole history
        files = [str(f) for f in lake.files(relation, start=first, end=last)]
        if not files and not lake.files(relation):
            raise ValueError(f"{model.name}: input {relation!r} has no data in the lake; materialise it first")
        con.read_parquet(files or lake.glob(relation), union_by_name=True).filter(window).create_view(relation)


def _statement(con: duckdb.DuckDBPyConnection, model: SqlModel, sql: str) -> set[str]:
    """The named parameters of `sql`, which must be exactly one SELECT statement."""
    statements = con.extract_statements(sql)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise ValueError(f"{model.name}: a model must be exactly one SELECT statement")
    used = set(statements[0].named_parameters)
    unknown = used - set(PARAMETERS)
    if unknown:
        raise ValueError(f"{model.name}: unknown parameters {sorted(unknown)}; use ${', $'.join(PARAMETERS)}")
    return used


def _tidy(model: SqlModel, frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    if "date" not in frame.columns:
        raise ValueError(f"{model.name}: the output has no 'date' column")
    for column in frame.columns:
        if column in ("date", "t1") or column.startswith("t1_") or column.endswith("_t1"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    outside = frame["date"].isna() | ~frame["date"].between(pd.Timestamp(start), pd.Timestamp(end))
    if outside.any():
        raise ValueError(f"{model.name}: {int(outside.sum())} output rows have a date outside {start}..{end}; "
                         "filter with `date between $start_date and $end_date`")
    keys = [c for c in ("ticker", "date") if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def run_model(model: SqlModel, lake: ParquetLake, start: dt.date, end: dt.date, *,
              benchmark_ticker: str) -> pd.DataFrame:
    """The rows of `model` for dates in [start, end], reading inputs from `lookback_start` on.

    The caller stores them with ``lake.write(model.name, frame, {None: dates})``.
    """
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if start > end:
        raise ValueError(f"{model.name}: start {start} is after end {end}")
    if not isinstance(benchmark_ticker, str):
        raise TypeError(f"benchmark_ticker must be text, got {benchmark_ticker!r}")
    values = {"start_date": start, "end_date": end,
              "lookback_start": lookback_start(start, model.lookback_bars), "benchmark_ticker": benchmark_ticker}
    sql = render(model.template, ref=_quoted, source=lambda _group, name: _quoted(name))
    con = duckdb.connect(":memory:")
    try:
        used = _statement(con, model, sql)
        _register_views(con, model, lake, values["lookback_start"], end)
        frame = con.execute(sql, {k: v for k, v in values.items() if k in used}).df()
    finally:
        con.close()
    return _tidy(model, frame, start, end)
