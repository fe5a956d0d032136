"""The backtest engine: one ticker's bars, out-of-sample probabilities and base rates to a per-bar ledger.

Timing. The probability of bar t and the base rate of the model that made it are known at t's close.
There the engine turns them into a signal on the edge p - base rate (`signals.signals`) and a target
weight (`signals.target_weights`) and, when that weight differs from the one the current position was
sized for, an order for ``target shares = weight * base / close_t`` where base is the equity at t's
close (`compound=True`) or the initial capital. The order fills at bar t+1's open (`fill="next_open"`,
default) or close (`"next_close"`). A weight that did not change means no order: fixed-fraction
positions trade only on signal changes, vol-target and Kelly ones rebalance whenever their weight
moves. An order decided at the last bar never fills. Shares are fractional.

Costs, per fill of q shares at reference price P (the open, the close, or a stop level): slippage
moves the price against the order by ``half_spread_bps / 1e4 + impact * |q| / volume`` of the fill
bar, so the fill price is ``P * (1 ± that)``; ``slippage = |q| * |fill - P|``;
``commission = commission_bps / 1e4 * |q| * fill``. Cash pays ``q * fill + commission``.

Cash (`borrow=False`, default). No buy takes cash below zero: when ``q * fill + commission`` exceeds
the cash before the fill, the order is shrunk to the q whose fill price and commission spend exactly
that cash (a quadratic in q when impact > 0), as vectorbt's `buy_nb` with ``allow_partial`` and
``lock_cash=False`` shrinks it; with no cash left a buy does not fill. Sells are never limited: short
proceeds are cash (earning nothing, no borrow fee) and pay for a later cover. A shrunk order leaves
the position short of its target until the next order. With `borrow=True` cash may go negative
(interest-free margin).

Stops. ``stop_loss`` and ``take_profit`` are fractions of the entry fill price (the price, with
slippage, of the fill that opened or reversed the position; rebalancing keeps it). A long exits
when the price reaches ``entry * (1 - stop_loss)`` or ``entry * (1 + take_profit)``; a short at
``entry * (1 + stop_loss)`` or ``entry * (1 - take_profit)``. In each bar: an open already beyond a
level (a gap) exits at the open; otherwise a low/high touching a level exits at that level, and
when both levels lie inside one bar the stop-loss counts first (the conservative choice). With
next-open fills, an order and the gap check both happen at the open (the gap check first, on the
position carried in) and a position opened at the open is exposed to the rest of that bar; with
next-close fills, stops act on the position carried into the bar, before the close fill. A stopped
position stays flat while the signal keeps the stopped direction (a pending order in that direction
is cancelled); once the signal differs, orders resume as usual.

Equity at a close is cash plus position times close. ``pnl`` is the gross mark-to-market result at
reference prices, ``costs`` the sum of commission and slippage, so ``equity_t = equity_{t-1} + pnl_t
- costs_t``. Equity at or below zero sends the engine flat for good (ruin).

Columns (RESULT_COLUMNS), one row per bar: the bar's `date`, `probability` and `base_rate`; decided at
its close: `signal` (-1/0/+1), `target_weight`, `target_position` (shares wanted after the next fill;
the current position when no order is sent); held at its close: `position` (shares) and `cash`; fills
during it: `fill_price` (the signal order's price with slippage), `exit_price` (the stop's, likewise),
`exit_reason` ("stop_loss", "take_profit" or ""), `traded_shares` (signed, net of all fills),
`traded_value` (sum of |shares| x fill price), `commission`, `slippage`, `costs`; and `pnl`,
`equity`, `returns` (equity over the previous close's, the first bar over initial capital) and
`drawdown` (equity over its running peak, initial capital included, minus 1).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from financial_assets.backtest.config import BacktestConfig
from financial_assets.backtest.signals import signals, target_weights

BAR_COLUMNS = ("date", "open", "high", "low", "close", "volume")
RESULT_COLUMNS = ("date", "probability", "base_rate", "signal", "target_weight", "target_position", "position",
                  "cash", "fill_price", "exit_price", "exit_reason", "traded_shares", "traded_value", "commission",
                  "slippage", "costs", "pnl", "equity", "returns", "drawdown")
_EXIT_REASONS = np.array(["stop_loss", "", "take_profit"], dtype=object)  # indexed by exit code + 1
_GAP, _ORDER, _RANGE = 0, 1, 2  # the events inside one bar
_LEDGER_COLUMNS = ("target_position", "position", "cash", "traded_shares", "traded_value", "commission", "slippage",
                   "equity", "exit_code", "fill_price", "exit_price")  # what _simulate returns
DEFAULT_CONFIG = BacktestConfig()


def run_backtest(bars: pd.DataFrame, probabilities: pd.Series, base_rate: pd.Series | float,
                 config: BacktestConfig = DEFAULT_CONFIG) -> pd.DataFrame:
    """Trade one ticker's out-of-sample probabilities against the base rates of the models that made them (a series
    on the same dates, or one number for all); one row per bar with fills, costs and equity."""
    frame = _checked_bars(bars, config)
    probability = _aligned(frame["date"], probabilities, "probabilities")
    base = _base_rates(frame["date"], base_rate, probability)
    signal = signals(probability, base, config)
    weight = target_weights(probability, signal, frame["close"].to_numpy(), config)
    ledger = _simulate(frame, signal, weight, config)
    equity = ledger["equity"]
    previous = np.concatenate(([config.initial_capital], equity[:-1]))
    costs = ledger["commission"] + ledger["slippage"]
    peak = np.maximum.accumulate(np.maximum(equity, config.initial_capital))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = equity / previous - 1.0
    columns = {
        "date": frame["date"].to_numpy(), "probability": probability, "base_rate": base, "signal": signal,
        "target_weight": weight, "target_position": ledger["target_position"], "position": ledger["position"],
        "cash": ledger["cash"], "fill_price": ledger["fill_price"], "exit_price": ledger["exit_price"],
        "exit_reason": _EXIT_REASONS[ledger["exit_code"].astype(np.int64) + 1],
        "traded_shares": ledger["traded_shares"], "traded_value": ledger["traded_value"],
        "commission": ledger["commission"], "slippage": ledger["slippage"], "costs": costs,
        "pnl": equity - previous + costs, "equity": equity, "returns": returns, "drawdown": equity / peak - 1.0,
    }
    # a dict already in column order: passing columns= as well would make pandas reindex it, at a cost
    return pd.DataFrame({name: columns[name] for name in RESULT_COLUMNS})


def buy_and_hold(bars: pd.DataFrame, config: BacktestConfig = DEFAULT_CONFIG) -> pd.DataFrame:
    """The benchmark: all equity long from the first fill to the end, same timing, costs and cash rule, no stops."""
    dates = pd.to_datetime(bars["date"], cache=False)
    always_up = pd.Series(1.0, index=pd.DatetimeIndex(dates))
    benchmark = BacktestConfig(fill=config.fill, mode="long_flat", threshold=0.0, sizing="fixed", fraction=1.0,
                               borrow=config.borrow, initial_capital=config.initial_capital,
                               commission_bps=config.commission_bps, half_spread_bps=config.half_spread_bps,
                               impact=config.impact, bars_per_year=config.bars_per_year)
    return run_backtest(bars, always_up, 0.0, benchmark)


def _checked_bars(bars: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    """The bar columns with `date` as datetime64, after the checks the ledger relies on."""
    missing = [column for column in BAR_COLUMNS if column not in bars.columns]
    if missing:
        raise ValueError(f"bars lack columns {missing}")
    if bars.empty:
        raise ValueError("bars are empty")
    # cache=False: to_datetime's cache only pays on repeated date strings (bar dates are unique), and
    # deciding whether to use it costs more than the rest of a backtest
    columns = {"date": pd.to_datetime(bars["date"], cache=False).to_numpy()}
    for column in BAR_COLUMNS[1:]:
        columns[column] = bars[column].to_numpy(dtype=np.float64)
    frame = pd.DataFrame(columns)
    dates = frame["date"]
    if not dates.is_monotonic_increasing or dates.duplicated().any():
        raise ValueError("bars must be sorted by strictly increasing date")
    open_, high, low, close = (columns[c] for c in ("open", "high", "low", "close"))
    with np.errstate(invalid="ignore"):  # non-finite prices fail the first test; their comparisons do not matter
        bad = ~(np.isfinite(open_) & np.isfinite(high) & np.isfinite(low) & np.isfinite(close)
                & (open_ > 0) & (high > 0) & (low > 0) & (close > 0)
                & (low <= np.minimum(open_, close)) & (high >= np.maximum(open_, close)))
    if bad.any():
        raise ValueError(f"bar on {dates[bad].iloc[0].date()} has non-positive prices or open/close outside low..high")
    volume = columns["volume"]
    bad = ~(np.isfinite(volume) & (volume > 0)) if config.impact > 0 else ~(np.isfinite(volume) & (volume >= 0))
    if bad.any():
        raise ValueError(f"bar on {dates[bad].iloc[0].date()} has volume {volume[bad][0]}: the impact cost needs "
                         "positive volume on every bar (set impact=0 to trade bars without volume)")
    return frame


def _aligned(dates: pd.Series, values: pd.Series, name: str) -> np.ndarray:
    """Probabilities (or base rates) on the bar dates; a date without one is NaN (no prediction, flat)."""
    index = pd.DatetimeIndex(pd.to_datetime(values.index, cache=False))
    if index.has_duplicates:
        raise ValueError(f"{name} have duplicate dates, e.g. {index[index.duplicated()][0].date()}")
    array = values.to_numpy(dtype=np.float64)
    if ((array < 0) | (array > 1)).any():
        raise ValueError(f"{name} must lie in [0, 1] (NaN = no prediction)")
    bar_dates = pd.DatetimeIndex(dates)
    if index.equals(bar_dates):  # already on the bar dates: nothing to reindex
        return array.copy()
    stray = index.difference(bar_dates)
    if len(stray):
        raise ValueError(f"{name} dated {stray[0].date()} has no bar: misaligned predictions")
    return pd.Series(array, index=index).reindex(bar_dates).to_numpy()


def _base_rates(dates: pd.Series, base_rate: pd.Series | float, probability: np.ndarray) -> np.ndarray:
    """The base rate on every bar date, required wherever there is a probability: the edge needs both."""
    if isinstance(base_rate, pd.Series):
        base = _aligned(dates, base_rate, "base rates")
    else:
        if not 0.0 <= float(base_rate) <= 1.0:
            raise ValueError(f"base rate must lie in [0, 1], got {base_rate}")
        base = np.full(len(probability), float(base_rate))
    missing = ~np.isnan(probability) & np.isnan(base)
    if missing.any():
        raise ValueError(f"probability on {pd.Timestamp(dates.iloc[int(np.argmax(missing))]).date()} has no base "
                         "rate: the entry rule trades p - base rate")
    return base


@numba.njit(cache=True)
def _stop_exit(side: float, entry: float, bar_open: float, high: float, low: float, levels: tuple[float, ...],
               gap_only: bool) -> tuple[float, int]:
    """Exit price and code (-1 stop-loss, +1 take-profit, 0 none) for a position of sign `side` in one bar."""
    if side > 0:
        stop, take = entry * levels[0], entry * levels[1]
        if bar_open <= stop:
            return bar_open, -1
        if bar_open >= take:
            return bar_open, 1
        if not gap_only:
            if low <= stop:
                return stop, -1
            if high >= take:
                return take, 1
    else:
        stop, take = entry * levels[2], entry * levels[3]
        if bar_open >= stop:
            return bar_open, -1
        if bar_open <= take:
            return bar_open, 1
        if not gap_only:
            if high >= stop:
                return stop, -1
            if low <= take:
                return take, 1
    return math.nan, 0


@numba.njit(cache=True)
def _affordable_buy(cash: float, price: float, volume: float, commission_rate: float, spread: float,
                    impact: float) -> tuple[float, float, float, float]:
    """Shares, fill price, commission and slippage rate of the buy that spends exactly `cash` (> 0) on shares at the
    slipped price plus commission: vectorbt's shrunk size cash / (1 + fees) / price, solved for the impact term."""
    budget = cash / (1.0 + commission_rate)  # what the shares may cost, commission on top
    if impact == 0.0:
        executed = price * (1.0 + spread)
        q = budget / executed
        slip = spread
    else:  # q * price * (1 + spread + impact * q / volume) = budget, the stable root of the quadratic
        a, b = price * impact / volume, price * (1.0 + spread)
        q = 2.0 * budget / (b + math.sqrt(b * b + 4.0 * a * budget))
        slip = spread + impact * q / volume
        executed = price * (1.0 + slip)
    return q, executed, cash - q * executed, slip


