"""The column tests a model's YAML declares, judged on the model's output frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from financial_assets.sql_models.project import ColumnTest, SqlModel

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest class

    name: str
    passed: bool
    failures: int
    sample: list[dict] = field(default_factory=list)


def _failing_rows(test: ColumnTest, frame: pd.DataFrame) -> pd.DataFrame:
    columns = list(test.columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"test {test.name}: columns {missing} are not in the model's output")
    if test.kind == "unique":
        return frame.loc[frame.duplicated(columns, keep=False), columns]
    if test.kind == "not_null":
        return frame.loc[frame[columns].isna().any(axis=1), columns]
    values = frame[columns[0]]
    bad = pd.Series(False, index=frame.index)
    if test.min is not None:
        bad |= values < test.min
    if test.max is not None:
        bad |= values > test.max
    keys = [c for c in ("ticker", "date") if c in frame.columns]
    return frame.loc[bad, [*keys, columns[0]]]


def run_model_tests(model: SqlModel, frame: pd.DataFrame) -> list[TestResult]:
    """One result per declared test of `model` on `frame` (nulls are ignored by accepted_range)."""
    results = []
    for test in model.tests:
        failing = _failing_rows(test, frame)
        sample = failing.head(SAMPLE_ROWS).astype(str).to_dict("records")
        results.append(TestResult(test.name, failing.empty, len(failing), sample))
    return results
