"""The backtest benchmark's references, timed: vectorbt `from_signals` and backtrader on the engine's signals.

Runs only in the oracle environment (`make bench-oracles-env`), never the project's, and so imports
nothing from financial_assets:  python backtest_oracles.py INPUT.npz OUTPUT.npz [--backtrader-tickers K]
INPUT (written by benchmarks.backtest) holds `dates`, per ticker rows of `open, high, low,
close, volume`, a JSON `cases` ({case: settings in BacktestConfig's names}) and per case the engine's
`signal_<case>` and `target_weight_<case>`. A next-close case goes to vectorbt, a next-open one to
backtrader, with the mapping of financial_assets_tests/fixtures/backtest/README.md. OUTPUT holds per
case `equity_<case>` (tickers x bars), `seconds_<case>` and `tickers_<case>`, and for vectorbt
`compile_seconds_<case>` (the first call, on 2 tickers x 10 bars) apart from the warm best of 3.
backtrader (a few thousand bars/s) runs on the first K tickers only.
"""

from __future__ import annotations

import argparse
import json
import time

import backtrader as bt
import numpy as np
import pandas as pd
import vectorbt as vbt

WARM_REPEATS = 3


class FractionalPercent(bt.CommInfoBase):
    """Stock-like commission as a fraction of traded value, with fractional sizes."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))

    def getsize(self, price, cash):
        """Fractional shares `cash` buys at `price` (times the leverage), so backtrader sizes like the engine."""
        return self.p.leverage * (cash / price)


class Replay(bt.Strategy):
    """At each close: record the value, and order_target_percent when the target weight changed."""

    params = (("weights", None),)

    def __init__(self):
        self.held, self.values = 0.0, []

    def next(self):
        """Record this bar's value, then order the target weight when it changed."""
        self.values.append(self.broker.getvalue())
        w = self.p.weights[len(self) - 1]
        if w != self.held:
            self.order_target_percent(target=w)
            self.held = w


def run_vectorbt(dates: pd.DatetimeIndex, close: np.ndarray, signal: np.ndarray, cfg: dict) -> np.ndarray:
    """Equity (tickers x bars) from one from_signals call; decisions shifted a bar onto the filling close."""
    before = np.concatenate((np.zeros((len(signal), 1)), signal[:, :-1]), axis=1)

    def executed(decided: np.ndarray) -> np.ndarray:
        return np.concatenate((np.zeros((len(decided), 1), dtype=bool), decided[:, :-1]), axis=1).T

    portfolio = vbt.Portfolio.from_signals(
        pd.DataFrame(close.T, index=dates),
        entries=executed((signal == 1) & (before != 1)), exits=executed((signal == 0) & (before == 1)),
        short_entries=executed((signal == -1) & (before != -1)),
        short_exits=executed((signal == 0) & (before == -1)),
        size=cfg["fraction"] * cfg["initial_capital"], size_type="value", val_price=-np.inf,
        fees=cfg["commission_bps"] / 1e4, slippage=cfg["half_spread_bps"] / 1e4,
        init_cash=cfg["initial_capital"], freq="1D")
    return portfolio.value().to_numpy().T


def run_backtrader(dates: pd.DatetimeIndex, bars: dict[str, np.ndarray], weight: np.ndarray, cfg: dict) -> np.ndarray:
    """One ticker's equity: market orders at the next open, slippage on every fill, no cash check."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=pd.DataFrame(bars, index=dates), openinterest=None))
    cerebro.broker.setcash(cfg["initial_capital"])
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.addcommissioninfo(FractionalPercent(commission=cfg["commission_bps"] / 1e4))
    cerebro.broker.set_slippage_perc(cfg["half_spread_bps"] / 1e4, slip_open=True, slip_match=True, slip_out=True)
    cerebro.addstrategy(Replay, weights=weight.tolist())
    return np.asarray(cerebro.run()[0].values)


def main() -> None:
    """Time each case's oracle on the input file and write equity curves and seconds."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--backtrader-tickers", type=int, default=5)
    args = parser.parse_args()
    data = np.load(args.input)
    dates, close = pd.DatetimeIndex(data["dates"]), data["close"]
    out: dict[str, object] = {"versions": json.dumps({"vectorbt": vbt.__version__, "backtrader": bt.__version__})}
    for case, cfg in json.loads(str(data["cases"])).items():
        if cfg["fill"] == "next_close":
            signal = data[f"signal_{case}"]
            start = time.perf_counter()
            run_vectorbt(dates[:10], close[:2, :10], signal[:2, :10], cfg)
            out[f"compile_seconds_{case}"] = time.perf_counter() - start
            seconds = []
            for _ in range(WARM_REPEATS):
                start = time.perf_counter()
                equity = run_vectorbt(dates, close, signal, cfg)
                seconds.append(time.perf_counter() - start)
            out[f"equity_{case}"], out[f"seconds_{case}"] = equity, min(seconds)
        else:
            k = min(args.backtrader_tickers, len(close))
            start = time.perf_counter()
            equity = np.stack([
                run_backtrader(dates, {c: data[c][i] for c in ("open", "high", "low", "close", "volume")},
                               data[f"target_weight_{case}"][i], cfg) for i in range(k)])
            out[f"equity_{case}"], out[f"seconds_{case}"] = equity, time.perf_counter() - start
        out[f"tickers_{case}"] = len(out[f"equity_{case}"])
    np.savez(args.output, **out)


if __name__ == "__main__":
    main()
