"""Parity: the engine's equity curve equals recorded backtrader and vectorbt curves for the same inputs, at the
default settings (cash-constrained, full investment) and beside them.

The references were recorded by fixtures/backtest/make_backtest_fixtures.py in a separate environment
(see the README there); these tests only read its CSV and JSON output.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from financial_assets.backtest import BacktestConfig, run_backtest
from financial_assets_tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "backtest"
META = json.loads((FIXTURES / "cases.json").read_text())
INPUTS = pd.read_csv(FIXTURES / "inputs.csv", parse_dates=["date"])
BARS = INPUTS.drop(columns=["probability", "base_rate"])
BY_DATE = INPUTS.set_index("date")
#: the package defaults less the volume-impact term, which neither reference has (hand-computed tests cover it)
DEFAULTS = asdict(replace(BacktestConfig(), impact=0.0))


def _run(config: dict) -> pd.DataFrame:
    return run_backtest(BARS, BY_DATE["probability"], BY_DATE["base_rate"], BacktestConfig(**config))


def test_fixtures_cover_both_oracles_at_the_defaults_and_both_fill_timings():
    cases = META["cases"]
    assert {c["oracle"] for c in cases if c["config"] == DEFAULTS} == {"backtrader", "vectorbt"}
    assert {(c["oracle"], c["config"]["fill"]) for c in cases} >= {("backtrader", "next_open"),
                                                                   ("backtrader", "next_close"),
                                                                   ("vectorbt", "next_open"),
                                                                   ("vectorbt", "next_close")}
    assert {c["config"]["sizing"] for c in cases} == {"fixed", "vol_target", "kelly"}
    assert {c["config"]["mode"] for c in cases if c["config"]["fraction"] == 1.0} == {"long_flat", "long_short"}


@pytest.mark.parametrize("case", META["cases"], ids=[c["name"] for c in META["cases"]])
def test_equity_matches_the_reference(case):
    reference = pd.read_csv(FIXTURES / f"reference_{case['name']}.csv", parse_dates=["date"])
    result = _run(case["config"])
    assert (result["date"].to_numpy() == reference["date"].to_numpy()).all()
    np.testing.assert_allclose(result["equity"], reference["equity"], rtol=1e-8, atol=0)
    np.testing.assert_allclose(result["position"], reference["position"], rtol=1e-8, atol=1e-6)
    assert (result["cash"] >= 0).all()
    # not a vacuous match: the case trades often, pays costs and moves equity
    assert (result["traded_shares"] != 0).sum() >= 20
    assert result["costs"].sum() > 0
    assert (result["equity"] / case["config"]["initial_capital"] - 1).abs().max() > 0.01


SHRINKING = [c for c in META["cases"] if c["runner"] in ("vectorbt_orders", "backtrader_affordable")]


@pytest.mark.parametrize("case", SHRINKING, ids=[c["name"] for c in SHRINKING])
def test_the_cash_rule_binds_in_the_full_investment_cases(case):
    # the references shrank buys to the cash: an engine that borrowed instead would not match them
    constrained = _run(case["config"])
    assert (constrained["cash"] == 0).sum() >= 10
    borrowing = _run({**case["config"], "borrow": True})
    assert borrowing["cash"].min() < 0
    assert not np.allclose(borrowing["equity"], constrained["equity"], rtol=1e-6, atol=0)
