"""The backtest benchmark on a tiny input without the oracle environment: BENCH line format, engine parity."""

from __future__ import annotations

import re

import numpy as np

from benchmarks import backtest

LINE = re.compile(r"^BENCH backtest_throughput_next_close \S+ bars/s ratio=\S+ vs numpy_fixed_notional_vectorised$")


def test_without_oracles_it_prints_how_to_create_them_and_the_engine_line(tmp_path, capsys):
    result = backtest.bench_backtest(n_tickers=3, n_bars=200, oracle_python=tmp_path / "missing" / "python")
    out = capsys.readouterr().out
    assert "make bench-oracles-env" in out
    assert len(result.lines) == 1 and LINE.match(result.lines[0]) and result.lines[0] in out.splitlines()
    assert result.bars == 600
    assert all(fills >= 10 for fills in result.fills.values())  # the engine traded the inputs, both cases


def test_numpy_reference_is_the_engine_on_the_same_inputs():
    inputs = backtest.make_inputs(2, 300)
    config = backtest.CASES["next_close"]
    _, ledgers = backtest.run_engine(inputs, config)
    signal = np.stack([ledger["signal"].to_numpy() for ledger in ledgers])
    equity = backtest.numpy_fixed_notional(inputs["close"], signal, config)
    assert np.isnan(inputs["probability"]).any() and (signal == -1).any() and (signal == 1).any()
    for i, ledger in enumerate(ledgers):
        np.testing.assert_allclose(ledger["equity"], equity[i], rtol=1e-8, atol=0)
        assert ledger["costs"].sum() > 0
