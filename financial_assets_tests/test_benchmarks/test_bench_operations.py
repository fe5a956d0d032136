"""The drift-check bench at a tiny size: its BENCH line, timing the check and the check as shipped, same frames."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from benchmarks.operations import DriftCase, drift_check_line

COLUMNS = ["f0", "f1", "f2"]


def _case(seed: int = 0) -> DriftCase:
    """One ticker: 450 reference rows (enough to calibrate a 20-row window) and 20 current rows, with probabilities."""
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(rng.normal(size=(450, len(COLUMNS))), columns=COLUMNS)
    current = pd.DataFrame(rng.normal(0.5, 1.0, size=(20, len(COLUMNS))), columns=COLUMNS)
    return DriftCase("SYN000", reference, current, rng.uniform(size=450), rng.uniform(size=20), {"f0": 5})


def test_the_drift_check_bench_prints_its_line_against_the_check_as_shipped(capsys):
    line = drift_check_line([_case()])
    assert re.fullmatch(r"BENCH drift_check_per_ticker \S+ s ratio=\S+ vs "
                        r"as_shipped_calibration_by_stattest_calls_and_full_evidently_report", line)
    out = capsys.readouterr().out.splitlines()
    assert line in out
    head = "# drift check on 1 tickers (450 reference x 20 current rows, 3 feature"
    (summary,) = [x for x in out if x.startswith(head)]
    assert "as shipped" in summary and "Evidently's HTML Report alone" in summary