def _simulate(frame: pd.DataFrame, signal: np.ndarray, weight: np.ndarray,
              config: BacktestConfig) -> dict[str, np.ndarray]:
    """The path-dependent part (sizing on equity, fills, stops) as one compiled loop over bars."""
    sl, tp = config.stop_loss, config.take_profit
    # multipliers of the entry price: long stop, long take, short stop, short take (0 or inf: never)
    levels = (1.0 - sl if sl else 0.0, 1.0 + tp if tp else math.inf,
              1.0 + sl if sl else math.inf, 1.0 - tp if tp else -math.inf)
    columns = (np.ascontiguousarray(frame[c].to_numpy(), dtype=np.float64)
               for c in ("open", "high", "low", "close", "volume"))
    ledger = _simulate_bars(*columns, np.ascontiguousarray(signal, dtype=np.float64),
                            np.ascontiguousarray(weight, dtype=np.float64), config.fill == "next_open",
                            sl is not None or tp is not None, levels, bool(config.compound), bool(config.borrow),
                            float(config.initial_capital), config.commission_bps / 1e4,
                            config.half_spread_bps / 1e4, float(config.impact))
    return dict(zip(_LEDGER_COLUMNS, ledger, strict=True))


@numba.njit(cache=True)
def _simulate_bars(opens, highs, lows, closes, volumes, sig, wts, at_open, use_stops, levels, compound, borrow,
                   capital, commission_rate, spread, impact):
    """The loop of `_simulate` over float64 arrays, compiled; returns the columns of _LEDGER_COLUMNS in order."""
    n = len(opens)
    out_target, out_position, out_traded, out_value = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    out_cash = np.zeros(n)
    out_commission, out_slippage, out_equity, exit_code = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    fill_price, exit_price = np.full(n, math.nan), np.full(n, math.nan)
    cash, pos, held_w, entry, lock, ruined = capital, 0.0, 0.0, math.nan, 0.0, False
    # the order decided at the previous close: has_pending, its target shares and weight
    has_pending, pending_target, pending_w = False, 0.0, 0.0
    # what happens inside a bar, in order: a gap stop, the order, a stop anywhere in the bar (next_open);
    # a stop anywhere in the bar (its open included), then the order (next_close)
    n_phases = 3 if at_open else 2

    for j in range(n):
        o, c = opens[j], closes[j]
        traded = value = commission = slippage = 0.0
        for k in range(n_phases):
            phase = k if at_open else (_RANGE if k == 0 else _ORDER)
            if phase == _ORDER:
                if not has_pending or (lock != 0.0 and pending_target * lock > 0):  # a stopped direction stays flat
                    continue
                target, held_w = pending_target, pending_w
                price = o if at_open else c
            else:
                if not use_stops or pos == 0.0:
                    continue
                price, code = _stop_exit(pos, entry, o, highs[j], lows[j], levels, phase == _GAP)
                if code == 0:
                    continue
                target, held_w, lock, exit_code[j] = 0.0, 0.0, (1.0 if pos > 0 else -1.0), code
            q = target - pos
            if q == 0.0:
                continue
            size = abs(q)
            slip = spread + impact * size / volumes[j] if impact != 0.0 else spread
            executed = price * (1.0 + slip) if q > 0 else price * (1.0 - slip)
            fee = commission_rate * size * executed
            if q > 0.0 and not borrow and q * executed + fee > cash:
                if cash <= 0.0:  # nothing left to pay with: the buy does not fill
                    continue
                q, executed, fee, slip = _affordable_buy(cash, price, volumes[j], commission_rate, spread, impact)
                size, target = q, pos + q
                cash = 0.0
            else:
                cash -= q * executed + fee
            if target == 0.0:
                entry = math.nan
            elif pos == 0.0 or (pos > 0.0) != (target > 0.0):
                entry = executed
            pos = target
            traded += q
            value += size * executed
            commission += fee
            slippage += size * price * slip
            if phase == _ORDER:
                fill_price[j] = executed
            else:
                exit_price[j] = executed
        equity = cash + pos * c
        out_equity[j], out_position[j], out_cash[j] = equity, pos, cash
        out_traded[j], out_value[j] = traded, value
        out_commission[j], out_slippage[j] = commission, slippage

        # the decision at this close, for the next bar
        w = wts[j]
        if lock != 0.0:
            if sig[j] == lock:
                w = 0.0
            else:
                lock = 0.0
        if ruined or equity <= 0.0:
            ruined, w = True, 0.0
        if w != held_w:
            target = w * (equity if compound else capital) / c
            has_pending, pending_target, pending_w = True, target, w
        else:
            has_pending, target = False, pos
        out_target[j] = target
    return (out_target, out_position, out_cash, out_traded, out_value, out_commission, out_slippage, out_equity,
            exit_code, fill_price, exit_price)
