"""Backtest throughput: the engine against vectorbt `from_signals` and backtrader, same signals, same run.

Seeded bars and persistent probabilities for n tickers. Two cases, each with the engine timed over
every ticker (one `run_backtest` per ticker, frames built beforehand, after a warm-up call per case
that loads or compiles the engine's numba loop, reported apart):

- next-close fills, fixed notional (`compound=False`), long/short: vectorbt `from_signals` over all
  tickers in one call, warm (best of 3), its JIT compile (first call, on a tiny input, with an empty
  numba cache: vectorbt caches compiled code on disk) reported apart;
  and a vectorised numpy equity of the same case, which also runs without the oracle environment.
- next-open fills, compounding target weights: backtrader, on the first `backtrader_tickers` tickers.

Every reference's equity must equal the engine's within 1e-8 relative. The oracles run in
.venv-bench-oracles (`make bench-oracles-env`) through backtest_oracles.py as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from benchmarks import bench_line
from financial_assets.backtest import BacktestConfig, run_backtest

ORACLE_PYTHON = Path(__file__).resolve().parents[1] / ".venv-bench-oracles" / "bin" / "python"
ORACLE_SCRIPT = Path(__file__).with_name("backtest_oracles.py")
SEED = 20_261_201
BASE_RATE = 0.5  # the probabilities' base rate: the edge is p - 0.5
CASES = {  # costs without the volume-impact term, which neither oracle has
    "next_close": BacktestConfig(fill="next_close", mode="long_short", threshold=0.05, fraction=0.3,
                                 compound=False, commission_bps=5.0, half_spread_bps=3.0, impact=0.0),
    "next_open": BacktestConfig(fill="next_open", mode="long_short", threshold=0.05, fraction=0.8,
                                commission_bps=5.0, half_spread_bps=3.0, impact=0.0),
}
REFERENCES = {"next_close": "vectorbt_from_signals_warm", "next_open": "backtrader"}


class BacktestBench(NamedTuple):
    """What one run measured: its BENCH lines, the engine's bars and fills per case."""

    lines: list[str]
    bars: int
    fills: dict[str, int]


def make_inputs(n_tickers: int, n_bars: int) -> dict[str, np.ndarray]:
    """Seeded random-walk OHLCV rows per ticker and AR(1) probabilities (NaN in a 30-bar warm-up and 0.2%)."""
    rng = np.random.default_rng(SEED)
    shape = (n_tickers, n_bars)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.008, shape), axis=1))
    previous = np.concatenate((np.full((n_tickers, 1), 100.0), close[:, :-1]), axis=1)
    open_ = previous * np.exp(rng.normal(0.0, 0.003, shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.003, shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.003, shape)))
    noise, z = rng.normal(0.0, 1.0, shape), np.zeros(shape)
    for t in range(1, n_bars):  # persistent, so that costs leave equity well above vectorbt's notional
        z[:, t] = 0.99 * z[:, t - 1] + noise[:, t]
    probability = np.clip(0.5 + 0.05 * z * np.sqrt(1 - 0.99**2), 0.0, 1.0)
    probability[:, :30] = np.nan
    probability[rng.random(shape) < 0.002] = np.nan
    return {"dates": pd.bdate_range("2000-01-03", periods=n_bars).to_numpy(), "open": open_, "high": high,
            "low": low, "close": close, "volume": rng.integers(500_000, 2_000_000, shape).astype(float),
            "probability": probability}


def run_engine(inputs: dict[str, np.ndarray], config: BacktestConfig) -> tuple[float, list[pd.DataFrame]]:
    """Seconds and ledgers of `run_backtest` over every ticker."""
    frames = [(pd.DataFrame({"date": inputs["dates"], **{c: inputs[c][i] for c in ("open", "high", "low", "close",
                                                                                     "volume")}}),
               pd.Series(inputs["probability"][i], index=inputs["dates"])) for i in range(len(inputs["close"]))]
    start = time.perf_counter()
    ledgers = [run_backtest(bars, probability, BASE_RATE, config) for bars, probability in frames]
    return time.perf_counter() - start, ledgers


def numpy_fixed_notional(close: np.ndarray, signal: np.ndarray, config: BacktestConfig) -> np.ndarray:
    """Vectorised equity (tickers x bars) of next-close fills at fixed notional and fraction, no stops or impact."""
    before = np.concatenate((np.zeros((len(signal), 1)), signal[:, :-1]), axis=1)
    decided = np.where(signal != before, signal * config.fraction * config.initial_capital / close, np.nan)
    last = np.maximum.accumulate(np.where(np.isnan(decided), -1, np.arange(signal.shape[1])), axis=1)
    target = np.where(last >= 0, np.take_along_axis(decided, np.maximum(last, 0), axis=1), 0.0)
    position = np.concatenate((np.zeros((len(signal), 1)), target[:, :-1]), axis=1)  # filled a close later
    traded = np.diff(position, axis=1, prepend=0.0)
    executed = close * (1.0 + np.sign(traded) * config.half_spread_bps / 1e4)
    flows = traded * executed + config.commission_bps / 1e4 * np.abs(traded) * executed
    return config.initial_capital - np.cumsum(flows, axis=1) + position * close


