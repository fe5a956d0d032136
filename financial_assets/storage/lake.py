"""A partitioned Parquet lake: one file per asset, ticker and month, written atomically.

Layout: ``<root>/<asset>/<TICKER>/<YYYY-MM>.parquet`` for per-ticker assets and
``<root>/<asset>/_all/<YYYY-MM>.parquet`` for cross-sectional (date-only) ones. DuckDB and
polars read it directly with the glob from :meth:`ParquetLake.glob`.

Writes replace exactly the (ticker, date) partitions they are given: rows of other dates in the
same monthly file are kept. Each file is rewritten under an exclusive lock into a hidden temporary
file that is renamed over the old one, so a reader or a crash never sees half a partition and
concurrent runs on different partitions of the same month serialise instead of losing rows.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ALL_TICKERS = "_all"
#: threads that read a table's files side by side
READ_THREADS = 4


def _is_date_column(name: str) -> bool:
    """Calendar-date columns: the bar date and label end times (t1, t1_5, tb_t1, ...)."""
    return name in ("date", "t1") or name.startswith("t1_") or name.endswith("_t1")


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _as_date(value: object) -> dt.date:
    return pd.Timestamp(value).date()


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # calendar dates are stored as DATE so DuckDB and polars compare them to date literals directly
    for name in table.column_names:
        if _is_date_column(name) and pa.types.is_timestamp(table.schema.field(name).type):
            table = table.set_column(
                table.column_names.index(name), name, table[name].cast(pa.timestamp("ms")).cast(pa.date32())
            )
    return table


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas(date_as_object=False)
    for name in frame.columns:
        if _is_date_column(name):
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]")
    return frame


class ParquetLake:
    """Read and write partitions of assets under one root folder."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def asset_dir(self, asset: str) -> Path:
        """The folder of `asset`'s files."""
        return self.root / asset

    def glob(self, asset: str) -> str:
        """A glob over every file of `asset`, for duckdb.read_parquet or polars.scan_parquet."""
        return str(self.asset_dir(asset) / "*" / "*.parquet")

    def _file(self, asset: str, ticker: str | None, month: str) -> Path:
        return self.asset_dir(asset) / (ticker or ALL_TICKERS) / f"{month}.parquet"

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.parent / f".{path.stem}.lock"
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write(
        self, asset: str, frame: pd.DataFrame, scope: Mapping[str | None, Collection[object]]
    ) -> None:
        """Replace the partitions in `scope` ({ticker or None: dates}) of `asset` with `frame`'s rows.

        Every row of `frame` must fall inside `scope`; a partition in scope without rows becomes
        empty (a rerun that yields nothing removes what an earlier run wrote). The asset's folder exists
        afterwards even when nothing was in scope, so a pipeline tool that tracks it finds it.
        """
        self.asset_dir(asset).mkdir(parents=True, exist_ok=True)
        per_ticker = "ticker" in frame.columns and None not in scope
        by_file: dict[tuple[str | None, str], set[dt.date]] = defaultdict(set)
        for ticker, dates in scope.items():
            for day in dates:
                day = _as_date(day)
                by_file[(ticker, _month(day))].add(day)
        if len(frame):
            dates = frame["date"].dt.date
            keys = list(zip(frame["ticker"], dates, strict=True)) if per_ticker else [(None, d) for d in dates]
            outside = [k for k in keys if _as_date(k[1]) not in by_file.get((k[0], _month(k[1])), ())]
            if outside:
                raise ValueError(f"{asset}: rows outside the partitions being written, e.g. {outside[:3]}")
            groups = frame.groupby([frame["ticker"] if per_ticker else pd.Series("", index=frame.index),
                                    frame["date"].dt.strftime("%Y-%m")], sort=False)
            new_rows = {((t or None), m): g for (t, m), g in groups}
        else:
            new_rows = {}
        for (ticker, month), days in sorted(by_file.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            self._replace_file(asset, ticker, month, days, new_rows.get((ticker, month)))

    def _replace_file(
        self, asset: str, ticker: str | None, month: str, days: set[dt.date], rows: pd.DataFrame | None
    ) -> None:
        path = self._file(asset, ticker, month)
        with self._locked(path):
            parts = []
            if path.exists():
                old = pq.read_table(path)
                keep = ~pd.Series(old["date"].to_pylist()).isin(days).to_numpy()
                old = old.filter(pa.array(keep))
                if old.num_rows:
                    parts.append(old)
            if rows is not None and len(rows):
                new = _to_arrow(rows.reset_index(drop=True))
                parts = [p.select(new.column_names).cast(new.schema) for p in parts] + [new]
            if not parts:
                if path.exists():
                    path.unlink()
                return
            table = pa.concat_tables(parts).sort_by([("date", "ascending")])
            tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
            pq.write_table(table, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)

    def files(self, asset: str, tickers: Collection[str] | None = None, start: object = None,
              end: object = None) -> list[Path]:
        """Files of `asset` in (ticker, month) order: optionally only those of `tickers`, and only the months that
        hold dates from `start` to `end`."""
        base = self.asset_dir(asset)
        if not base.exists():
            return []
        if tickers is None:
            dirs = sorted(p for p in base.iterdir() if p.is_dir())
        else:
            dirs = [base / t for t in sorted(tickers)]
        lo = _month(_as_date(start)) if start is not None else ""
        hi = _month(_as_date(end)) if end is not None else "9999-99"
        return [f for d in dirs if d.exists() for f in sorted(d.glob("*.parquet")) if lo <= f.stem <= hi]

    def read(
        self,
        asset: str,
        tickers: Collection[str] | None = None,
        start: object = None,
        end: object = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of `asset` with start <= date <= end (inclusive), sorted by ticker then date."""
        paths = self.files(asset, tickers, start, end)
        if not paths:
            return pd.DataFrame(columns=columns or [])
        # a nightly run reads thousands of small monthly files: Arrow reads them with the GIL released
        with ThreadPoolExecutor(READ_THREADS) as pool:
            tables = list(pool.map(lambda path: pq.ParquetFile(path).read(columns=columns), paths))
        # a column all null in one partition (a ticker with no champion) is stored untyped: it takes the others' type
        schema = pa.unify_schemas([t.schema for t in tables])
        frame = _to_pandas(pa.concat_tables([t.cast(schema) for t in tables]))
        if start is not None:
            frame = frame[frame["date"] >= pd.Timestamp(start)]
        if end is not None:
            frame = frame[frame["date"] <= pd.Timestamp(end)]
        order = [c for c in ("ticker", "date") if c in frame.columns]
        return frame.sort_values(order, kind="stable").reset_index(drop=True)
