"""Parity: the engine's equity curve equals recorded backtrader and vectorbt curves for the same inputs.

The references were recorded by fixtures/backtest/make_backtest_fixtures.py in a separate environment
(see the README there); these tests only read its CSV and JSON output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from financial_assets.backtest import BacktestConfig, run_backtest

FIXTURES = Path(__file__).parent / "fixtures" / "backtest"
META = json.loads((FIXTURES / "cases.json").read_text())
INPUTS = pd.read_csv(FIXTURES / "inputs.csv", parse_dates=["date"])


def test_fixtures_cover_both_oracles_and_fill_timings():
    cases = META["cases"]
    assert {c["oracle"] for c in cases} == {"backtrader", "vectorbt"}
    assert {(c["oracle"], c["config"]["fill"]) for c in cases} >= {("backtrader", "next_open"),
                                                                   ("backtrader", "next_close"),
                                                                   ("vectorbt", "next_close")}
    assert {c["config"]["sizing"] for c in cases} == {"fixed", "vol_target", "kelly"}


@pytest.mark.parametrize("case", META["cases"], ids=[c["name"] for c in META["cases"]])
def test_equity_matches_the_reference(case):
    reference = pd.read_csv(FIXTURES / f"reference_{case['name']}.csv", parse_dates=["date"])
    result = run_backtest(INPUTS.drop(columns="probability"), INPUTS.set_index("date")["probability"],
                          BacktestConfig(**case["config"]))
    assert (result["date"].to_numpy() == reference["date"].to_numpy()).all()
    np.testing.assert_allclose(result["equity"], reference["equity"], rtol=1e-8, atol=0)
    np.testing.assert_allclose(result["position"], reference["position"], rtol=1e-8, atol=1e-6)
    # not a vacuous match: the case trades often, pays costs and moves equity
    assert (result["traded_shares"] != 0).sum() >= 20
    assert result["costs"].sum() > 0
    assert abs(result["equity"].iloc[-1] / case["config"]["initial_capital"] - 1) > 0.01
