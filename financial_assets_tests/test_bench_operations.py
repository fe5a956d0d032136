"""The drift-check bench at a tiny size: its BENCH line, and both sides handed the same frames to Evidently."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from evidently import Dataset

from financial_assets.bench.operations import DriftCase, drift_check_line
from financial_assets.drift.report import PREDICTION_COLUMN

COLUMNS = ["f0", "f1", "f2"]


def _case(seed: int = 0) -> DriftCase:
    """One ticker: 450 reference rows (enough to calibrate a 20-row window) and 20 current rows, with probabilities."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(rng.normal(size=(450, len(COLUMNS))), columns=COLUMNS)
    current = pd.DataFrame(rng.normal(0.5, 1.0, size=(20, len(COLUMNS))), columns=COLUMNS)
    return DriftCase("SYN000", reference, current, rng.uniform(size=450), rng.uniform(size=20))


def test_the_drift_check_bench_times_both_reports_on_the_same_frames(monkeypatch: pytest.MonkeyPatch, capsys):
    seen: list[pd.DataFrame] = []
    from_pandas = Dataset.from_pandas

    def spy(data: pd.DataFrame, *args, **kwargs) -> Dataset:
        seen.append(data.copy())
        return from_pandas(data, *args, **kwargs)

    monkeypatch.setattr(Dataset, "from_pandas", staticmethod(spy))
    line = drift_check_line([_case()])

    assert re.fullmatch(r"BENCH drift_check_per_ticker \S+ s ratio=\S+ vs evidently_default_data_drift_preset", line)
    assert line in capsys.readouterr().out.splitlines()
    ours_current, ours_reference, their_current, their_reference = seen  # current first, as Report.run takes them
    assert list(ours_current.columns) == [*COLUMNS, PREDICTION_COLUMN]
    assert (len(ours_reference), len(ours_current)) == (450, 20)
    pd.testing.assert_frame_equal(ours_current, their_current)
    pd.testing.assert_frame_equal(ours_reference, their_reference)
