"""The column tests a model's YAML declares, judged on the model's output frame.

* ``unique``: failing rows are every row whose key combination occurs more than once;
* ``not_null``: rows with a null (None/NaN/NaT) in any of the columns;
* ``accepted_range``: rows whose value is below ``min`` or above ``max`` (inclusive bounds; nulls
  are ignored, as in dbt);
* ``not_all_null``: one row (ticker, column, rows) per ticker with at least ``min_rows`` rows whose
  column is null in every row: a feature that silently never computes (a benchmark missing from
  the universe, say) fails here instead of passing every other test.

An empty frame passes every test; a column missing from a non-empty frame is a ValueError (the
YAML and the SQL disagree).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from financial_assets.sql_models.project import ColumnTest, SqlModel

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class TestResult:
    """The outcome of one declared test: failing row count and up to SAMPLE_ROWS of them as text."""

    __test__ = False  # not a pytest class

    name: str
    passed: bool
    failures: int
    sample: list[dict] = field(default_factory=list)


def failing_rows(test: ColumnTest, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` that violate `test`, with the key and tested columns."""
    columns = list(test.columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"test {test.name}: columns {missing} are not in the model's output")
    keys = [c for c in ("ticker", "date") if c in frame.columns and c not in columns]
    if test.kind == "not_all_null":
        return _entirely_null(frame, columns, test.min_rows)
    if test.kind == "unique":
        bad = frame.duplicated(columns, keep=False)
    elif test.kind == "not_null":
        bad = frame[columns].isna().any(axis=1)
    elif test.kind == "accepted_range":
        values = pd.to_numeric(frame[columns[0]], errors="raise")
        bad = pd.Series(False, index=frame.index)
        if test.min is not None:
            bad |= values < test.min
        if test.max is not None:
            bad |= values > test.max
    else:
        raise ValueError(f"unknown test kind {test.kind!r}")
    return frame.loc[bad, [*keys, *columns]]


def _entirely_null(frame: pd.DataFrame, columns: list[str], min_rows: int) -> pd.DataFrame:
    groups = frame.groupby("ticker") if "ticker" in frame.columns else [("", frame)]
    found = [{"ticker": ticker, "column": column, "rows": len(rows)}
             for ticker, rows in groups if len(rows) >= min_rows
             for column in columns if rows[column].isna().all()]
    return pd.DataFrame(found, columns=["ticker", "column", "rows"])


def run_test(test: ColumnTest, frame: pd.DataFrame) -> TestResult:
    """Judge one test on `frame`."""
    if frame.empty:
        return TestResult(test.name, True, 0, [])
    failing = failing_rows(test, frame)
    sample = failing.head(SAMPLE_ROWS).astype(str).to_dict("records")
    return TestResult(test.name, failing.empty, len(failing), sample)


def run_model_tests(model: SqlModel, frame: pd.DataFrame) -> list[TestResult]:
    """One result per declared test of `model`, in declaration order."""
    return [run_test(test, frame) for test in model.tests]