def _same_equity(name: str, reference: np.ndarray, engine: np.ndarray) -> None:
    """Fail the benchmark unless the reference's equity equals the engine's within 1e-8 relative."""
    np.testing.assert_allclose(engine, reference, rtol=1e-8, atol=0, err_msg=f"engine equity differs from {name}")


def _run_oracles(inputs: dict[str, np.ndarray], ledgers: dict[str, list[pd.DataFrame]], oracle_python: Path,
                 backtrader_tickers: int) -> dict[str, np.ndarray]:
    """The oracle script's output for both cases, run in the oracle environment."""
    payload = {c: inputs[c] for c in ("dates", "open", "high", "low", "close", "volume")}
    payload["cases"] = np.array(json.dumps({case: asdict(config) for case, config in CASES.items()}))
    for case, frames in ledgers.items():
        for column in ("signal", "target_weight"):
            payload[f"{column}_{case}"] = np.stack([frame[column].to_numpy() for frame in frames])
    with tempfile.TemporaryDirectory(prefix="fa-bench-backtest-") as folder:
        source, result = Path(folder) / "inputs.npz", Path(folder) / "oracles.npz"
        np.savez(source, **payload)
        subprocess.run([str(oracle_python), str(ORACLE_SCRIPT), str(source), str(result),
                        "--backtrader-tickers", str(backtrader_tickers)], check=True,
                       env={**os.environ, "NUMBA_CACHE_DIR": folder})  # an empty cache: a cold compile
        with np.load(result) as loaded:
            return dict(loaded)


def bench_backtest(n_tickers: int = 100, n_bars: int = 5000, backtrader_tickers: int = 5,
                   oracle_python: Path = ORACLE_PYTHON) -> BacktestBench:
    """Engine bars/s per case against numpy, vectorbt (warm) and backtrader; equity identical or it fails."""
    inputs = make_inputs(n_tickers, n_bars)
    bars = n_tickers * n_bars
    seconds, ledgers = {}, {}
    # warm, like vectorbt: the engine's first call per process loads (or, with an empty numba cache, compiles)
    # its loop; timed apart on a tiny input
    warm_up = sum(run_engine(make_inputs(1, 50), config)[0] for config in CASES.values())
    print(f"# engine first calls (numba JIT, from its on-disk cache when there): {warm_up:.3f}s", flush=True)
    for case, config in CASES.items():
        seconds[case], ledgers[case] = run_engine(inputs, config)
        print(f"# engine, {case} fills: {n_tickers} tickers x {n_bars} bars in {seconds[case]:.3f}s", flush=True)
    equity = {case: np.stack([frame["equity"].to_numpy() for frame in frames]) for case, frames in ledgers.items()}
    signal = np.stack([frame["signal"].to_numpy() for frame in ledgers["next_close"]])
    start = time.perf_counter()
    reference = numpy_fixed_notional(inputs["close"], signal, CASES["next_close"])
    numpy_seconds = time.perf_counter() - start
    _same_equity("numpy_fixed_notional", reference, equity["next_close"])
    lines = [bench_line("backtest_throughput_next_close", bars / seconds["next_close"], "bars/s",
                        numpy_seconds / seconds["next_close"], "numpy_fixed_notional_vectorised")]
    if not oracle_python.exists():
        print(f"# no oracle environment at {oracle_python}: create it with `make bench-oracles-env` "
              "to compare with vectorbt and backtrader", flush=True)
    else:
        oracles = _run_oracles(inputs, ledgers, oracle_python, backtrader_tickers)
        print(f"# oracles {oracles['versions']}", flush=True)
        for case, name in REFERENCES.items():
            k = int(oracles[f"tickers_{case}"])
            _same_equity(name, oracles[f"equity_{case}"], equity[case][:k])
            oracle_rate = k * n_bars / float(oracles[f"seconds_{case}"])
            print(f"# {name}: {k} tickers x {n_bars} bars, {oracle_rate:.4g} bars/s, equity identical", flush=True)
            lines.append(bench_line(f"backtest_throughput_{case}", bars / seconds[case], "bars/s",
                                    bars / seconds[case] / oracle_rate, name))
        compile_seconds = float(oracles["compile_seconds_next_close"])
        lines.append(bench_line("vectorbt_jit_compile", compile_seconds, "s",
                                compile_seconds / float(oracles["seconds_next_close"]), "vectorbt_from_signals_warm"))
    fills = {case: sum(int((ledger["traded_shares"] != 0).sum()) for ledger in frames)
             for case, frames in ledgers.items()}
    return BacktestBench(lines, bars, fills)
